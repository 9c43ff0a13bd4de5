"""The scenario map with the trainee's path drawn on it."""

from __future__ import annotations

import yaml

from engine import Rubric, Scenario, best_path
from engine.graph import edges
from repairlab.charts import path_graph

from .support import has_trace, play, segments, trace


def node_positions(figure) -> dict[str, tuple[float, float]]:
    found = {}
    for kind in ("Decision", "Narration", "Ending"):
        if has_trace(figure, f"{kind} points"):
            nodes = trace(figure, f"{kind} points")
            for (node_id,), x, y in zip(nodes.customdata, nodes.x, nodes.y, strict=True):
                found[node_id] = (x, y)
    return found


def drawn_links(figure, name: str) -> set[tuple[str, str]]:
    at = {position: node for node, position in node_positions(figure).items()}
    line = trace(figure, name)
    return {(at[start], at[end]) for start, end in segments(line.x, line.y)}


def nodes_trace(figure, kind: str):
    return trace(figure, f"{kind} points")


def test_every_node_is_drawn_with_a_symbol_for_its_kind(three_steps: Scenario) -> None:
    figure = path_graph(three_steps, []).figure

    assert set(node_positions(figure)) == set(three_steps.nodes)
    assert nodes_trace(figure, "Decision").marker.symbol == "square"
    assert nodes_trace(figure, "Narration").marker.symbol == "circle"
    assert nodes_trace(figure, "Ending").marker.symbol == "diamond"
    assert {(c,) for c in ("first", "second", "third")} == {
        tuple(c) for c in nodes_trace(figure, "Decision").customdata
    }


def test_endings_are_labelled_with_their_ending_kind(example: Scenario) -> None:
    endings = nodes_trace(path_graph(example, []).figure, "Ending")

    labels = dict(zip([c[0] for c in endings.customdata], endings.text, strict=True))
    assert "(repaired)" in labels["end-repaired"]
    assert "(unrepaired)" in labels["end-unrepaired"]


def test_nodes_run_left_to_right_by_their_distance_from_the_start(three_steps: Scenario) -> None:
    positions = node_positions(path_graph(three_steps, []).figure)

    columns = [positions[n][0] for n in ("first", "second", "aside", "third")]
    assert columns == sorted(columns) and len(set(columns)) == 4
    assert positions["end-good"][0] == positions["end-bad"][0] > positions["third"][0]
    assert positions["end-good"][1] != positions["end-bad"][1]


def test_the_layout_is_the_same_every_time(example: Scenario) -> None:
    first = node_positions(path_graph(example, ["opening"]).figure)
    second = node_positions(path_graph(example, ["opening", "opens-up"]).figure)

    assert first == second


def test_your_path_highlights_exactly_the_links_you_took(example: Scenario, rubric: Rubric) -> None:
    run = play(example, rubric, "grovel")
    figure = path_graph(example, run.path).figure

    assert drawn_links(figure, "Your path (thick)") == {
        ("opening", "closes-down"),
        ("closes-down", "end-unrepaired"),
    }
    assert trace(figure, "Your path (thick)").line.width > trace(figure, "All links").line.width
    assert not has_trace(figure, "Best path (dashed)")


def test_all_scenario_links_are_drawn_faintly(example: Scenario) -> None:
    figure = path_graph(example, []).figure

    assert drawn_links(figure, "All links") == {(e.source, e.target) for e in edges(example)}


def test_the_best_path_is_dashed_along_its_own_links(example: Scenario, rubric: Rubric) -> None:
    run = play(example, rubric, "grovel")
    best = best_path(example, rubric)
    figure = path_graph(example, run.path, best.path).figure

    dashed = trace(figure, "Best path (dashed)")
    assert dashed.line.dash == "dash"
    assert drawn_links(figure, "Best path (dashed)") == {
        ("opening", "opens-up"),
        ("opens-up", "end-repaired"),
    }


def test_each_visited_node_is_numbered_in_the_order_you_visited_it(
    three_steps: Scenario, rubric: Rubric
) -> None:
    run = play(three_steps, rubric, "own", "deny", "deny")
    figure = path_graph(three_steps, run.path).figure
    positions = node_positions(figure)

    badges = {(a.x, a.y): a.text for a in figure.layout.annotations if (a.name or "").startswith("step:")}
    assert run.path == ["first", "second", "aside", "third", "end-bad"]
    assert {node: badges[positions[node]] for node in run.path} == {
        node: f"<b>{number}</b>" for number, node in enumerate(run.path, 1)
    }


