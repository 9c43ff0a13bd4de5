"""The trainee's live watcher: when it reruns the whole page, and when it leaves it alone.

`_follow_the_group` decides from what the page drew, the group's live state
and two moments (the page run's end, the move); Streamlit is replaced by a
stand-in that records reruns.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import ui.group_join_view as view
from repairlab.services.groups import Counts, LiveToken

BEFORE = LiveToken("open", 0, False)
REVEALED = LiveToken("open", 0, True)


class Rerun(Exception):
    pass


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A stand-in for `st` and the clock; `page.live` is what the shared read returns."""
    state: dict[str, object] = {}

    def rerun(scope: str = "app") -> None:
        assert scope == "app"
        raise Rerun

    fake = SimpleNamespace(session_state=state, rerun=rerun, live=(BEFORE, Counts(0, 3)), now=100.0)
    monkeypatch.setattr(view, "st", SimpleNamespace(session_state=state, rerun=rerun))
    monkeypatch.setattr(view, "shared_live_state", lambda _session_id: fake.live)
    monkeypatch.setattr(view.time, "monotonic", lambda: fake.now)
    return fake


def follow(drawn: view.Drawn):  # type: ignore[no-untyped-def]
    return view._follow_the_group("group-1", drawn)


def test_inside_the_page_run_that_draws_it_the_watcher_never_reruns(page) -> None:  # type: ignore[no-untyped-def]
    drawn = view.Drawn(BEFORE, at=100.0, moved=True)
    page.session_state[view.DRAWING_KEY] = drawn.at
    page.live = (REVEALED, Counts(2, 3))  # even if the shared read is a moment ahead
    assert follow(drawn) == page.live


def test_when_the_group_has_moved_on_the_whole_page_reruns(page) -> None:  # type: ignore[no-untyped-def]
    page.session_state[view.PAGE_DONE_KEY] = 90.0
    page.live = (REVEALED, Counts(2, 3))
    with pytest.raises(Rerun):
        follow(view.Drawn(BEFORE, at=89.0, moved=False))


def test_a_quiet_group_leaves_the_page_alone_and_shows_the_counts(page) -> None:  # type: ignore[no-untyped-def]
    page.session_state[view.PAGE_DONE_KEY] = 90.0
    assert follow(view.Drawn(BEFORE, at=89.0, moved=False)) == (BEFORE, Counts(0, 3))


def test_a_tick_right_after_the_page_run_ended_reruns_the_page_in_case_its_end_was_lost(page) -> None:  # type: ignore[no-untyped-def]
    page.session_state[view.PAGE_DONE_KEY] = page.now - view.RACE_SECONDS / 2
    with pytest.raises(Rerun):
        follow(view.Drawn(BEFORE, at=page.now - 0.3, moved=False))


def test_after_a_move_one_more_full_run_follows_once_a_few_seconds_later(page) -> None:  # type: ignore[no-untyped-def]
    drawn = view.Drawn(REVEALED, at=100.0, moved=True)
    page.live = (REVEALED, Counts(2, 3))
    page.session_state[view.PAGE_DONE_KEY] = 100.2
    page.now = 102.0
    assert follow(drawn) is not None  # too soon: the room is still rerunning for the move
    page.now = 100.0 + view.SETTLE_AFTER_SECONDS + 0.5
    with pytest.raises(Rerun):
        follow(drawn)
    page.now += 2
    assert follow(drawn) is not None  # once only
