"""Many trainees at once: no errors, no lost and no duplicated rows, on either backend."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from storetools import count, play_to_end

from repairlab.db import Store
from repairlab.db.tables import Attempt, AttemptStep, ScenarioVersion, StepScore
from repairlab.services.errors import Conflict
from repairlab.services.practice import PracticeService

SCENARIO = "example-late-start"
THREADS = 32
ATTEMPTS_PER_THREAD = 20


def run_concurrently(threads: int, work: Callable[[int], object]) -> tuple[list[object], list[BaseException]]:
    """Run ``work(index)`` on ``threads`` threads released together; results and errors."""
    barrier = threading.Barrier(threads)
    results: list[object] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results.append(work(index))
        except BaseException as error:  # noqa: BLE001 - collected and asserted on
            errors.append(error)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(run, range(threads)))
    return results, errors


@pytest.mark.parametrize("drawn", [False, True], ids=["read-back", "drawn-state"])
def test_32_writers_record_every_step_of_their_attempts_exactly_once(
    store: Store, practice: PracticeService, drawn: bool
) -> None:
    users = [practice.create_guest(f"Trainee {n}") for n in range(THREADS)]
    choices = ["own-it", "grovel", "explain", "move-on"]

    def trainee_session(index: int) -> list[tuple[str, int]]:
        user = users[index]
        played = []
        for number in range(ATTEMPTS_PER_THREAD):
            state = practice.start(user.id, SCENARIO, "coached")
            pick = choices[(index + number) % len(choices)]
            state = play_to_end(practice, state, user.id, pick=lambda _state, pick=pick: pick, drawn=drawn)
            played.append((state.id, len(state.play.actions)))
        return played

    results, errors = run_concurrently(THREADS, trainee_session)
    assert errors == []
    played = dict(pair for result in results for pair in result)
    assert len(played) == THREADS * ATTEMPTS_PER_THREAD

    with store.read() as session:
        steps_per_attempt = dict(
            session.execute(
                select(AttemptStep.attempt_id, func.count()).group_by(AttemptStep.attempt_id)
            ).all()
        )
        scores_per_attempt = dict(
            session.execute(select(StepScore.attempt_id, func.count()).group_by(StepScore.attempt_id)).all()
        )
        statuses = dict(session.execute(select(Attempt.status, func.count()).group_by(Attempt.status)).all())
    assert steps_per_attempt == played  # every attempt has exactly its steps: none lost, none doubled
    assert all(n == 2 for n in played.values())
    assert scores_per_attempt == dict.fromkeys(played, 3)  # one decision x three dimensions
    assert statuses == {"completed": THREADS * ATTEMPTS_PER_THREAD}
    assert count(store, ScenarioVersion) == 1


def test_many_first_attempts_of_a_new_scenario_at_once_store_its_version_once(
    store: Store, practice: PracticeService
) -> None:
    users = [practice.create_guest(f"Trainee {n}") for n in range(THREADS)]
    results, errors = run_concurrently(THREADS, lambda i: practice.start(users[i].id, SCENARIO, "coached"))
    assert errors == []
    assert len({state.content_hash for state in results}) == 1
    assert count(store, ScenarioVersion) == 1
    assert count(store, Attempt) == THREADS


@pytest.mark.parametrize("rounds", [25])
@pytest.mark.parametrize("drawn", [False, True], ids=["read-back", "drawn-state"])
def test_two_racers_recording_the_same_step_with_the_same_choice_leave_one_row(
    store: Store, practice: PracticeService, rounds: int, drawn: bool
) -> None:
    user = practice.create_guest("Double Clicker")
    for _ in range(rounds):
        state = practice.start(user.id, SCENARIO, "coached")
        pages = [practice.load(state.id) if drawn else None for _ in range(2)]  # two tabs, each its own page
        results, errors = run_concurrently(
            2, lambda i, state=state, pages=pages: practice.choose(state.id, 0, "own-it", user.id, drawn=pages[i])
        )
        assert errors == []
        assert [r.play.actions for r in results] == [["own-it"], ["own-it"]]
        assert [r.play.node_id for r in results] == ["opens-up", "opens-up"]
        with store.read() as session:
            rows = session.scalars(
                select(AttemptStep.choice_id).where(AttemptStep.attempt_id == state.id)
            ).all()
            scores = session.scalar(
                select(func.count()).select_from(StepScore).where(StepScore.attempt_id == state.id)
            )
        assert rows == ["own-it"]
        assert scores == 3


@pytest.mark.parametrize(
    "drawn", [(False, False), (True, True), (True, False)], ids=["read-back", "drawn-state", "one-of-each"]
)
def test_two_racers_recording_different_choices_for_one_step_leave_the_winners_row(
    store: Store, practice: PracticeService, drawn: tuple[bool, bool]
) -> None:
    user = practice.create_guest("Two Tabs")
    picks = ["own-it", "explain"]
    for _ in range(10):
        state = practice.start(user.id, SCENARIO, "coached")
        pages = [practice.load(state.id) if has_page else None for has_page in drawn]
        results, errors = run_concurrently(
            2, lambda i, state=state, pages=pages: practice.choose(state.id, 0, picks[i], user.id, drawn=pages[i])
        )
        assert len(results) == 1 and len(errors) == 1
        assert isinstance(errors[0], Conflict)
        with store.read() as session:
            rows = session.scalars(
                select(AttemptStep.choice_id).where(AttemptStep.attempt_id == state.id)
            ).all()
        assert rows == results[0].play.actions
