"""Child process for test_process_kill: plays one attempt, announcing each committed step.

Usage: python kill_child.py DATABASE_URL LIBRARY_DIR SCENARIO_ID

Prints ``attempt <id> <user_id>`` once, then ``committed <step_no>`` after each
``choose``/``proceed`` call has returned (so the step is committed), flushing
every line. It keeps going until the attempt ends; the test kills it first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from storetools import record_next

from repairlab.db import Store
from repairlab.services.catalog import Catalog
from repairlab.services.practice import PracticeService


def main(url: str, library: str, scenario_id: str) -> None:
    store = Store(url)  # the parent has upgraded the schema
    practice = PracticeService(store, Catalog(store, Path(library)))
    user = practice.create_guest("Killed Mid-way")
    state = practice.start(user.id, scenario_id, "coached")
    print(f"attempt {state.id} {user.id}", flush=True)
    while not state.finished:
        step = state.play.step
        state = record_next(practice, state, user.id)
        print(f"committed {step}", flush=True)
    print("finished", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
