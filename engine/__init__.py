"""Repair Lab's scenario engine: the pure domain.

Load a library of YAML case vignettes, validate them with located errors,
play them through, and score each choice against the balance between
accountability and over-apology. No UI, database or charting code lives here
(a test keeps it that way).

Typical use::

    library = load_library("scenarios")
    play = Playthrough.start(library.scenarios["sarah-missed-session"], library.rubric)
    play.proceed_through_narration()
    play.choose(play.offered_choices()[0].id)
    report = play.report()
"""

from .diagnostics import Diagnostic, Severity
from .library import (
    Library,
    ScenarioFile,
    content_hash,
    from_snapshot,
    load_library,
    load_rubric,
    load_scenario,
    load_scenario_text,
    snapshot,
    snapshot_json,
)
from .model import Choice, Node, Scenario
from .rubric import Rubric
from .runtime import ChoiceOutcome, PlayError, Playthrough, Report, best_path

__all__ = [
    "Choice",
    "ChoiceOutcome",
    "Diagnostic",
    "Library",
    "Node",
    "PlayError",
    "Playthrough",
    "Report",
    "Rubric",
    "Scenario",
    "ScenarioFile",
    "Severity",
    "best_path",
    "content_hash",
    "from_snapshot",
    "load_library",
    "load_rubric",
    "load_scenario",
    "load_scenario_text",
    "snapshot",
    "snapshot_json",
]
