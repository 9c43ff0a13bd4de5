"""Small documents and helpers shared by the engine tests.

The tests state the exact `file:line:col` of every diagnostic, so the base
documents below are written out line by line: `TINY` and `RUBRIC` carry their
line numbers in the comments of `TINY_LINES` / `RUBRIC_LINES`, and `edit`
replaces whole lines by number, so a test reads "line 21 becomes ...; the
error is at 21:15".
"""

from __future__ import annotations

import functools
from pathlib import Path

from engine import Rubric, load_scenario_text
from engine.library import load_rubric_text

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = PROJECT_ROOT / "scenarios"

# A small rubric: the bundled one's shape, with fewer words.
RUBRIC_LINES = [
    "dimensions:",  # 1
    "  accountability:",  # 2
    "    label: Accountability",  # 3
    "    min: 0",  # 4
    "    max: 4",  # 5
    "    ideal: 4",  # 6
    "    levels:",  # 7
    "      0: Denies.",  # 8
    "      4: Owns it.",  # 9
    "  self_focus:",  # 10
    "    label: Self-focus",  # 11
    "    min: 0",  # 12
    "    max: 4",  # 13
    "    ideal: 0",  # 14
    "  exploration:",  # 15
    "    label: Exploration",  # 16
    "    min: 0",  # 17
    "    max: 4",  # 18
    "    ideal: 4",  # 19
    "axes:",  # 20
    "  x: accountability",  # 21
    "  y: self_focus",  # 22
    "zones:",  # 23
    "  balanced: {label: Balanced repair, x: high, y: low}",  # 24
    "  over-apology: {label: Over-apology, x: high, y: high}",  # 25
    "  defensive: {label: Defensive, x: low, y: high}",  # 26
    "  dismissive: {label: Dismissive, x: low, y: low}",  # 27
    "strategies:",  # 28
    "  acknowledge: Acknowledge own contribution",  # 29
    "  invite-exploration: Invite discussion of the rupture",  # 30
    "  redirect: Redirect to other material",  # 31
]
RUBRIC = "\n".join(RUBRIC_LINES) + "\n"

# A small valid scenario: one decision, a conditional route, two endings.
TINY_LINES = [
    "id: tiny",  # 1
    "title: Tiny",  # 2
    "client: Ann",  # 3
    "difficulty: beginner",  # 4
    "mistake: The therapist started late without saying so.",  # 5
    "rupture: withdrawal",  # 6
    "summary: A tiny scenario.",  # 7
    "variables:",  # 8
    "  trust: 0",  # 9
    "start: opening",  # 10
    "nodes:",  # 11
    "  opening:",  # 12
    "    text: It's fine.",  # 13
    "    choices:",  # 14
    "      - id: own-it",  # 15
    "        text: I was late and didn't say so; that's on me.",  # 16
    "        scores: {accountability: 4, self_focus: 0, exploration: 4}",  # 17
    "        strategies: [acknowledge]",  # 18
    "        effects: {trust: 1}",  # 19
    "        feedback: Owns the lapse.",  # 20
    "        next: good-end",  # 21
    "      - id: move-on",  # 22
    "        text: Let's start.",  # 23
    "        scores: {accountability: 0, self_focus: 0, exploration: 0}",  # 24
    "        feedback: Skips past it.",  # 25
    "        next:",  # 26
    "          - to: good-end",  # 27
    "            when: {trust: {min: 1}}",  # 28
    "          - to: bad-end",  # 29
    "  good-end:",  # 30
    "    text: She relaxes.",  # 31
    "    ending: repaired",  # 32
    "  bad-end:",  # 33
    "    text: She leaves.",  # 34
    "    ending: unrepaired",  # 35
]
TINY = "\n".join(TINY_LINES) + "\n"


