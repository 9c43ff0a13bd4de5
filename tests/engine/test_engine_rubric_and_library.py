"""Rubric validation, library loading, and scenario versions (snapshots)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_support import (
    RUBRIC,
    RUBRIC_LINES,
    SCENARIOS,
    TINY,
    diagnose_rubric,
    edit,
    rubric,
    tiny,
    write_library,
)

from engine import content_hash, from_snapshot, load_library, load_scenario, snapshot, snapshot_json

# --------------------------------------------------------------------------
# Every rubric rule
# --------------------------------------------------------------------------


def test_the_small_rubric_is_valid() -> None:
    assert diagnose_rubric(RUBRIC) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {20: None, 21: None, 22: None},
            ["rubric.yaml:1:1: error: missing required key 'axes' in '(top level)'"],
            id="axes-missing",
        ),
        pytest.param(
            {21: "  x: accountabilty"},
            ["rubric.yaml:21:6: error: axis x names unknown dimension 'accountabilty'; did you mean 'accountability'?"],
            id="axis-names-unknown-dimension",
        ),
        pytest.param(
            {22: "  y: accountability"},
            ["rubric.yaml:22:6: error: axes x and y must be two different dimensions"],
            id="axes-the-same",
        ),
        pytest.param(
            {4: "    min: 4", 5: "    max: 0"},
            ["rubric.yaml:5:10: error: dimension 'accountability': max (0) must be greater than min (4)"],
            id="max-below-min",
        ),
        pytest.param(
            {5: "    max: 0"},
            ["rubric.yaml:5:10: error: dimension 'accountability': max (0) must be greater than min (0)"],
            id="empty-range",
        ),
        pytest.param(
            {14: "    ideal: 5"},
            ["rubric.yaml:14:12: error: dimension 'self_focus': ideal 5 is outside its range 0-4"],
            id="ideal-outside-range",
        ),
        pytest.param(
            {9: "      5: Owns it."},
            ["rubric.yaml:9:7: error: level 5 of 'accountability' is outside its range 0-4"],
            id="level-outside-range",
        ),
        pytest.param(
            {9: "      four: Owns it."},
            ["rubric.yaml:9:7: error: key the text 'four' in 'dimensions.accountability.levels' must be an integer"],
            id="level-not-a-number",
        ),
        pytest.param(
            {4: "    min: zero"},
            ["rubric.yaml:4:10: error: 'dimensions.accountability.min' must be an integer, got the text 'zero'"],
            id="min-not-a-number",
        ),
        pytest.param(
            {11: "    lable: Self-focus"},
            ["rubric.yaml:11:5: error: unknown key 'lable' in 'dimensions.self_focus'; did you mean 'label'?"],
            id="dimension-key-typo",
        ),
        pytest.param(
            {1: "dimensions: {}", **{line: None for line in range(2, 20)}},
            [
                "rubric.yaml:1:13: error: 'dimensions' must not be empty",
                "rubric.yaml:3:6: error: axis x names unknown dimension 'accountability'",
                "rubric.yaml:4:6: error: axis y names unknown dimension 'self_focus'",
            ],
            id="no-dimensions",
        ),
        pytest.param(
            {10: "  Self Focus:", 22: "  y: Self Focus"},
            ["rubric.yaml:10:3: error: dimension id 'Self Focus' is not a valid id"],
            id="dimension-id-not-a-slug",
        ),
        pytest.param(
            {27: None},
            ["rubric.yaml:24:3: error: there must be exactly four zones, one per quadrant; found 3"],
            id="three-zones",
        ),
        pytest.param(
            {27: "  dismissive: {label: Dismissive, x: low, y: low}\n  extra: {label: Extra, x: low, y: low}"},
            [
                "rubric.yaml:24:3: error: there must be exactly four zones, one per quadrant; found 5",
                "rubric.yaml:28:3: error: zone 'extra' covers x=low, y=low, already covered by zone 'dismissive'",
            ],
            id="five-zones",
        ),
        pytest.param(
            {27: "  dismissive: {label: Dismissive, x: high, y: low}"},
            [
                "rubric.yaml:24:3: error: no zone covers x=low, y=low",
                "rubric.yaml:27:3: error: zone 'dismissive' covers x=high, y=low, already covered by zone 'balanced'",
            ],
            id="two-zones-in-one-quadrant",
        ),
        pytest.param(
            {27: "  dismissive: {label: Dismissive, x: lo, y: low}"},
            ["rubric.yaml:27:38: error: 'zones.dismissive.x' cannot be the text 'lo'; expected 'high' or 'low'"],
            id="zone-level-not-high-or-low",
        ),
        pytest.param(
            {27: "  Dismissive Zone: {label: Dismissive, x: low, y: low}"},
            ["rubric.yaml:27:3: error: zone id 'Dismissive Zone' is not a valid id"],
            id="zone-id-not-a-slug",
        ),
        pytest.param(
            {31: "  Re direct: Redirect"},
            ["rubric.yaml:31:3: error: strategy id 'Re direct' is not a valid id"],
            id="strategy-id-not-a-slug",
        ),
        pytest.param(
            {29: "  acknowledge: Acknowledge\n  acknowledge: Again"},
            ["rubric.yaml:30:3: error: duplicate key 'acknowledge' (first defined at line 29); "
             "YAML would silently keep only the last one"],
            id="duplicate-strategy",
        ),
        pytest.param(
            {28: "strategys:"},
            ["rubric.yaml:28:1: error: unknown key 'strategys' in '(top level)'; did you mean 'strategies'?"],
            id="top-level-key-typo",
        ),
    ],
)
def test_an_invalid_rubric_is_reported_at_the_offending_line(changes: dict, expected: list[str]) -> None:
    assert diagnose_rubric(edit(RUBRIC_LINES, changes)) == expected


def test_a_rubric_that_is_not_a_mapping_is_refused() -> None:
    assert diagnose_rubric("- accountability\n") == [
        "rubric.yaml:1:1: error: a rubric must be a mapping at the top level, got a list",
    ]


def test_an_empty_rubric_is_refused() -> None:
    assert diagnose_rubric("") == ["rubric.yaml:1:1: error: file is empty"]


def test_the_bundled_rubric_is_valid_and_documents_every_level_of_every_dimension() -> None:
    library = load_library(SCENARIOS)
    assert library.rubric_file.diagnostics == []
    assert library.rubric is not None
    for name, dimension in library.rubric.dimensions.items():
        assert set(dimension.levels) == set(range(dimension.min, dimension.max + 1)), name


# --------------------------------------------------------------------------
# Libraries
# --------------------------------------------------------------------------


def test_a_library_loads_its_valid_scenarios_and_keeps_the_diagnostics_of_broken_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_library(tmp_path / "lib", {"tiny.yaml": TINY, "broken.yaml": tiny({1: "id: other", 21: "        next: x"})})
    library = load_library("lib")
    assert list(library.scenarios) == ["tiny"]
    assert [f.path.name for f in library.broken_files] == ["broken.yaml"]
    assert [str(d) for d in library.diagnostics] == [
        "lib/broken.yaml:21:15: error: unknown node 'x'; expected one of 'bad-end', 'good-end', 'opening'",
    ]


def test_duplicate_scenario_ids_across_a_library_are_refused_in_the_second_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_library(tmp_path / "lib", {"a-first.yaml": TINY, "b-second.yaml": TINY})
    library = load_library("lib")
    assert [str(d) for d in library.diagnostics] == [
        "lib/b-second.yaml:1:5: error: duplicate scenario id 'tiny' (already used by a-first.yaml)",
    ]
    assert list(library.scenarios) == ["tiny"]
    assert library.files[0].ok and not library.files[1].ok


def test_scenarios_in_a_folder_with_an_invalid_rubric_cannot_be_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_library(tmp_path / "lib", {"tiny.yaml": TINY}, rubric_text=edit(RUBRIC_LINES, {22: "  y: accountability"}))
    library = load_library("lib")
    assert library.rubric is None
    assert library.scenarios == {}
    assert [str(d) for d in library.diagnostics] == [
        "lib/rubric.yaml:22:6: error: axes x and y must be two different dimensions",
        "lib/tiny.yaml:1:1: error: cannot check scores and strategies: this folder's rubric.yaml is missing or invalid",
    ]


def test_a_library_without_a_rubric_says_the_rubric_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "tiny.yaml").write_text(TINY)
    assert [str(d) for d in load_library("lib").diagnostics] == [
        "lib/rubric.yaml:1:1: error: cannot read file: No such file or directory",
        "lib/tiny.yaml:1:1: error: cannot check scores and strategies: this folder's rubric.yaml is missing or invalid",
    ]


def test_a_missing_library_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    messages = [d.message for d in load_library("nowhere").diagnostics]
    assert "scenario library folder not found" in messages


def test_a_scenario_file_uses_the_rubric_beside_it(tmp_path: Path) -> None:
    write_library(tmp_path, {"tiny.yaml": TINY})
    loaded = load_scenario(tmp_path / "tiny.yaml")
    assert loaded.ok and loaded.scenario is not None and loaded.scenario.id == "tiny"


# --------------------------------------------------------------------------
# The bundled library
# --------------------------------------------------------------------------

BUNDLED_FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_the_bundled_library_validates_without_errors() -> None:
    library = load_library(SCENARIOS)
    errors = [str(d) for d in library.diagnostics if d.is_error]
    assert errors == []
    assert len(library.scenarios) >= 4


@pytest.mark.parametrize("path", BUNDLED_FILES, ids=[p.name for p in BUNDLED_FILES])
def test_every_bundled_file_starts_with_a_schema_line_for_editors(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix), f"{path.name} must start with {prefix!r}"
    schema = (path.parent / first.removeprefix(prefix).strip()).resolve()
    expected = "rubric.v1.schema.json" if path.name == "rubric.yaml" else "scenario.v1.schema.json"
    assert schema.name == expected
    assert schema.is_file(), f"{path.name} points at a schema that does not exist: {schema}"


# --------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------


def _tiny_scenario():
    from engine import load_scenario_text

    loaded = load_scenario_text(TINY, rubric(), "tiny.yaml")
    assert loaded.scenario is not None
    return loaded.scenario


def test_a_snapshot_round_trips_through_json_to_an_equal_scenario_and_rubric() -> None:
    scenario, the_rubric = _tiny_scenario(), rubric()
    restored_scenario, restored_rubric = from_snapshot(snapshot_json(scenario, the_rubric))
    assert restored_scenario == scenario
    assert restored_rubric == the_rubric
    assert json.loads(snapshot_json(scenario, the_rubric)) == snapshot(scenario, the_rubric)


def test_the_content_hash_is_stable_and_changes_with_the_content() -> None:
    scenario, the_rubric = _tiny_scenario(), rubric()
    first = content_hash(scenario, the_rubric)
    assert first == content_hash(_tiny_scenario(), rubric())
    assert len(first) == 64
    restored = from_snapshot(snapshot(scenario, the_rubric))
    assert content_hash(*restored) == first
    from engine import load_scenario_text

    edited = load_scenario_text(tiny({31: "    text: She relaxes a little."}), the_rubric, "tiny.yaml").scenario
    assert edited is not None
    assert content_hash(edited, the_rubric) != first
