"""Playing a scenario: scoring, zones, conditions, routes, saving and resuming."""

from __future__ import annotations

import json
import math

import pytest
from engine_support import BRANCHING, RUBRIC_LINES, edit, rubric

from engine import PlayError, Playthrough, Rubric, Scenario, best_path, load_scenario_text
from engine.graph import Edge, edges, to_dot
from engine.library import load_rubric_text


@pytest.fixture(scope="module")
def the_rubric() -> Rubric:
    return rubric()


@pytest.fixture(scope="module")
def scenario(the_rubric: Rubric) -> Scenario:
    loaded = load_scenario_text(BRANCHING, the_rubric, "branching.yaml")
    assert loaded.diagnostics == []
    assert loaded.scenario is not None
    return loaded.scenario


def play(scenario: Scenario, the_rubric: Rubric, *choices: str) -> Playthrough:
    run = Playthrough.start(scenario, the_rubric)
    run.proceed_through_narration()
    for choice in choices:
        run.choose(choice)
        run.proceed_through_narration()
    return run


def point(a: float, s: float, e: float) -> dict[str, float]:
    return {"accountability": a, "self_focus": s, "exploration": e}


# --------------------------------------------------------------------------
# The scoring formula
# --------------------------------------------------------------------------


def test_a_choice_at_the_ideal_point_scores_100(the_rubric: Rubric) -> None:
    assert the_rubric.score(point(4, 0, 4)) == pytest.approx(100.0)


def test_a_choice_at_the_far_corner_from_the_ideal_scores_0(the_rubric: Rubric) -> None:
    assert the_rubric.score(point(0, 4, 0)) == pytest.approx(0.0, abs=1e-9)


def test_a_choice_in_the_middle_of_every_range_scores_50(the_rubric: Rubric) -> None:
    assert the_rubric.score(point(2, 2, 2)) == pytest.approx(50.0)


def test_an_uneven_choice_scores_the_hand_computed_value(the_rubric: Rubric) -> None:
    expected = 100 * (1 - math.sqrt(0.25**2 + 0.25**2 + 0.5**2) / math.sqrt(3))
    assert the_rubric.score(point(3, 1, 2)) == pytest.approx(expected)
    assert the_rubric.score(point(3, 1, 2)) == pytest.approx(64.645, abs=1e-3)


def test_each_dimension_is_divided_by_its_range_before_measuring_distance() -> None:
    # exploration now runs 0-10: being 5 short of its ideal is half its range
    wide = load_rubric_text(edit(RUBRIC_LINES, {18: "    max: 10", 19: "    ideal: 10"}), "rubric.yaml").rubric
    assert wide is not None
    assert wide.score(point(4, 0, 5)) == pytest.approx(100 * (1 - 0.5 / math.sqrt(3)))
    assert wide.score(point(4, 0, 10)) == pytest.approx(100.0)


# --------------------------------------------------------------------------
# Zones
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accountability", "self_focus", "zone"),
    [
        (4, 0, "balanced"),
        (4, 4, "over-apology"),
        (0, 4, "defensive"),
        (0, 0, "dismissive"),
    ],
)
def test_each_quadrant_of_the_balance_chart_is_its_zone(the_rubric: Rubric, accountability, self_focus, zone) -> None:
    assert the_rubric.zone_of(point(accountability, self_focus, 0)) == zone


def test_a_value_exactly_at_the_midpoint_counts_as_high(the_rubric: Rubric) -> None:
    assert the_rubric.zone_of(point(2, 2, 0)) == "over-apology"
    assert the_rubric.zone_of(point(2, 0, 0)) == "balanced"
    assert the_rubric.zone_of(point(0, 2, 0)) == "defensive"


def test_a_value_just_below_the_midpoint_counts_as_low(the_rubric: Rubric) -> None:
    assert the_rubric.zone_of(point(1.999, 1.999, 0)) == "dismissive"
    assert the_rubric.zone_of(point(2, 1.999, 0)) == "balanced"


