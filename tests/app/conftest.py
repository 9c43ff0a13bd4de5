"""Fixtures for AppTest runs of the real app against a temporary database and library."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "scenarios"


@pytest.fixture
def app_library(tmp_path: Path) -> Path:
    """A copy of the bundled library that a test may edit or break."""
    library = tmp_path / "library"
    shutil.copytree(BUNDLED, library)
    return library


@pytest.fixture
def app_env(tmp_path: Path, app_library: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REPAIRLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("REPAIRLAB_SCENARIOS", str(app_library))
    from ui.context import get_services

    get_services.clear()
    yield app_library
    get_services.clear()


@pytest.fixture
def new_app(app_env: Path) -> Callable[..., AppTest]:
    """A fresh browser session on the app (each call is a new session, e.g. after a refresh)."""

    def make(**query_params: str) -> AppTest:
        app = AppTest.from_file(str(ROOT / "app_script.py"), default_timeout=30)
        app.query_params.update(query_params)
        return app

    return make