# Scores of the choices below, by hand, with the 0-4 rubric (ideal 4, 0, 4):
#   (4,0,4) ideal            d = 0                     -> 100
#   (0,4,0) far corner       d = sqrt(3)               -> 0
#   (2,2,2) middle           d = sqrt(3 * 0.5^2)       -> 100 * (1 - 0.5)        = 50
#   (3,1,2)                  d = sqrt(.0625+.0625+.25) -> 100 * (1 - .6124/1.732) = 64.645
#   (4,4,0), (0,0,0)         d = sqrt(2)               -> 100 * (1 - sqrt(2/3))  = 18.350
BRANCHING = """\
id: branching
title: Branching
client: Bea
difficulty: intermediate
mistake: The therapist forgot the session had been moved.
rupture: confrontation
summary: A scenario that exercises every runtime rule.
variables:
  trust: 0
  guard: 0
start: intro
nodes:
  intro:
    text: She sits down without taking her coat off.
    next: first
  first:
    text: You forgot, didn't you.
    choices:
      - id: ideal
        text: I did forget, and I wonder what that was like for you.
        scores: {accountability: 4, self_focus: 0, exploration: 4}
        strategies: [acknowledge, invite-exploration]
        effects: {trust: 2}
        feedback: Owns it and invites her experience.
        next: second
      - id: over
        text: I'm so sorry, I feel awful, please forgive me.
        scores: {accountability: 4, self_focus: 4, exploration: 0}
        strategies: [acknowledge]
        effects: {guard: 1}
        feedback: She has to look after you now.
        next: second
      - id: defend
        text: The booking system moved it, not me.
        scores: {accountability: 0, self_focus: 4, exploration: 0}
        feedback: Defends the therapist.
        next: second
      - id: dismiss
        text: Let's get going.
        scores: {accountability: 0, self_focus: 0, exploration: 0}
        strategies: [redirect]
        effects: {trust: -1}
        feedback: Moves on.
        next: second
  second:
    text: She looks at you.
    choices:
      - id: deepen
        text: Can we stay with what it meant that I forgot?
        scores: {accountability: 4, self_focus: 0, exploration: 4}
        when: {trust: {min: 2}}
        feedback: Deepens the repair.
        next: repaired-end
      - id: middle
        text: I'm sorry, that must have been annoying; shall we start?
        scores: {accountability: 2, self_focus: 2, exploration: 2}
        feedback: Half-way.
        next:
          - to: repaired-end
            when: {trust: {min: 2}}
          - to: partial-end
            when: {guard: {min: 1}}
          - to: unrepaired-end
      - id: retreat
        text: I hear you. Tell me more about the week.
        scores: {accountability: 3, self_focus: 1, exploration: 2}
        feedback: Some ownership.
        next: unrepaired-end
  repaired-end:
    text: She takes her coat off.
    ending: repaired
  partial-end:
    text: She stays, guarded.
    ending: partial
  unrepaired-end:
    text: She leaves early.
    ending: unrepaired
"""


def edit(lines: list[str], changes: dict[int, str | None]) -> str:
    """The document with line N (1-based) replaced; None deletes it.

    A replacement may contain newlines to insert lines; the line numbers in
    `changes` always refer to the original document.
    """
    out = []
    for number, line in enumerate(lines, start=1):
        if number in changes:
            if changes[number] is not None:
                out.append(changes[number])
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def tiny(changes: dict[int, str | None] | None = None) -> str:
    return edit(TINY_LINES, changes or {})


@functools.cache
def rubric() -> Rubric:
    """The small rubric (parsed once; rubrics are immutable)."""
    loaded = load_rubric_text(RUBRIC, "rubric.yaml")
    assert loaded.rubric is not None, loaded.diagnostics
    return loaded.rubric


def diagnose(text: str | bytes, name: str = "broken.yaml") -> list[str]:
    """Every diagnostic for a scenario document, as printed by `validate`."""
    return [str(d) for d in load_scenario_text(text, rubric(), name).diagnostics]


def diagnose_rubric(text: str | bytes, name: str = "rubric.yaml") -> list[str]:
    return [str(d) for d in load_rubric_text(text, name).diagnostics]


def write_library(folder: Path, scenarios: dict[str, str], rubric_text: str = RUBRIC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rubric.yaml").write_text(rubric_text, encoding="utf-8")
    for name, text in scenarios.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