def test_with_an_odd_range_the_midpoint_falls_between_two_scores() -> None:
    odd = load_rubric_text(edit(RUBRIC_LINES, {5: "    max: 3", 6: "    ideal: 3", 9: None}), "rubric.yaml").rubric
    assert odd is not None
    assert odd.dimensions["accountability"].midpoint == 1.5
    assert odd.zone_of(point(1, 0, 0)) == "dismissive"
    assert odd.zone_of(point(1.5, 0, 0)) == "balanced"
    assert odd.zone_of(point(2, 0, 0)) == "balanced"


# --------------------------------------------------------------------------
# Playing: outcomes, attempts, conditions, routes, effects
# --------------------------------------------------------------------------


def test_narration_is_continued_and_the_first_decision_is_offered(scenario, the_rubric) -> None:
    run = Playthrough.start(scenario, the_rubric)
    assert (run.node_id, run.kind, run.finished, run.step) == ("intro", "narration", False, 0)
    assert run.offered_choices() == []
    run.proceed()
    assert (run.node_id, run.kind, run.step) == ("first", "decision", 1)
    assert run.actions == [None]
    assert [c.id for c in run.offered_choices()] == ["ideal", "over", "defend", "dismiss"]


def test_a_choice_outcome_carries_its_scores_zone_strategies_and_the_best_offered(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric)
    outcome = run.choose("over")
    assert outcome.node == "first"
    assert outcome.choice == "over"
    assert outcome.scores == {"accountability": 4, "self_focus": 4, "exploration": 0}
    assert outcome.score == pytest.approx(100 * (1 - math.sqrt(2 / 3)))
    assert outcome.best_score == pytest.approx(100.0)
    assert outcome.best_choice == "ideal"
    assert outcome.zone == "over-apology"
    assert outcome.strategies == ["acknowledge"]
    assert outcome.feedback == "She has to look after you now."
    assert outcome.step == 1


def test_an_attempt_scores_the_mean_of_its_choices_and_its_zone_is_the_zone_of_its_means(
    scenario, the_rubric
) -> None:
    run = play(scenario, the_rubric, "over", "middle")
    report = run.report()
    over, middle = 100 * (1 - math.sqrt(2 / 3)), 50.0
    assert report.score == pytest.approx((over + middle) / 2)
    assert report.means == pytest.approx({"accountability": 3.0, "self_focus": 3.0, "exploration": 1.0})
    # neither choice alone decides it: the means (3, 3) are high on both axes
    assert report.zone == "over-apology"
    assert [c.zone for c in report.choices] == ["over-apology", "over-apology"]


def test_the_attempt_zone_can_differ_from_every_choice_zone(scenario, the_rubric) -> None:
    report = play(scenario, the_rubric, "dismiss", "retreat").report()
    assert [c.zone for c in report.choices] == ["dismissive", "balanced"]
    assert report.means == pytest.approx({"accountability": 1.5, "self_focus": 0.5, "exploration": 1.0})
    assert report.zone == "dismissive"


def test_the_best_score_at_a_decision_counts_only_the_choices_that_were_offered(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric, "over")
    assert [c.id for c in run.offered_choices()] == ["middle", "retreat"]  # deepen needs trust >= 2
    outcome = run.choose("middle")
    assert outcome.best_choice == "retreat"
    assert outcome.best_score == pytest.approx(64.645, abs=1e-3)


def test_a_choice_gated_by_when_is_offered_only_when_its_condition_holds(scenario, the_rubric) -> None:
    assert "deepen" in [c.id for c in play(scenario, the_rubric, "ideal").offered_choices()]
    assert "deepen" not in [c.id for c in play(scenario, the_rubric, "dismiss").offered_choices()]


def test_effects_add_to_the_variables(scenario, the_rubric) -> None:
    assert play(scenario, the_rubric, "ideal").variables == {"trust": 2, "guard": 0}
    assert play(scenario, the_rubric, "over").variables == {"trust": 0, "guard": 1}
    assert play(scenario, the_rubric, "dismiss").variables == {"trust": -1, "guard": 0}
    assert play(scenario, the_rubric, "defend").variables == {"trust": 0, "guard": 0}


