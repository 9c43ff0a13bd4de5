"""Per-dimension bars: where the attempt's mean sits against each dimension's ideal."""

from __future__ import annotations

import pytest

from engine import Report, Rubric, Scenario
from repairlab.charts import dimension_bars

from .support import annotation_texts, play, trace


def test_there_is_one_bar_per_dimension_named_with_the_rubrics_label(
    rubric: Rubric, mixed_report: Report
) -> None:
    bars = trace(dimension_bars(rubric, mixed_report.means).figure, "Your mean")

    assert bars.orientation == "h"
    assert list(bars.y) == ["Accountability", "Self-focus", "Exploration"]


def test_each_bar_reaches_the_attempts_mean_and_says_so(rubric: Rubric, mixed_report: Report) -> None:
    bars = trace(dimension_bars(rubric, mixed_report.means).figure, "Your mean")

    for base, length, text, name in zip(bars.base, bars.x, bars.text, rubric.dimensions, strict=True):
        assert base + length == pytest.approx(mixed_report.means[name])
        assert text.startswith("you ")


def test_each_ideal_is_marked_with_a_line_and_the_words_ideal_n(rubric: Rubric, mixed_report: Report) -> None:
    ideal = trace(dimension_bars(rubric, mixed_report.means).figure, "Ideal")

    assert list(ideal.x) == [4, 0, 4]
    assert list(ideal.y) == ["Accountability", "Self-focus", "Exploration"]
    assert list(ideal.text) == ["ideal 4", "ideal 0", "ideal 4"]
    assert ideal.marker.symbol.startswith("line-")


def test_the_axis_spans_the_rubric_range(rubric: Rubric, mixed_report: Report) -> None:
    figure = dimension_bars(rubric, mixed_report.means).figure

    assert list(figure.layout.xaxis.range) == [0, 4]


def test_the_first_rubric_dimension_is_drawn_at_the_top(rubric: Rubric, mixed_report: Report) -> None:
    yaxis = dimension_bars(rubric, mixed_report.means).figure.layout.yaxis

    # plotly draws a category array bottom-up
    assert list(yaxis.categoryarray) == ["Exploration", "Self-focus", "Accountability"]


def test_the_table_has_one_row_per_dimension_with_mean_ideal_and_range(
    rubric: Rubric, mixed_report: Report
) -> None:
    table = dimension_bars(rubric, mixed_report.means).table

    assert list(table.columns) == ["Dimension", "Your mean", "Ideal", "Range"]
    assert list(table["Dimension"]) == ["Accountability", "Self-focus", "Exploration"]
    assert list(table["Ideal"]) == [4, 0, 4]
    assert list(table["Range"]) == ["0–4", "0–4", "0–4"]
    assert list(table["Your mean"]) == [round(mixed_report.means[n], 2) for n in rubric.dimensions]


def test_the_alt_text_gives_each_mean_with_its_ideal(example: Scenario, rubric: Rubric) -> None:
    report = play(example, rubric, "grovel").report()
    alt = dimension_bars(rubric, report.means).alt

    assert "Accountability 3 (ideal 4)" in alt
    assert "Self-focus 4 (ideal 0)" in alt
    assert "Exploration 1 (ideal 4)" in alt
    assert "furthest: Self-focus" in alt


def test_before_any_choice_the_ideals_are_shown_with_a_notice(rubric: Rubric) -> None:
    chart = dimension_bars(rubric, {})

    assert "No choices made yet" in annotation_texts(chart.figure)
    assert list(trace(chart.figure, "Ideal").text) == ["ideal 4", "ideal 0", "ideal 4"]
    assert len(chart.table) == 3 and chart.table["Your mean"].isna().all()
    assert "No choices made yet" in chart.alt
