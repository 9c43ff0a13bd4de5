"""Helpers for the accounts tests: a settable clock, playing an attempt, the test world's shape.

Kept apart from conftest.py so test modules can import them by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from repairlab.services.access import Viewer
from repairlab.services.accounts import Account
from repairlab.services.cohorts import CohortInfo
from repairlab.services.practice import AttemptState, PracticeService

SCENARIO = "example-late-start"
PASSWORD = "a long enough passphrase"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def play_through(practice: PracticeService, user_id: int, reflection: str | None = None) -> AttemptState:
    """Play the example scenario to its end with the first offered choice; optionally reflect."""
    state = practice.start(user_id, SCENARIO, "coached")
    for _ in range(100):
        if state.finished:
            break
        if state.play.kind == "decision":
            choice = min(choice.id for choice in state.play.offered_choices())
            state = practice.choose(state.id, state.play.step, choice, user_id)
        else:
            state = practice.proceed(state.id, state.play.step, user_id)
    assert state.finished
    if reflection is not None:
        practice.save_reflection(state.id, reflection, user_id)
    return practice.load(state.id, user_id)


@dataclass
class World:
    admin: Account
    sup_a: Account
    sup_b: Account
    t1: Account
    t2: Account
    t3: Account
    cohort_a: CohortInfo
    cohort_b: CohortInfo
    attempts: dict[str, str]  # person key -> their attempt id

    def viewer(self, key: str) -> Viewer:
        return getattr(self, key).viewer
