"""Helpers for the store tests: playing attempts through the service, counting rows.

Kept free of pytest so the process-kill child (``kill_child.py``) and the
tests share the same code.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from repairlab.db import Store
from repairlab.db.tables import AttemptStep, StepScore
from repairlab.services.practice import AttemptState, PracticeService

Pick = Callable[[AttemptState], str]


def first_offered(state: AttemptState) -> str:
    """Pick deterministically: the alphabetically first offered choice."""
    return min(choice.id for choice in state.play.offered_choices())


def record_next(
    practice: PracticeService, state: AttemptState, user_id: int, pick: Pick = first_offered, drawn: bool = False
) -> AttemptState:
    """Record the next action of an attempt (a choice, or continuing narration).

    `drawn=True` hands `state` to the service as the state the page was drawn from, as the
    play page does; otherwise the service reads the attempt back first.
    """
    step = state.play.step
    if state.play.kind == "decision":
        return practice.choose(state.id, step, pick(state), user_id, drawn=state if drawn else None)
    return practice.proceed(state.id, step, user_id, drawn=state if drawn else None)


def play_to_end(
    practice: PracticeService, state: AttemptState, user_id: int, pick: Pick = first_offered, drawn: bool = False
) -> AttemptState:
    """Record every remaining action until the attempt reaches an ending."""
    for _ in range(10_000):
        if state.finished:
            return state
        state = record_next(practice, state, user_id, pick, drawn)
    raise AssertionError("attempt did not finish within 10,000 steps")


def step_rows(store: Store, attempt_id: str) -> int:
    with store.read() as session:
        return session.scalar(
            select(func.count()).select_from(AttemptStep).where(AttemptStep.attempt_id == attempt_id)
        )


def score_rows(store: Store, attempt_id: str) -> int:
    with store.read() as session:
        return session.scalar(
            select(func.count()).select_from(StepScore).where(StepScore.attempt_id == attempt_id)
        )


def count(store: Store, table) -> int:  # type: ignore[no-untyped-def]
    """Rows in a table (an ORM class)."""
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(table))


def long_scenario_yaml(scenario_id: str, decisions: int) -> str:
    """A valid scenario with many short steps: decisions, with narration every fifth."""
    lines = [
        f"id: {scenario_id}",
        "title: A long session",
        "client: Sam",
        "difficulty: advanced",
        "mistake: The therapist kept checking the time.",
        "rupture: withdrawal",
        "summary: Many small decisions in a row, for durability tests.",
        "start: d0",
        "nodes:",
    ]
    for index in range(decisions):
        after = f"d{index + 1}" if index + 1 < decisions else "end"
        if index % 5 == 4:
            lines += [
                f"  d{index}:",
                f'    text: "Narration {index}."',
                f"    next: {after}",
            ]
            continue
        lines += [
            f"  d{index}:",
            f'    text: "Client line {index}."',
            "    choices:",
            "      - id: own-it",
            "        text: I own that.",
            "        scores: {accountability: 4, self_focus: 0, exploration: 3}",
            "        feedback: Good ownership.",
            f"        next: {after}",
            "      - id: deflect",
            "        text: It could not be helped.",
            "        scores: {accountability: 1, self_focus: 3, exploration: 0}",
            "        feedback: An excuse.",
            f"        next: {after}",
        ]
    lines += [
        "  end:",
        "    text: The session ends.",
        "    ending: partial",
        "    debrief: Long, but done.",
    ]
    return "\n".join(lines) + "\n"
