"""Real chart data: scenarios played with the engine in a library copied to tmp_path.

``chart_library`` holds the bundled rubric, the format example
(``example-late-start``: one decision, then narration to an ending) and
``three-steps``, a small scenario written here with three decisions in a row,
a narration node and two endings, so that an attempt can repeat a choice
(identical coordinates) and land exactly on an axis midpoint.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import Library, Playthrough, Report, Rubric, Scenario, best_path, load_library

from .support import play

PROJECT_ROOT = Path(__file__).resolve().parents[2]

THREE_STEPS = """\
id: three-steps
title: Three steps
client: Alex
difficulty: beginner
mistake: The therapist forgot what the client said last week.
rupture: withdrawal
summary: Three decisions in a row.
start: first
nodes:
  first:
    text: You do not remember, do you?
    choices:
      - id: own
        text: I forgot, and that matters.
        scores: {accountability: 4, self_focus: 0, exploration: 4}
        feedback: Plain ownership.
        next: second
      - id: grovel
        text: I am so sorry, I feel awful.
        scores: {accountability: 3, self_focus: 4, exploration: 1}
        feedback: Asks the client to look after you.
        next: second
      - id: middle
        text: Something slipped, I suppose.
        scores: {accountability: 2, self_focus: 2, exploration: 2}
        feedback: Half-owned.
        next: second
      - id: deny
        text: I am sure you did not tell me.
        scores: {accountability: 0, self_focus: 1, exploration: 0}
        feedback: Puts it on the client.
        next: second
  second:
    text: Right.
    choices:
      - id: own
        text: I would like to hear how that felt.
        scores: {accountability: 4, self_focus: 0, exploration: 4}
        feedback: Opens the door.
        next: aside
      - id: grovel
        text: Please don't be cross with me.
        scores: {accountability: 3, self_focus: 4, exploration: 1}
        feedback: Centres your guilt.
        next: aside
      - id: deny
        text: Let us move on.
        scores: {accountability: 0, self_focus: 1, exploration: 0}
        feedback: Closes it down.
        next: aside
  aside:
    text: She pauses.
    next: third
  third:
    text: Fine.
    choices:
      - id: own
        text: It was not fine of me.
        scores: {accountability: 4, self_focus: 0, exploration: 4}
        feedback: Stays with it.
        next: end-good
      - id: deny
        text: Good.
        scores: {accountability: 0, self_focus: 1, exploration: 0}
        feedback: Misses it.
        next: end-bad
  end-good:
    text: She nods.
    ending: repaired
    debrief: Ownership helped.
  end-bad:
    text: She leaves.
    ending: unrepaired
    debrief: It went unaddressed.
"""


@pytest.fixture
def chart_library(tmp_path: Path) -> Library:
    folder = tmp_path / "library"
    folder.mkdir()
    shutil.copyfile(PROJECT_ROOT / "scenarios" / "rubric.yaml", folder / "rubric.yaml")
    shutil.copyfile(PROJECT_ROOT / "docs" / "format-example.yaml", folder / "example-late-start.yaml")
    (folder / "three-steps.yaml").write_text(THREE_STEPS, encoding="utf-8")
    library = load_library(folder)
    assert not library.broken_files, [d.message for f in library.broken_files for d in f.diagnostics]
    return library


@pytest.fixture
def rubric(chart_library: Library) -> Rubric:
    assert chart_library.rubric is not None
    return chart_library.rubric


@pytest.fixture
def example(chart_library: Library) -> Scenario:
    return chart_library.scenarios["example-late-start"]


@pytest.fixture
def three_steps(chart_library: Library) -> Scenario:
    return chart_library.scenarios["three-steps"]


@pytest.fixture
def mixed_report(three_steps: Scenario, rubric: Rubric) -> Report:
    """Three different zones: over-apology, then dismissive, then balanced."""
    return play(three_steps, rubric, "grovel", "deny", "own").report()


@pytest.fixture
def best_run(three_steps: Scenario, rubric: Rubric) -> Playthrough:
    return best_path(three_steps, rubric)
