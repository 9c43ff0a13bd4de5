"""`python -m engine`: validate, play, schema, graph and stats from a shell."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from engine_support import PROJECT_ROOT, SCENARIOS, TINY, tiny, write_library

from engine.cli import main
from engine.schema import RUBRIC_SCHEMA_FILE, SCENARIO_SCHEMA_FILE, render, rubric_schema, scenario_schema

SUMMARY = re.compile(r"^(\d+) file\(s\) checked: (\d+) error\(s\), (\d+) warning\(s\)$")


@pytest.fixture
def library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A library folder `lib/` in the working directory, so paths print as `lib/...`."""
    monkeypatch.chdir(tmp_path)
    return write_library(tmp_path / "lib", {"tiny.yaml": TINY})


def run_cli(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}  # the engine is not installed, just checked out
    return subprocess.run(
        [sys.executable, "-m", "engine", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


# --------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------


def test_validate_with_no_arguments_checks_the_bundled_library_and_exits_0() -> None:
    done = run_cli("validate")
    assert done.returncode == 0, done.stdout
    summary = SUMMARY.match(done.stdout.splitlines()[-1])
    assert summary is not None, done.stdout
    files, errors = int(summary.group(1)), int(summary.group(2))
    assert files == len(list(SCENARIOS.glob("*.yaml")))
    assert errors == 0


def test_validate_prints_each_problem_and_a_summary_and_exits_1_on_errors(library: Path, capsys) -> None:
    (library / "broken.yaml").write_text(tiny({1: "id: broken", 21: "        next: good-edn", 4: "difficulty: easy"}))
    assert main(["validate", "lib/broken.yaml"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "lib/broken.yaml:4:13: error: 'difficulty' cannot be the text 'easy'; "
        "expected 'beginner', 'intermediate' or 'advanced'",
        "lib/broken.yaml:21:15: error: unknown node 'good-edn'; did you mean 'good-end'?",
        "1 file(s) checked: 2 error(s), 0 warning(s)",
    ]


def test_validate_exits_0_when_there_are_only_warnings(library: Path, capsys) -> None:
    (library / "tiny.yaml").write_text(tiny({35: "    ending: unrepaired\n  spare:\n    text: x\n    ending: partial"}))
    assert main(["validate", "lib"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "lib/tiny.yaml:36:3: warning: node 'spare' can never be reached from start 'opening'",
        "2 file(s) checked: 0 error(s), 1 warning(s)",
    ]


def test_validate_accepts_several_files_and_folders(library: Path, capsys) -> None:
    assert main(["validate", "lib", "lib/tiny.yaml", "lib/rubric.yaml"]) == 0
    assert capsys.readouterr().out.splitlines() == ["4 file(s) checked: 0 error(s), 0 warning(s)"]


def test_validate_reports_a_broken_rubric(library: Path, capsys) -> None:
    (library / "rubric.yaml").write_text("dimensions: {}\n")
    assert main(["validate", "lib/rubric.yaml"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "lib/rubric.yaml:1:1: error: missing required key 'axes' in '(top level)'"
    assert out[-1] == "1 file(s) checked: 3 error(s), 0 warning(s)"


def test_python_dash_m_engine_validate_exits_1_for_a_broken_file(tmp_path: Path) -> None:
    write_library(tmp_path, {"broken.yaml": tiny({10: "start: openin"})})
    done = run_cli("validate", "broken.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "broken.yaml:10:8: error: start names unknown node 'openin'; did you mean 'opening'?",
        "1 file(s) checked: 1 error(s), 0 warning(s)",
    ]


# --------------------------------------------------------------------------
# play
# --------------------------------------------------------------------------


def test_play_json_prints_exactly_one_object_with_the_documented_keys(library: Path, capsys) -> None:
    assert main(["play", "lib/tiny.yaml", "--choose", "move-on", "--json"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    report = json.loads(out)
    assert list(report) == ["scenario", "path", "choices", "variables", "ending", "score", "means", "zone"]
    assert report == {
        "scenario": "tiny",
        "path": ["opening", "bad-end"],
        "choices": [
            {
                "node": "opening",
                "choice": "move-on",
                "scores": {"accountability": 0, "self_focus": 0, "exploration": 0},
                "score": 18.35,
                "best_score": 100.0,
                "zone": "dismissive",
                "strategies": [],
            }
        ],
        "variables": {"trust": 0},
        "ending": "unrepaired",
        "score": 18.35,
        "means": {"accountability": 0.0, "self_focus": 0.0, "exploration": 0.0},
        "zone": "dismissive",
    }


def test_play_without_json_prints_a_readable_summary(library: Path, capsys) -> None:
    assert main(["play", "lib/tiny.yaml", "--choose", "own-it"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "opening: own-it  score 100.0 (best offered 100.0)  zone Balanced repair",
        "ending: repaired  score 100.0  zone Balanced repair",
    ]


def test_play_exits_2_naming_the_offered_ids_when_a_choice_is_not_offered(library: Path, capsys) -> None:
    assert main(["play", "lib/tiny.yaml", "--choose", "grovel", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "error: choice 'grovel' is not offered at node 'opening'; offered: own-it, move-on",
    ]


def test_play_exits_2_naming_the_offered_ids_when_the_choices_run_out(library: Path, capsys) -> None:
    assert main(["play", "lib/tiny.yaml", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "error: choices ran out at node 'opening' before an ending; offered: own-it, move-on",
    ]


def test_play_exits_2_when_more_choices_are_given_than_the_scenario_has(library: Path, capsys) -> None:
    assert main(["play", "lib/tiny.yaml", "--choose", "own-it,again", "--json"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: the scenario ended at 'good-end' before choice 'again'",
    ]


def test_play_exits_1_with_the_diagnostics_of_a_broken_scenario(library: Path, capsys) -> None:
    (library / "tiny.yaml").write_text(tiny({21: "        next: good-edn"}))
    assert main(["play", "lib/tiny.yaml", "--choose", "own-it", "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == ["lib/tiny.yaml:21:15: error: unknown node 'good-edn'; did you mean 'good-end'?"]


def test_python_dash_m_engine_play_json_runs_as_a_command(tmp_path: Path) -> None:
    write_library(tmp_path, {"tiny.yaml": TINY})
    done = run_cli("play", "tiny.yaml", "--choose", "own-it", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ending"] == "repaired"
    refused = run_cli("play", "tiny.yaml", "--choose", "nope", "--json", cwd=tmp_path)
    assert refused.returncode == 2
    assert "offered: own-it, move-on" in refused.stderr


# --------------------------------------------------------------------------
# schema
# --------------------------------------------------------------------------


def test_the_committed_scenario_schema_is_up_to_date() -> None:
    # Stale? Regenerate with:
    #   .venv/bin/python -c "from engine.schema import write_bundled; write_bundled()"
    assert SCENARIO_SCHEMA_FILE.read_text(encoding="utf-8") == render(scenario_schema())
    assert RUBRIC_SCHEMA_FILE.read_text(encoding="utf-8") == render(rubric_schema())


def test_schema_prints_the_committed_scenario_schema(capsys) -> None:
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SCENARIO_SCHEMA_FILE.read_text(encoding="utf-8")
    assert main(["schema", "--rubric"]) == 0
    assert capsys.readouterr().out == RUBRIC_SCHEMA_FILE.read_text(encoding="utf-8")


def test_python_dash_m_engine_schema_prints_valid_json() -> None:
    done = run_cli("schema")
    assert done.returncode == 0
    assert json.loads(done.stdout)["title"] == "Repair Lab scenario (format v1)"


BUNDLED = sorted(p for p in SCENARIOS.glob("*.yaml") if p.name != "rubric.yaml")


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_every_bundled_scenario_satisfies_the_committed_json_schema(path: Path) -> None:
    # what editors check while authors type must agree with the validator
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCENARIO_SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_the_bundled_rubric_satisfies_the_committed_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(RUBRIC_SCHEMA_FILE.read_text(encoding="utf-8"))
    data = yaml.safe_load((SCENARIOS / "rubric.yaml").read_text(encoding="utf-8"))
    # JSON has no integer keys; editors see the level keys as strings
    for dimension in data["dimensions"].values():
        dimension["levels"] = {str(k): v for k, v in dimension.get("levels", {}).items()}
    jsonschema.validate(data, schema)


# --------------------------------------------------------------------------
# graph and stats
# --------------------------------------------------------------------------


def test_graph_prints_the_scenario_as_dot(library: Path, capsys) -> None:
    assert main(["graph", "lib/tiny.yaml"]) == 0
    dot = capsys.readouterr().out
    assert dot.splitlines()[0] == 'digraph "tiny" {'
    assert '  "opening" [shape=box, label="opening", peripheries=2];' in dot
    assert '  "opening" -> "good-end" [label="own-it"];' in dot
    assert '  "opening" -> "good-end" [label="move-on", style=dashed];' in dot
    assert '  "opening" -> "bad-end" [label="move-on"];' in dot
    assert dot.endswith("}\n")


def test_graph_of_a_broken_scenario_exits_1(library: Path, capsys) -> None:
    (library / "tiny.yaml").write_text("")
    assert main(["graph", "lib/tiny.yaml"]) == 1
    assert capsys.readouterr().err.splitlines() == ["lib/tiny.yaml:1:1: error: file is empty"]


def test_stats_prints_the_coverage_table_of_a_library(library: Path, capsys) -> None:
    assert main(["stats", "lib"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Scenario library lib: 1 valid scenario(s)\n")
    for heading in (
        "Scenarios by difficulty and rupture type",
        "Zones offered per decision",
        "Strategies used",
        "Paths from start to an ending",
    ):
        assert heading in out


def test_stats_exits_1_when_the_library_has_errors(library: Path, capsys) -> None:
    (library / "broken.yaml").write_text("")
    assert main(["stats", "lib"]) == 1
    assert "broken.yaml has errors and is not counted" in capsys.readouterr().out
