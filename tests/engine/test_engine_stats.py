"""`python -m engine stats`: the coverage table of a library, for authors."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import BRANCHING, SCENARIOS, TINY, rubric, tiny, write_library

from engine import load_library, load_scenario_text
from engine import stats as stats_module
from engine.stats import PathStats, format_stats, library_stats, path_stats, scenario_stats


def load(text: str):
    loaded = load_scenario_text(text, rubric(), "s.yaml")
    assert loaded.ok and loaded.scenario is not None, loaded.diagnostics
    return loaded.scenario


# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------


def test_structural_paths_follow_every_edge_ignoring_conditions() -> None:
    # own-it -> good-end; move-on -> good-end or bad-end (a conditional route)
    assert path_stats(load(TINY), conditional=False) == PathStats(
        paths=3, min_decisions=1, max_decisions=1, endings={"repaired": 2, "unrepaired": 1}
    )


def test_playable_paths_resolve_conditions_and_effects_as_the_runtime_does() -> None:
    # move-on leaves trust at 0, so its route to good-end never applies
    assert path_stats(load(TINY), conditional=True) == PathStats(
        paths=2, min_decisions=1, max_decisions=1, endings={"repaired": 1, "unrepaired": 1}
    )


def test_path_counts_of_a_branching_scenario_match_a_hand_count() -> None:
    scenario = load(BRANCHING)
    # structural: 4 first choices x (deepen + middle's 3 routes + retreat)
    assert path_stats(scenario, conditional=False) == PathStats(
        paths=20, min_decisions=2, max_decisions=2, endings={"partial": 4, "repaired": 8, "unrepaired": 8}
    )
    # playable: ideal opens deepen (3 ways on); over, defend, dismiss have 2 each
    assert path_stats(scenario, conditional=True) == PathStats(
        paths=9, min_decisions=2, max_decisions=2, endings={"partial": 1, "repaired": 2, "unrepaired": 6}
    )


def test_paths_of_different_lengths_report_the_fewest_and_most_decisions() -> None:
    text = tiny({
        21: "        next: more",
        30: "  more:\n    text: And?\n    choices:\n"
            "      - id: a\n        text: A.\n        scores: {accountability: 4, self_focus: 0, exploration: 4}\n"
            "        feedback: A.\n        next: good-end\n"
            "      - id: b\n        text: B.\n        scores: {accountability: 0, self_focus: 4, exploration: 0}\n"
            "        feedback: B.\n        next: bad-end\n  good-end:",
    })
    found = path_stats(load(text), conditional=True)
    assert (found.paths, found.min_decisions, found.max_decisions) == (3, 1, 2)


def test_a_loop_is_flagged_and_its_looping_paths_are_not_counted() -> None:
    # bad-end becomes a narration node that returns to the opening decision
    text = tiny({34: "    text: She hesitates.\n    next: opening", 35: None, 32: "    ending: repaired"})
    found = path_stats(load(text), conditional=False)
    assert found.looped
    assert found.paths == 2  # own-it -> good-end, move-on -> good-end
    assert found.endings == {"repaired": 2}


def test_counting_stops_at_the_state_cap_and_says_the_figures_are_a_lower_bound(monkeypatch) -> None:
    monkeypatch.setattr(stats_module, "MAX_STATES", 2)
    found = path_stats(load(BRANCHING), conditional=True)
    assert found.truncated


def test_path_counting_handles_thousands_of_nodes_without_recursion() -> None:
    lines = [tiny().split("nodes:")[0] + "nodes:"]
    depth = 3000
    for index in range(depth):
        lines.append(f"  n{index}:\n    text: step\n    next: n{index + 1}")
    lines.append(f"  n{depth}:\n    text: done\n    ending: repaired")
    text = "\n".join(lines).replace("start: opening", "start: n0") + "\n"
    found = path_stats(load(text), conditional=True)
    assert (found.paths, found.min_decisions, found.max_decisions) == (1, 0, 0)


# --------------------------------------------------------------------------
# Zones, strategies and warnings
# --------------------------------------------------------------------------


def test_a_decision_lacking_zones_is_listed_with_a_warning() -> None:
    found = scenario_stats(load(TINY), rubric())
    (decision,) = found.decisions
    assert decision.zones == {"balanced": 1, "over-apology": 0, "defensive": 0, "dismissive": 1}
    assert decision.missing_zones == ["over-apology", "defensive"]
    assert "tiny: decision 'opening' offers no choice in: Over-apology, Defensive" in found.warnings


def test_a_decision_covering_every_zone_has_no_zone_warning() -> None:
    found = scenario_stats(load(BRANCHING), rubric())
    first = found.decisions[0]
    assert first.node == "first"
    assert first.zones == {"balanced": 1, "over-apology": 1, "defensive": 1, "dismissive": 1}
    assert first.missing_zones == []
    assert not any("'first' offers no choice" in w for w in found.warnings)


def test_strategies_are_counted_per_choice() -> None:
    found = scenario_stats(load(BRANCHING), rubric())
    assert dict(found.strategies) == {"acknowledge": 2, "invite-exploration": 1, "redirect": 1}


def test_the_best_response_written_first_at_every_decision_is_a_warning() -> None:
    found = scenario_stats(load(BRANCHING), rubric())
    assert [d.best_is_first for d in found.decisions] == [True, True]
    assert [d.best_is_longest for d in found.decisions] == [True, False]
    assert "branching: the best-scoring response is written first at every decision" in found.warnings
    assert not any("is the longest" in w for w in found.warnings)


def test_one_decision_is_not_a_pattern_of_best_first() -> None:
    found = scenario_stats(load(TINY), rubric())
    assert found.decisions[0].best_is_first
    assert not any("written first" in w for w in found.warnings)


def test_library_stats_count_scenarios_by_difficulty_and_rupture_and_warn_where_thin(
    tmp_path: Path,
) -> None:
    other = BRANCHING.replace("id: branching", "id: other")
    write_library(tmp_path / "lib", {"tiny.yaml": TINY, "branching.yaml": BRANCHING, "other.yaml": other})
    found = library_stats(load_library(tmp_path / "lib"))
    assert found.by_difficulty == {"beginner": ["tiny"], "intermediate": ["branching", "other"], "advanced": []}
    assert found.by_rupture == {"withdrawal": ["tiny"], "confrontation": ["branching", "other"]}
    assert found.unused_strategies == []
    assert "only 1 beginner scenario(s); aim for at least 3" in found.warnings
    assert "only 0 advanced scenario(s); aim for at least 3" in found.warnings


def test_a_rubric_strategy_never_used_is_a_warning(tmp_path: Path) -> None:
    write_library(tmp_path / "lib", {"tiny.yaml": TINY})
    found = library_stats(load_library(tmp_path / "lib"))
    assert found.unused_strategies == ["invite-exploration", "redirect"]
    assert "strategy 'redirect' (Redirect to other material) is never used" in found.warnings


def test_broken_files_are_left_out_and_named(tmp_path: Path) -> None:
    write_library(tmp_path / "lib", {"tiny.yaml": TINY, "broken.yaml": ""})
    found = library_stats(load_library(tmp_path / "lib"))
    assert [s.id for s in found.scenarios] == ["tiny"]
    assert [Path(p).name for p in found.broken_files] == ["broken.yaml"]
    assert any("broken.yaml has errors and is not counted" in w for w in found.warnings)


def test_a_library_without_a_valid_rubric_has_nothing_to_count(tmp_path: Path) -> None:
    write_library(tmp_path / "lib", {"tiny.yaml": TINY}, rubric_text="")
    found = library_stats(load_library(tmp_path / "lib"))
    assert found.scenarios == []
    assert found.warnings == ["the library's rubric.yaml is missing or invalid; nothing to count"]
    assert "0 valid scenario(s)" in format_stats(found)


# --------------------------------------------------------------------------
# The printed table
# --------------------------------------------------------------------------


def test_the_table_shows_each_section_with_its_figures(tmp_path: Path) -> None:
    write_library(tmp_path / "lib", {"tiny.yaml": TINY, "branching.yaml": BRANCHING})
    text = format_stats(library_stats(load_library(tmp_path / "lib")))
    lines = text.splitlines()
    assert lines[0].endswith(": 2 valid scenario(s)")
    assert "difficulty    withdrawal  confrontation  total" in lines
    assert any(line.split() == ["beginner", "1", "0", "1"] for line in lines)
    assert any(line.split() == ["total", "1", "1", "2"] for line in lines)
    assert any(line.split() == ["tiny", "opening", "1", "-", "-", "1", "missing", "over-apology,", "defensive"]
               for line in lines)
    assert any(line.split()[:7] == ["branching", "6", "20", "2", "9", "2", "partial"] for line in lines)
    assert any(line.split() == ["acknowledge", "Acknowledge", "own", "contribution", "3"] for line in lines)
    assert "warning: tiny: decision 'opening' offers no choice in: Over-apology, Defensive" in lines


def test_the_bundled_library_has_stats_for_every_valid_scenario() -> None:
    library = load_library(SCENARIOS)
    found = library_stats(library)
    assert [s.id for s in found.scenarios] == sorted(library.scenarios)
    for scenario in found.scenarios:
        assert scenario.playable.paths >= 1
        assert not scenario.playable.truncated
    text = format_stats(found)
    assert all(scenario_id in text for scenario_id in library.scenarios)


@pytest.mark.parametrize("conditional", [False, True])
def test_stats_are_pure_and_repeatable(conditional: bool) -> None:
    scenario = load(BRANCHING)
    assert path_stats(scenario, conditional) == path_stats(scenario, conditional)