@pytest.mark.parametrize(
    ("first", "ending"),
    [("ideal", "repaired"), ("over", "partial"), ("defend", "unrepaired"), ("dismiss", "unrepaired")],
)
def test_routes_are_tried_in_order_on_the_variables_and_the_last_is_the_fallback(
    scenario, the_rubric, first, ending
) -> None:
    run = play(scenario, the_rubric, first, "middle")
    assert run.finished
    assert run.ending == ending
    assert run.path[-1] == f"{ending}-end"


def test_choosing_a_choice_that_is_not_offered_names_the_offered_choices(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric, "dismiss")
    with pytest.raises(PlayError, match=r"choice 'deepen' is not offered at node 'second'; offered: middle, retreat"):
        run.choose("deepen")
    with pytest.raises(PlayError, match=r"choice 'nonsense' is not offered"):
        run.choose("nonsense")
    assert run.step == 2 and run.node_id == "second"  # nothing changed


def test_choosing_at_a_narration_node_and_continuing_at_a_decision_are_refused(scenario, the_rubric) -> None:
    run = Playthrough.start(scenario, the_rubric)
    with pytest.raises(PlayError, match="not a decision point"):
        run.choose("ideal")
    run.proceed()
    with pytest.raises(PlayError, match="not a narration node"):
        run.proceed()


def test_nothing_can_be_done_after_an_ending(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric, "ideal", "deepen")
    assert run.finished and run.kind == "ending"
    with pytest.raises(PlayError):
        run.proceed()
    with pytest.raises(PlayError):
        run.choose("middle")


# --------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------


def test_the_report_dict_has_exactly_the_documented_keys(scenario, the_rubric) -> None:
    report = play(scenario, the_rubric, "over", "middle").report().to_dict()
    assert list(report) == ["scenario", "path", "choices", "variables", "ending", "score", "means", "zone"]
    assert list(report["choices"][0]) == ["node", "choice", "scores", "score", "best_score", "zone", "strategies"]
    assert report == {
        "scenario": "branching",
        "path": ["intro", "first", "second", "partial-end"],
        "choices": [
            {
                "node": "first", "choice": "over",
                "scores": {"accountability": 4, "self_focus": 4, "exploration": 0},
                "score": 18.35, "best_score": 100.0, "zone": "over-apology", "strategies": ["acknowledge"],
            },
            {
                "node": "second", "choice": "middle",
                "scores": {"accountability": 2, "self_focus": 2, "exploration": 2},
                "score": 50.0, "best_score": 64.64, "zone": "over-apology", "strategies": [],
            },
        ],
        "variables": {"trust": 0, "guard": 1},
        "ending": "partial",
        "score": 34.18,
        "means": {"accountability": 3.0, "self_focus": 3.0, "exploration": 1.0},
        "zone": "over-apology",
    }
    json.dumps(report)  # plain JSON data


def test_a_report_before_any_choice_has_no_score_or_zone(scenario, the_rubric) -> None:
    report = Playthrough.start(scenario, the_rubric).report()
    assert (report.score, report.zone, report.means, report.ending) == (None, None, {}, None)


def test_the_report_best_score_is_the_mean_of_the_best_offered_scores(scenario, the_rubric) -> None:
    report = play(scenario, the_rubric, "over", "middle").report()
    assert report.best_score == pytest.approx((100 + 64.645) / 2, abs=1e-3)


# --------------------------------------------------------------------------
# Saving and resuming
# --------------------------------------------------------------------------


def test_a_finished_play_through_resumes_from_its_json_to_an_equal_state(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric, "over", "middle")
    saved = json.loads(json.dumps(run.to_json()))
    assert saved == {"scenario": "branching", "actions": [None, "over", "middle"]}  # None: continue
    resumed = Playthrough.from_json(scenario, the_rubric, saved)
    assert resumed.report() == run.report()
    assert (resumed.node_id, resumed.variables, resumed.path, resumed.actions, resumed.outcomes) == (
        run.node_id, run.variables, run.path, run.actions, run.outcomes,
    )


def test_a_half_finished_play_through_resumes_where_it_stopped(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric, "ideal")
    resumed = Playthrough.from_json(scenario, the_rubric, json.loads(json.dumps(run.to_json())))
    assert (resumed.node_id, resumed.step, resumed.variables) == ("second", run.step, {"trust": 2, "guard": 0})
    assert [c.id for c in resumed.offered_choices()] == ["deepen", "middle", "retreat"]
    resumed.choose("deepen")
    assert resumed.ending == "repaired"


