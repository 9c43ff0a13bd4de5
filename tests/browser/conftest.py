"""A real `streamlit run` on a free loopback port, driven by headless Debian Chromium.

Each test module gets its own server, temporary SQLite database and copy of the
bundled library. We wait for `/_stcore/health` and then on what the page shows,
never on sleeps.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (re-exported for other browser tests)

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningApp:
    url: str
    process: subprocess.Popen
    library: Path
    database: Path
    env: dict[str, str]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)  # polling the health endpoint, not waiting on app state
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()}")


def start_app(workdir: Path, database_url: str | None = None, extra_env: dict[str, str] | None = None) -> RunningApp:
    library = workdir / "library"
    if not library.exists():
        shutil.copytree(ROOT / "scenarios", library)
    database = workdir / "app.db"
    port = free_port()
    env = {
        **os.environ,
        "REPAIRLAB_DATABASE_URL": database_url or f"sqlite:///{database}",
        "REPAIRLAB_SCENARIOS": str(library),
        **(extra_env or {}),
    }
    log = workdir / f"streamlit-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log)
    except Exception:
        process.kill()
        raise
    return RunningApp(url, process, library, database, env, log)


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    app = start_app(tmp_path_factory.mktemp("app"))
    yield app
    app.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
