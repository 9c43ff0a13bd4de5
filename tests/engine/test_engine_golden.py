"""Golden play-throughs of every bundled scenario, in the spirit of Yarn Spinner's test plans.

For each scenario in `scenarios/`, `golden/<scenario-id>.best.json` and
`golden/<scenario-id>.worst.json` hold the expected `python -m engine play
--json` report of the greedy best path (always the highest-scoring offered
choice, `engine.best_path`) and the greedy worst path (always the lowest). The
tests replay the recorded choices through the command line and compare the
whole report, so any change to a scenario's text-independent content (scores,
links, conditions, effects, endings) or to the scoring shows up as a diff.

To regenerate the golden files after an intended change, run:

    REPAIRLAB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/engine/test_engine_golden.py

and review the diff of tests/engine/golden/ before committing it.

The random-walk test plays thousands of seeded random paths through every
scenario and checks that none hits a dead end (a decision with no offered
choice), crashes, or runs past a step bound.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from engine_support import SCENARIOS

from engine import Library, Playthrough, Scenario, best_path, load_library
from engine.cli import main

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("REPAIRLAB_UPDATE_GOLDEN") == "1"
REGENERATE = "REPAIRLAB_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/engine/test_engine_golden.py"
SCENARIO_FILES = sorted(p for p in SCENARIOS.glob("*.yaml") if p.name != "rubric.yaml")
WALKS_PER_SCENARIO = 2_000
MAX_STEPS = 500  # actions (choices and continues) in one play-through


@pytest.fixture(scope="module")
def library() -> Library:
    return load_library(SCENARIOS)


def scenario_in(library: Library, path: Path) -> Scenario:
    loaded = next(f for f in library.files if f.path.name == path.name)
    if not loaded.ok or loaded.scenario is None:
        pytest.fail(f"{path.name} does not validate:\n" + "\n".join(str(d) for d in loaded.diagnostics))
    return loaded.scenario


def play_json(path: Path, choices: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    code = main(["play", str(path), "--choose", ",".join(choices), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def check_golden(path: Path, scenario: Scenario, library: Library, worst: bool, capsys) -> dict:
    assert library.rubric is not None
    greedy = best_path(scenario, library.rubric, worst=worst).report().to_dict()
    golden = GOLDEN / f"{scenario.id}.{'worst' if worst else 'best'}.json"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(json.dumps(greedy, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not golden.exists():
        pytest.fail(f"no golden file {golden.name}; generate it with: {REGENERATE}")
    expected = json.loads(golden.read_text(encoding="utf-8"))
    recorded = [choice["choice"] for choice in expected["choices"]]
    assert play_json(path, recorded, capsys) == expected, f"replaying {golden.name} gives a different report"
    assert greedy == expected, f"the greedy {'worst' if worst else 'best'} path changed; if intended: {REGENERATE}"
    return expected


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_the_best_path_replays_to_its_golden_report_and_ends_repaired(path: Path, library: Library, capsys) -> None:
    expected = check_golden(path, scenario_in(library, path), library, worst=False, capsys=capsys)
    assert expected["ending"] == "repaired"


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_the_worst_path_replays_to_its_golden_report_and_does_not_end_repaired(
    path: Path, library: Library, capsys
) -> None:
    expected = check_golden(path, scenario_in(library, path), library, worst=True, capsys=capsys)
    assert expected["ending"] != "repaired"


def test_every_golden_file_belongs_to_a_bundled_scenario(library: Library) -> None:
    ids = {f.scenario.id for f in library.files if f.scenario is not None} | {p.stem for p in SCENARIO_FILES}
    orphans = sorted(
        p.name for p in GOLDEN.glob("*.json") if p.name.rsplit(".", 2)[0] not in ids
    )
    assert orphans == [], "golden files for scenarios that no longer exist; delete them"


# --------------------------------------------------------------------------
# Random walks
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_thousands_of_random_walks_find_no_dead_end_or_crash(path: Path, library: Library) -> None:
    scenario = scenario_in(library, path)
    rubric = library.rubric
    assert rubric is not None
    rng = random.Random(f"random-walk:{scenario.id}")
    endings: set[str] = set()
    visited: set[str] = set()
    for walk in range(WALKS_PER_SCENARIO):
        play = Playthrough.start(scenario, rubric)
        while not play.finished:
            assert play.step < MAX_STEPS, f"walk {walk} did not end within {MAX_STEPS} steps: {play.path[-10:]}"
            if play.kind == "narration":
                play.proceed()
                continue
            offered = play.offered_choices(shuffle_seed=f"{walk}")
            assert offered, f"dead end: no choice is offered at '{play.node_id}' with {play.variables}"
            outcome = play.choose(rng.choice(offered).id)
            assert 0.0 - 1e-9 <= outcome.score <= outcome.best_score + 1e-9 <= 100.0 + 2e-9
            assert outcome.zone in rubric.zones
        report = play.report()
        assert report.ending in ("repaired", "partial", "unrepaired")
        assert report.score is None or 0.0 <= report.score <= 100.0
        assert report.zone is None or report.zone in rubric.zones
        assert report.means == {} or all(
            rubric.dimensions[name].min <= value <= rubric.dimensions[name].max for name, value in report.means.items()
        )
        if walk % 250 == 0:  # saving and resuming gives the same play-through
            resumed = Playthrough.from_json(scenario, rubric, json.loads(json.dumps(play.to_json())))
            assert resumed.report() == report
        endings.add(report.ending)
        visited.update(play.path)
    assert len(endings) >= 2, f"random play reached only {endings}"
    assert len(visited) > 1


# --------------------------------------------------------------------------
# The content contract of the product brief
# --------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_every_bundled_scenario_keeps_the_content_contract(path: Path, library: Library) -> None:
    """At least 3 decisions on the best path; 4+ choices spanning all four zones at every
    decision; at least three endings; and state that changes later branches."""
    scenario = scenario_in(library, path)
    rubric = library.rubric
    assert rubric is not None
    assert len(best_path(scenario, rubric).outcomes) >= 3, "fewer than 3 decisions on the best path"
    for node_id, node in scenario.nodes.items():
        if node.choices is None:
            continue
        assert len(node.choices) >= 4, f"decision '{node_id}' has fewer than 4 choices"
        zones = {rubric.zone_of(choice.scores) for choice in node.choices}
        assert zones == set(rubric.zones), f"decision '{node_id}' lacks zone(s) {set(rubric.zones) - zones}"
    endings = [node.ending for node in scenario.nodes.values() if node.ending]
    assert len(endings) >= 3, "fewer than three endings"
    changed = {name for node in scenario.nodes.values() for c in node.choices or [] for name in c.effects}
    tested = set()
    for node in scenario.nodes.values():
        for choice in node.choices or []:
            tested |= set(choice.when or {})
            if not isinstance(choice.next, str):
                for route in choice.next:
                    tested |= set(route.when or {})
        if node.next is not None and not isinstance(node.next, str):
            for route in node.next:
                tested |= set(route.when or {})
    assert changed & tested, "no variable set by a choice is tested by a later condition"
