"""Killing the app process mid-attempt loses no recorded choice; the trainee resumes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from storetools import long_scenario_yaml, play_to_end, score_rows, step_rows

from repairlab.db import Store
from repairlab.services.catalog import Catalog
from repairlab.services.practice import PracticeService

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
SCENARIO = "long-session"
DECISIONS = 150
KILL_AFTER_STEP = 20
TIMEOUT_S = 60


def start_child(
    url: str, library: Path, stderr_path: Path
) -> tuple[subprocess.Popen[str], queue.Queue[str | None]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    with open(stderr_path, "w") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(HERE / "kill_child.py"), url, str(library), SCENARIO],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line.strip())
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return child, lines


def test_a_killed_process_loses_no_committed_step_and_the_attempt_resumes(
    store: Store, library_dir: Path, tmp_path: Path, reopen: Callable[[Store], Store]
) -> None:
    (library_dir / f"{SCENARIO}.yaml").write_text(long_scenario_yaml(SCENARIO, DECISIONS), encoding="utf-8")
    child, lines = start_child(store.url, library_dir, tmp_path / "child.err")
    printed: list[str] = []
    try:
        while True:
            line = lines.get(timeout=TIMEOUT_S)
            assert line is not None, f"child exited early:\n{(tmp_path / 'child.err').read_text()}"
            printed.append(line)
            if line == f"committed {KILL_AFTER_STEP}":
                break
        assert child.poll() is None
        os.kill(child.pid, signal.SIGKILL)  # while it is still writing
        assert child.wait(timeout=TIMEOUT_S) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    while (line := lines.get(timeout=TIMEOUT_S)) is not None:
        printed.append(line)  # lines already in the pipe when the kill landed
    assert "finished" not in printed

    _, attempt_id, user_id = printed[0].split()
    committed = [int(line.split()[1]) for line in printed[1:]]
    assert committed == list(range(len(committed))) and len(committed) > KILL_AFTER_STEP

    restarted = reopen(store)  # "the app starts again"
    if restarted.is_sqlite:
        with restarted.write() as session:
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    practice = PracticeService(restarted, Catalog(restarted, library_dir))
    resumed = practice.load(attempt_id, int(user_id))
    recorded = resumed.play.actions
    assert len(recorded) >= len(committed)  # every printed step; at most one more committed unprinted
    assert len(recorded) <= len(committed) + 1
    assert resumed.status == "in_progress"
    assert resumed.play.node_id == f"d{len(recorded)}"  # it resumes at the next decision
    assert step_rows(restarted, attempt_id) == len(recorded)
    assert score_rows(restarted, attempt_id) == 3 * sum(1 for action in recorded if action is not None)

    finished = play_to_end(practice, resumed, int(user_id))
    assert finished.status == "completed" and finished.play.ending == "partial"
    assert step_rows(restarted, attempt_id) == DECISIONS
