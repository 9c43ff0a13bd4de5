"""A trainee's own records: names, reflections, history, and nobody else's attempts."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from storetools import count, play_to_end, step_rows

from repairlab.db import Store
from repairlab.db.tables import Attempt, User
from repairlab.services.errors import Forbidden, NotFound, UserFacingError
from repairlab.services.practice import MAX_NAME, MAX_REFLECTION, PracticeService, UserRef, clean_display_name

SCENARIO = "example-late-start"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Please enter a name"),
        ("   \t ", "Please enter a name"),
        ("x" * (MAX_NAME + 1), f"at most {MAX_NAME} characters; yours has {MAX_NAME + 1}"),
        ("Ann\x07ie", "control characters"),
        ("Ann\u200bie", "control characters"),  # zero-width space: invisible format character
        ("Ann\x1b[31mie", "control characters"),
    ],
)
def test_unusable_display_names_are_refused_with_a_clear_message_and_nothing_stored(
    store: Store, practice: PracticeService, raw: str, message: str
) -> None:
    with pytest.raises(UserFacingError, match=message.replace("[", r"\[")):
        practice.create_guest(raw)
    assert count(store, User) == 0


def test_display_names_are_trimmed_and_stored_as_typed_otherwise(
    store: Store, practice: PracticeService
) -> None:
    assert clean_display_name("  Ann   Lee  ") == "Ann Lee"
    user = practice.create_guest("  Zoë  O'Brien ")
    assert user.display_name == "Zoë O'Brien"
    longest = practice.create_guest("y" * MAX_NAME)
    assert longest.display_name == "y" * MAX_NAME
    with store.read() as session:
        assert session.get(User, user.id).display_name == "Zoë O'Brien"
    assert practice.user_by_public_id(user.public_id) == user
    assert practice.user_by_public_id("no-such-id") is None
    assert practice.user_by_public_id("") is None


def test_reflections_are_saved_and_length_limited_with_a_clear_message(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = play_to_end(practice, practice.start(trainee.id, SCENARIO, "coached"), trainee.id)
    practice.save_reflection(state.id, "  Next time I'd name the lateness first.  ", trainee.id)
    assert practice.load(state.id, trainee.id).reflection == "Next time I'd name the lateness first."

    practice.save_reflection(state.id, "r" * MAX_REFLECTION, trainee.id)
    assert practice.load(state.id, trainee.id).reflection == "r" * MAX_REFLECTION

    with pytest.raises(UserFacingError, match=f"at most {MAX_REFLECTION:,} characters; yours has 5,001"):
        practice.save_reflection(state.id, "s" * (MAX_REFLECTION + 1), trainee.id)
    assert practice.load(state.id, trainee.id).reflection == "r" * MAX_REFLECTION  # unchanged

    practice.save_reflection(state.id, "<script>alert(1)</script>", trainee.id)
    assert practice.load(state.id, trainee.id).reflection == "<script>alert(1)</script>"  # stored verbatim

    practice.save_reflection(state.id, "   ", trainee.id)
    with store.read() as session:
        attempt = session.get(Attempt, state.id)
        assert attempt.reflection is None and attempt.reflection_at is not None


def test_history_lists_only_the_trainees_own_attempts_oldest_first(
    practice: PracticeService, trainee: UserRef
) -> None:
    other = practice.create_guest("Someone Else")
    mine = [practice.start(trainee.id, SCENARIO, mode).id for mode in ("coached", "assessment")]
    theirs = practice.start(other.id, SCENARIO, "coached").id
    play_to_end(practice, practice.load(mine[0], trainee.id), trainee.id)

    history = practice.history(trainee.id)
    assert [s.id for s in history] == mine
    assert [s.status for s in history] == ["completed", "in_progress"]
    assert [s.mode for s in history] == ["coached", "assessment"]
    assert all(s.title == "The late start" for s in history)
    assert [s.id for s in practice.history(other.id)] == [theirs]
    assert practice.history(other.id + 1000) == []


def test_another_user_can_neither_load_nor_record_nor_reflect_on_an_attempt(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    state = practice.start(trainee.id, SCENARIO, "coached")
    intruder = practice.create_guest("Intruder")
    with pytest.raises(Forbidden, match="belongs to someone else"):
        practice.load(state.id, intruder.id)
    with pytest.raises(Forbidden):
        practice.choose(state.id, 0, "own-it", intruder.id)
    with pytest.raises(Forbidden):
        practice.proceed(state.id, 0, intruder.id)
    with pytest.raises(Forbidden):
        practice.save_reflection(state.id, "mine now", intruder.id)
    assert step_rows(store, state.id) == 0
    with store.read() as session:
        assert session.scalar(select(Attempt.reflection).where(Attempt.id == state.id)) is None
    practice.choose(state.id, 0, "own-it", trainee.id)  # the owner still can


def test_an_unknown_attempt_is_not_found_rather_than_an_error(
    practice: PracticeService, trainee: UserRef
) -> None:
    for call in (
        lambda: practice.load("no-such-attempt", trainee.id),
        lambda: practice.choose("no-such-attempt", 0, "own-it", trainee.id),
        lambda: practice.save_reflection("no-such-attempt", "text", trainee.id),
    ):
        with pytest.raises(NotFound):
            call()
