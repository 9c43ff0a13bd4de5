"""The balance chart, as a trainee reads it on the debrief page."""

from __future__ import annotations

import math

import pytest

from engine import Report, Rubric, Scenario
from repairlab.charts import Chart, balance_chart

from .support import annotation_texts, play, trace

ZONE_LABELS = {"Balanced repair", "Over-apology", "Defensive", "Dismissive"}


def zone_rectangles(chart: Chart) -> dict[str, tuple[float, float, float, float]]:
    return {s.name: (s.x0, s.x1, s.y0, s.y1) for s in chart.figure.layout.shapes if s.type == "rect"}


def test_the_four_zone_labels_are_written_on_the_chart(rubric: Rubric, mixed_report: Report) -> None:
    chart = balance_chart(rubric, mixed_report.choices, mixed_report.means)

    written = {text.replace("<b>", "").replace("</b>", "") for text in annotation_texts(chart.figure)}
    assert written >= ZONE_LABELS
    assert set(zone_rectangles(chart)) == ZONE_LABELS


def test_each_zone_label_sits_inside_its_own_shaded_rectangle(rubric: Rubric, mixed_report: Report) -> None:
    chart = balance_chart(rubric, mixed_report.choices, mixed_report.means)
    rectangles = zone_rectangles(chart)

    for note in chart.figure.layout.annotations:
        label = note.text.replace("<b>", "").replace("</b>", "")
        if label in rectangles:
            x0, x1, y0, y1 = rectangles[label]
            assert x0 < note.x < x1 and y0 < note.y < y1, label
    for rect in chart.figure.layout.shapes:
        if rect.type == "rect":
            assert rect.fillcolor and rect.layer == "below"


def test_the_zones_split_at_each_axis_midpoint_and_fill_the_padded_axes(
    rubric: Rubric, mixed_report: Report
) -> None:
    chart = balance_chart(rubric, mixed_report.choices, mixed_report.means)
    x_dim, y_dim = rubric.dimensions[rubric.axes.x], rubric.dimensions[rubric.axes.y]

    balanced = zone_rectangles(chart)["Balanced repair"]  # high accountability, low self-focus
    assert balanced == (x_dim.midpoint, x_dim.max + 0.3, y_dim.min - 0.3, y_dim.midpoint)
    assert list(chart.figure.layout.xaxis.range) == [x_dim.min - 0.3, x_dim.max + 0.3]
    assert list(chart.figure.layout.yaxis.range) == [y_dim.min - 0.3, y_dim.max + 0.3]
    assert chart.figure.layout.xaxis.title.text == "Accountability"
    assert chart.figure.layout.yaxis.title.text == "Self-focus"


def test_every_choice_is_a_point_numbered_by_its_step(rubric: Rubric, mixed_report: Report) -> None:
    points = trace(balance_chart(rubric, mixed_report.choices, mixed_report.means).figure, "Your choices")

    assert list(points.text) == ["1", "2", "3"]
    assert points.mode == "markers+text"
    for x, y, outcome in zip(points.x, points.y, mixed_report.choices, strict=True):
        assert x == outcome.scores["accountability"]
        assert y == outcome.scores["self_focus"]


def test_each_point_is_drawn_inside_the_zone_the_rubric_puts_it_in(
    three_steps: Scenario, rubric: Rubric
) -> None:
    # "middle" scores exactly on both midpoints (2, 2), and repeated choices share coordinates.
    report = play(three_steps, rubric, "middle", "grovel", "own").report()
    best = play(three_steps, rubric, "own", "own", "own").report()
    chart = balance_chart(rubric, report.choices, report.means, comparison=best.choices)
    rectangles = zone_rectangles(chart)

    drawn = [
        *zip(
            trace(chart.figure, "Your choices").x,
            trace(chart.figure, "Your choices").y,
            report.choices,
            strict=True,
        ),
        *zip(
            trace(chart.figure, "Best path").x, trace(chart.figure, "Best path").y, best.choices, strict=True
        ),
    ]
    for x, y, outcome in drawn:
        x0, x1, y0, y1 = rectangles[rubric.zone_label(rubric.zone_of(outcome.scores))]
        assert x0 < x < x1 and y0 < y < y1, (outcome.node, outcome.choice, x, y)
    assert rubric.zone_label(rubric.zone_of(report.choices[0].scores)) == "Over-apology"


def test_choices_with_identical_scores_all_stay_visible(three_steps: Scenario, rubric: Rubric) -> None:
    report = play(three_steps, rubric, "own", "own", "own").report()
    points = trace(balance_chart(rubric, report.choices, report.means).figure, "Your choices")

    positions = list(zip(points.x, points.y, strict=True))
    assert len(set(positions)) == 3
    for x, y in positions:  # spread slightly, not moved away
        assert math.dist((x, y), (4, 0)) < 0.3