def test_a_node_visited_twice_carries_both_step_numbers(example: Scenario) -> None:
    figure = path_graph(example, ["opening", "closes-down", "opening"]).figure

    assert "<b>1, 3</b>" in [a.text for a in figure.layout.annotations]


def test_the_table_lists_each_step_with_its_kind_and_whether_it_is_on_the_best_path(
    example: Scenario, rubric: Rubric
) -> None:
    run = play(example, rubric, "grovel")
    table = path_graph(example, run.path, best_path(example, rubric).path).table

    assert list(table.columns) == ["Step", "Node", "Kind", "On best path"]
    assert table.to_dict("records") == [
        {"Step": 1, "Node": "opening", "Kind": "decision", "On best path": "yes"},
        {"Step": 2, "Node": "closes-down", "Kind": "narration", "On best path": "no"},
        {"Step": 3, "Node": "end-unrepaired", "Kind": "ending (unrepaired)", "On best path": "no"},
    ]


def test_the_alt_text_walks_the_path_and_names_the_ending(example: Scenario, rubric: Rubric) -> None:
    run = play(example, rubric, "grovel")
    alt = path_graph(example, run.path, best_path(example, rubric).path).alt

    assert "opening → closes-down → end-unrepaired" in alt
    assert "ending unrepaired" in alt
    assert "best path (dashed)" in alt
    assert "5 points" in alt


def test_a_path_that_matches_the_best_path_says_so(example: Scenario, rubric: Rubric) -> None:
    best = best_path(example, rubric).path

    assert "same as the best path" in path_graph(example, best, best).alt


def test_the_legend_explains_each_symbol_and_line_style(example: Scenario, rubric: Rubric) -> None:
    figure = path_graph(example, play(example, rubric, "grovel").path, best_path(example, rubric).path).figure

    legend = [t.name for t in figure.data if t.showlegend is not False]
    assert legend == ["Your path (thick)", "Best path (dashed)", "Decision", "Narration", "Ending"]
    assert [trace(figure, k).marker.symbol for k in ("Decision", "Narration", "Ending")] == [
        "square",
        "circle",
        "diamond",
    ]


def test_before_the_first_step_the_map_has_no_highlight(example: Scenario) -> None:
    chart = path_graph(example, [])

    assert not has_trace(chart.figure, "Your path (thick)")
    assert chart.table.empty and list(chart.table.columns) == ["Step", "Node", "Kind", "On best path"]
    assert "not started" in chart.alt


LOOPING = """
id: looping
title: Looping
client: Ana
difficulty: beginner
mistake: A mistake.
rupture: withdrawal
summary: A loop back and a node nothing leads to.
start: ask
nodes:
  ask:
    text: First.
    choices:
      - {id: vague, text: Vague., scores: {accountability: 1, self_focus: 1, exploration: 1}, feedback: F., next: again}
      - {id: own, text: Own., scores: {accountability: 4, self_focus: 0, exploration: 4}, feedback: F., next: done}
  again:
    text: Again.
    choices:
      - {id: back, text: Back., scores: {accountability: 1, self_focus: 1, exploration: 1}, feedback: F., next: ask}
      - {id: onward, text: Onward., scores: {accountability: 2, self_focus: 1, exploration: 2}, feedback: F., next: aside}
  aside:
    text: Aside.
    next: done
  orphan:
    text: Never reached.
    next: done
  done:
    text: The end.
    ending: partial
"""


def test_a_loop_back_and_an_unreachable_node_are_still_drawn() -> None:
    scenario = Scenario.model_validate(yaml.safe_load(LOOPING))
    chart = path_graph(scenario, ["ask", "again", "ask", "done"], ["ask", "done"])
    positions = node_positions(chart.figure)

    assert set(positions) == set(scenario.nodes)
    assert positions["orphan"][0] > positions["aside"][0]  # unreachable nodes go in a last column
    assert drawn_links(chart.figure, "Your path (thick)") == {
        ("ask", "again"),
        ("again", "ask"),
        ("ask", "done"),
    }
    assert "<b>1, 3</b>" in [a.text for a in chart.figure.layout.annotations]
    assert list(chart.table["Step"]) == [1, 2, 3, 4]
