"""Practice attempts: every action is stored once, in order, before the call returns."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session
from storetools import count, play_to_end, score_rows, step_rows

from engine import Playthrough
from repairlab.db import Store
from repairlab.db.tables import Attempt, AttemptStep, ScenarioVersion, StepScore
from repairlab.services.catalog import Catalog
from repairlab.services.errors import Conflict, UserFacingError
from repairlab.services.practice import PracticeService, UserRef

SCENARIO = "example-late-start"


def test_starting_attempts_stores_the_scenario_version_once(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    first = practice.start(trainee.id, SCENARIO, "coached")
    second = practice.start(trainee.id, SCENARIO, "assessment")
    assert first.id != second.id
    assert first.content_hash == second.content_hash
    assert count(store, ScenarioVersion) == 1
    assert count(store, Attempt) == 2


def test_starting_attempts_after_a_restart_still_stores_the_version_once(
    store: Store, practice: PracticeService, trainee: UserRef, library_dir, reopen: Callable[[Store], Store]
) -> None:
    practice.start(trainee.id, SCENARIO, "coached")
    restarted = reopen(store)
    again = PracticeService(restarted, Catalog(restarted, library_dir))
    again.start(trainee.id, SCENARIO, "coached")
    assert count(store, ScenarioVersion) == 1


def test_every_choice_is_committed_before_choose_returns(
    store: Store, practice: PracticeService, trainee: UserRef, library_dir, reopen: Callable[[Store], Store]
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    state = practice.choose(state.id, 0, "own-it", trainee.id)

    restarted = reopen(store)  # a new engine and pool: only committed data is visible
    with restarted.read() as session:
        rows = session.scalars(select(AttemptStep).where(AttemptStep.attempt_id == state.id)).all()
        assert [(r.step_no, r.node_id, r.choice_id) for r in rows] == [(0, "opening", "own-it")]
        scores = session.scalars(select(StepScore).where(StepScore.attempt_id == state.id)).all()
        assert {s.dimension: s.value for s in scores} == {
            "accountability": 4,
            "self_focus": 0,
            "exploration": 4,
        }

    resumed = PracticeService(restarted, Catalog(restarted, library_dir)).load(state.id, trainee.id)
    assert resumed.play.node_id == state.play.node_id == "opens-up"
    assert resumed.play.actions == state.play.actions == ["own-it"]
    assert resumed.status == "in_progress"
    assert [c.id for c in resumed.offered_choices()] == [c.id for c in state.offered_choices()]


def test_resuming_keeps_the_shuffled_choice_order_of_the_attempt(
    practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    order = [c.id for c in state.offered_choices()]
    assert sorted(order) == ["explain", "grovel", "move-on", "own-it"]
    assert [c.id for c in practice.load(state.id, trainee.id).offered_choices()] == order


def test_recording_the_same_step_twice_keeps_one_row(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    first = practice.choose(state.id, 0, "grovel", trainee.id)
    again = practice.choose(state.id, 0, "grovel", trainee.id)  # a double click or a retried request
    assert again.play.node_id == first.play.node_id == "closes-down"
    assert again.play.actions == ["grovel"]
    assert step_rows(store, state.id) == 1
    assert score_rows(store, state.id) == 3

    practice.proceed(state.id, 1, trainee.id)
    finished = practice.proceed(state.id, 1, trainee.id)
    assert finished.finished and finished.status == "completed"
    assert step_rows(store, state.id) == 2


def test_a_different_choice_for_a_recorded_step_is_a_conflict_and_changes_nothing(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    practice.choose(state.id, 0, "own-it", trainee.id)
    with pytest.raises(Conflict, match="already answered"):
        practice.choose(state.id, 0, "explain", trainee.id)
    with pytest.raises(Conflict):
        practice.proceed(state.id, 0, trainee.id)
    with store.read() as session:
        assert session.scalars(
            select(AttemptStep.choice_id).where(AttemptStep.attempt_id == state.id)
        ).all() == ["own-it"]
    assert score_rows(store, state.id) == 3
    assert practice.load(state.id, trainee.id).play.node_id == "opens-up"


@pytest.mark.parametrize("step_no", [2, 5, -1])
def test_a_step_number_out_of_sequence_is_a_conflict(
    store: Store, practice: PracticeService, trainee: UserRef, step_no: int
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    practice.choose(state.id, 0, "own-it", trainee.id)
    with pytest.raises(Conflict):
        practice.proceed(state.id, step_no, trainee.id)
    with pytest.raises(Conflict):
        practice.choose(state.id, step_no, "own-it", trainee.id)
    assert step_rows(store, state.id) == 1


def test_a_step_number_out_of_sequence_on_a_new_attempt_is_a_conflict(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    for step_no in (1, -1):
        with pytest.raises(Conflict):
            practice.choose(state.id, step_no, "own-it", trainee.id)
    assert step_rows(store, state.id) == 0


def test_an_action_that_is_not_offered_is_refused_and_nothing_is_written(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    with pytest.raises(UserFacingError, match="not available"):
        practice.choose(state.id, 0, "no-such-choice", trainee.id)
    with pytest.raises(UserFacingError, match="not available"):
        practice.proceed(state.id, 0, trainee.id)  # a decision cannot be skipped
    assert step_rows(store, state.id) == 0

    practice.choose(state.id, 0, "own-it", trainee.id)
    with pytest.raises(UserFacingError, match="not available"):
        practice.choose(state.id, 1, "own-it", trainee.id)  # narration has no choices
    assert step_rows(store, state.id) == 1

    practice.proceed(state.id, 1, trainee.id)
    with pytest.raises(UserFacingError):
        practice.proceed(state.id, 2, trainee.id)  # nothing comes after an ending
    assert step_rows(store, state.id) == 2
    assert practice.load(state.id, trainee.id).status == "completed"


def test_starting_with_an_unknown_mode_or_scenario_is_refused_clearly(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    with pytest.raises(UserFacingError, match="feedback mode"):
        practice.start(trainee.id, SCENARIO, "exam")
    with pytest.raises(UserFacingError, match="no playable scenario"):
        practice.start(trainee.id, "no-such-scenario", "coached")
    assert count(store, Attempt) == 0


@pytest.mark.parametrize("choice", ["own-it", "grovel", "explain", "move-on"])
def test_completing_an_attempt_stores_the_engine_report(
    store: Store, practice: PracticeService, catalog: Catalog, trainee: UserRef, choice: str
) -> None:
    state = practice.start(trainee.id, SCENARIO, "assessment")
    state = play_to_end(practice, state, trainee.id, pick=lambda _state: choice)

    entry = catalog.entry(SCENARIO)
    expected = Playthrough.resume(entry.scenario, entry.rubric, [choice, None]).report()
    assert state.finished and state.status == "completed"
    assert state.play.report() == expected
    with store.read() as session:
        attempt = session.get(Attempt, state.id)
        assert attempt.status == "completed"
        assert attempt.completed_at is not None
        assert attempt.ending == expected.ending
        assert attempt.score == pytest.approx(expected.score)
        assert attempt.zone == expected.zone
        steps = session.scalars(
            select(AttemptStep).where(AttemptStep.attempt_id == state.id).order_by(AttemptStep.step_no)
        ).all()
        assert [s.choice_id for s in steps] == [choice, None]
        outcome = expected.choices[0]
        assert steps[0].score == pytest.approx(outcome.score)
        assert steps[0].best_score == pytest.approx(outcome.best_score)
        assert steps[0].zone == outcome.zone
        assert steps[1].score is None and steps[1].zone is None
    summary = practice.history(trainee.id)[0]
    assert (summary.status, summary.ending, summary.zone) == ("completed", expected.ending, expected.zone)
    assert summary.score == pytest.approx(expected.score)


# -- recording on top of the state the page was drawn from --------------------------------------


@contextmanager
def statements_through_sqlalchemy(store: Store) -> Iterator[list[str]]:
    """The SQL that SQLAlchemy sends to the database meanwhile (prepared statements bypass it)."""
    seen: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engines = {store.write_engine, store.read_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def test_a_response_on_a_drawn_page_is_appended_to_that_state_without_reading_it_back(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    with statements_through_sqlalchemy(store) as seen:
        recorded = practice.choose(state.id, 0, "own-it", trainee.id, drawn=state)
    assert recorded is state and state.play.actions == ["own-it"]
    assert seen == []  # no SELECT of the attempt, no replay
    assert step_rows(store, state.id) == 1

    with statements_through_sqlalchemy(store) as seen:
        practice.proceed(state.id, 1, trainee.id)  # without a drawn state: read back first
    assert any(statement.lstrip().upper().startswith("SELECT") for statement in seen)


def test_recording_on_the_drawn_state_stores_what_reading_it_back_stores(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    read_back = play_to_end(practice, practice.start(trainee.id, SCENARIO, "coached"), trainee.id)
    drawn = play_to_end(practice, practice.start(trainee.id, SCENARIO, "coached"), trainee.id, drawn=True)

    assert drawn.status == read_back.status == "completed"
    assert drawn.play.report() == read_back.play.report()
    assert step_rows(store, drawn.id) == step_rows(store, read_back.id) == 2
    assert score_rows(store, drawn.id) == score_rows(store, read_back.id) == 3
    with store.read() as session:
        stored = {a.id: (a.status, a.ending, a.score, a.zone) for a in session.scalars(select(Attempt))}
    assert stored[drawn.id] == stored[read_back.id]
    assert practice.load(drawn.id, trainee.id).play.actions == read_back.play.actions


def test_a_page_drawn_before_another_tab_answered_gets_a_conflict_or_the_same_answer(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    first_tab = practice.load(state.id, trainee.id)
    second_tab = practice.load(state.id, trainee.id)
    practice.choose(state.id, 0, "own-it", trainee.id, drawn=practice.load(state.id, trainee.id))

    with pytest.raises(Conflict, match="already answered"):
        practice.choose(state.id, 0, "explain", trainee.id, drawn=first_tab)
    again = practice.choose(state.id, 0, "own-it", trainee.id, drawn=second_tab)
    assert again.play.actions == ["own-it"]
    assert again.play.node_id == "opens-up"
    assert step_rows(store, state.id) == 1
    assert score_rows(store, state.id) == 3


def _delete(session: Session, attempt: Attempt, _somebody_else: UserRef) -> None:
    session.delete(attempt)


def _move(_session: Session, attempt: Attempt, somebody_else: UserRef) -> None:
    attempt.user_id = somebody_else.id  # as claiming a guest's practice for an account does


@pytest.mark.parametrize(
    ("change", "message"), [(_delete, "does not exist"), (_move, "belongs to someone else")], ids=["deleted", "moved"]
)
def test_a_drawn_state_of_an_attempt_deleted_or_moved_since_writes_nothing_and_says_so(
    store: Store,
    practice: PracticeService,
    trainee: UserRef,
    change: Callable[[Session, Attempt, UserRef], None],
    message: str,
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    page = practice.load(state.id, trainee.id)  # a page still open in a tab
    somebody_else = practice.create_guest("The Account It Moved To")
    with store.write() as session:
        change(session, session.get(Attempt, state.id), somebody_else)

    with pytest.raises(UserFacingError, match=message):
        practice.choose(state.id, 0, "own-it", trainee.id, drawn=page)
    assert step_rows(store, state.id) == 0
    assert score_rows(store, state.id) == 0


def test_a_drawn_state_counts_only_for_its_own_attempt_owner_and_step(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    mine = practice.start(trainee.id, SCENARIO, "coached")
    other = practice.start(trainee.id, SCENARIO, "coached")
    stranger = practice.create_guest("Somebody Else")

    with pytest.raises(UserFacingError, match="belongs to someone else"):
        practice.choose(mine.id, 0, "own-it", stranger.id, drawn=practice.load(mine.id))
    with pytest.raises(Conflict):
        practice.choose(mine.id, 1, "own-it", trainee.id, drawn=practice.load(mine.id))  # drawn at step 0
    assert step_rows(store, mine.id) == 0

    recorded = practice.choose(mine.id, 0, "grovel", trainee.id, drawn=practice.load(other.id))
    assert recorded.id == mine.id and recorded.play.actions == ["grovel"]
    assert step_rows(store, mine.id) == 1
    assert step_rows(store, other.id) == 0