def test_the_mean_is_a_larger_star_labelled_mean_at_the_mean_scores(
    rubric: Rubric, mixed_report: Report
) -> None:
    figure = balance_chart(rubric, mixed_report.choices, mixed_report.means).figure
    mean, points = trace(figure, "Mean"), trace(figure, "Your choices")

    assert (mean.x[0], mean.y[0]) == (mixed_report.means["accountability"], mixed_report.means["self_focus"])
    label = next(a for a in figure.layout.annotations if a.name == "mean-label")
    assert (label.x, label.y, label.text) == (mean.x[0], mean.y[0], "<b>Mean</b>")
    assert label.showarrow  # drawn above the points, pointing at the star
    assert mean.marker.symbol != points.marker.symbol
    assert mean.marker.size > points.marker.size


def test_without_explicit_means_the_mean_of_the_choices_is_shown(
    rubric: Rubric, mixed_report: Report
) -> None:
    mean = trace(balance_chart(rubric, mixed_report.choices).figure, "Mean")

    assert mean.x[0] == pytest.approx(mixed_report.means["accountability"])
    assert mean.y[0] == pytest.approx(mixed_report.means["self_focus"])


def test_the_best_path_is_a_labelled_comparison_with_its_own_symbol(
    rubric: Rubric, mixed_report: Report, best_run
) -> None:
    figure = balance_chart(
        rubric, mixed_report.choices, mixed_report.means, comparison=best_run.outcomes
    ).figure
    best, mine = trace(figure, "Best path"), trace(figure, "Your choices")

    assert list(best.text) == ["B1", "B2", "B3"]
    assert best.marker.symbol != mine.marker.symbol
    assert best.showlegend is not False and figure.layout.showlegend is True


def test_a_custom_comparison_label_names_the_comparison(
    rubric: Rubric, mixed_report: Report, best_run
) -> None:
    figure = balance_chart(
        rubric, mixed_report.choices, comparison=best_run.outcomes, comparison_label="Your last attempt"
    ).figure

    assert trace(figure, "Your last attempt")


def test_hovering_a_point_names_its_node_choice_score_and_zone(rubric: Rubric, mixed_report: Report) -> None:
    points = trace(balance_chart(rubric, mixed_report.choices, mixed_report.means).figure, "Your choices")

    first = points.hovertext[0]
    outcome = mixed_report.choices[0]
    assert outcome.node in first and outcome.choice in first
    assert f"Score: {round(outcome.score)}" in first
    assert "Zone: Over-apology" in first


def test_the_table_lists_each_choice_with_the_documented_columns(
    rubric: Rubric, mixed_report: Report
) -> None:
    table = balance_chart(rubric, mixed_report.choices, mixed_report.means).table

    assert list(table.columns) == [
        "Step",
        "Node",
        "Choice",
        "Accountability",
        "Self-focus",
        "Exploration",
        "Score",
        "Zone",
    ]
    assert len(table) == len(mixed_report.choices) == 3
    assert list(table["Step"]) == [1, 2, 3]
    assert list(table["Choice"]) == ["grovel", "deny", "own"]
    assert list(table["Zone"]) == ["Over-apology", "Dismissive", "Balanced repair"]
    assert list(table["Score"]) == [round(c.score, 1) for c in mixed_report.choices]


def test_the_alt_text_counts_the_choices_and_names_the_means_zone(
    rubric: Rubric, mixed_report: Report
) -> None:
    chart = balance_chart(rubric, mixed_report.choices, mixed_report.means)

    assert "3 choices" in chart.alt
    assert rubric.zone_label(mixed_report.zone) in chart.alt
    assert "1 in Over-apology" in chart.alt and "1 in Dismissive" in chart.alt


def test_a_played_example_scenario_gives_one_point_in_its_zone(example: Scenario, rubric: Rubric) -> None:
    report = play(example, rubric, "explain").report()
    chart = balance_chart(rubric, report.choices, report.means)

    assert list(trace(chart.figure, "Your choices").text) == ["1"]
    assert "1 choice," in chart.alt and "Defensive" in chart.alt
    assert list(chart.table["Node"]) == ["opening"]


def test_with_no_choices_yet_the_chart_says_so_and_the_table_is_empty(rubric: Rubric) -> None:
    chart = balance_chart(rubric, [], None)

    assert "No choices made yet" in annotation_texts(chart.figure)
    assert chart.table.empty and "Zone" in chart.table.columns
    assert "no choices" in chart.alt


def test_rubric_text_is_shown_as_text_not_markup(rubric: Rubric, mixed_report: Report) -> None:
    zones = dict(rubric.zones)
    zones["balanced"] = zones["balanced"].model_copy(update={"label": "<i>Balanced</i>"})
    tricky = rubric.model_copy(update={"zones": zones})

    chart = balance_chart(tricky, mixed_report.choices, mixed_report.means)

    assert "<b>&lt;i&gt;Balanced&lt;/i&gt;</b>" in annotation_texts(chart.figure)
    assert "<i>Balanced</i>" in set(chart.table["Zone"])  # tables and alt stay plain text