def test_resume_replays_the_recorded_actions(scenario, the_rubric) -> None:
    resumed = Playthrough.resume(scenario, the_rubric, [None, "defend", "retreat"])
    assert resumed.path == ["intro", "first", "second", "unrepaired-end"]


def test_a_play_through_saved_for_another_scenario_is_refused(scenario, the_rubric) -> None:
    with pytest.raises(PlayError, match="saved play-through is for 'other', not 'branching'"):
        Playthrough.from_json(scenario, the_rubric, {"scenario": "other", "actions": []})


def test_a_saved_play_through_with_an_impossible_action_is_refused(scenario, the_rubric) -> None:
    with pytest.raises(PlayError, match="not offered"):
        Playthrough.from_json(scenario, the_rubric, {"scenario": "branching", "actions": [None, "dismiss", "deepen"]})


# --------------------------------------------------------------------------
# Shuffled order
# --------------------------------------------------------------------------


def test_without_a_seed_choices_come_in_the_order_written(scenario, the_rubric) -> None:
    assert [c.id for c in play(scenario, the_rubric).offered_choices()] == ["ideal", "over", "defend", "dismiss"]


def test_the_shuffled_order_is_stable_for_the_same_seed_and_a_permutation(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric)
    written = [c.id for c in run.offered_choices()]
    for seed in ("attempt-1", "attempt-2", "x"):
        first = [c.id for c in run.offered_choices(shuffle_seed=seed)]
        again = [c.id for c in play(scenario, the_rubric).offered_choices(shuffle_seed=seed)]
        assert first == again
        assert sorted(first) == sorted(written)


def test_different_seeds_give_different_orders(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric)
    orders = {tuple(c.id for c in run.offered_choices(shuffle_seed=f"seed-{n}")) for n in range(30)}
    assert len(orders) > 5


def test_shuffling_does_not_change_what_choose_accepts(scenario, the_rubric) -> None:
    run = play(scenario, the_rubric)
    shuffled = run.offered_choices(shuffle_seed="s")
    run.choose(shuffled[-1].id)
    assert run.node_id == "second"


# --------------------------------------------------------------------------
# Greedy best and worst paths
# --------------------------------------------------------------------------


def test_the_best_path_takes_the_highest_scoring_offered_choice_each_time(scenario, the_rubric) -> None:
    best = best_path(scenario, the_rubric)
    assert best.actions == [None, "ideal", "deepen"]
    assert best.ending == "repaired"
    assert best.report().score == pytest.approx(100.0)


def test_the_worst_path_takes_the_lowest_scoring_offered_choice_each_time(scenario, the_rubric) -> None:
    worst = best_path(scenario, the_rubric, worst=True)
    assert worst.actions == [None, "defend", "middle"]
    assert worst.ending == "unrepaired"
    assert worst.report().score == pytest.approx(25.0)


# --------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------


def test_graph_edges_list_every_choice_and_route(scenario) -> None:
    found = edges(scenario)
    assert Edge("intro", "first", None, False) in found
    assert Edge("first", "second", "ideal", False) in found
    assert Edge("second", "repaired-end", "middle", True) in found
    assert Edge("second", "partial-end", "middle", True) in found
    assert Edge("second", "unrepaired-end", "middle", False) in found
    assert len(found) == 1 + 4 + 1 + 3 + 1


def test_the_dot_graph_names_every_node_and_highlights_a_path(scenario) -> None:
    dot = to_dot(scenario, highlight=["intro", "first", "second", "partial-end"])
    assert dot.startswith('digraph "branching" {\n')
    assert dot.endswith("}\n")
    for node_id in scenario.nodes:
        assert f'"{node_id}" [' in dot
    assert '"partial-end" [shape=doubleoctagon, label="partial-end\\n(partial)", style=bold, penwidth=3];' in dot
    assert '"second" -> "partial-end" [label="middle", style=dashed, penwidth=3];' in dot
    assert '"first" -> "second" [label="ideal", penwidth=3];' in dot
