"""Scores over time on the history page."""

from __future__ import annotations

from datetime import datetime, timedelta

from repairlab.charts import history_chart, zone_labels
from repairlab.services.practice import AttemptSummary

from .support import annotation_texts, has_trace, trace

COLUMNS = ["Date", "Scenario", "Score", "Zone", "Ending"]
MONDAY = datetime(2025, 3, 3, 9, 0)


def attempt(title: str, day: int, score: float | None, status: str = "completed", **extra) -> AttemptSummary:
    started = MONDAY + timedelta(days=day)
    fields = {
        "id": f"{title}-{day}",
        "scenario_id": title.lower().replace(" ", "-"),
        "title": title,
        "mode": "coached",
        "status": status,
        "started_at": started,
        "completed_at": started + timedelta(minutes=12) if status == "completed" else None,
        "ending": "repaired" if status == "completed" else None,
        "score": score,
        "zone": "balanced" if status == "completed" else None,
    }
    return AttemptSummary(**{**fields, **extra})


def test_no_attempts_shows_a_notice_and_an_empty_table_with_the_columns(rubric) -> None:
    chart = history_chart([], zone_labels(rubric))

    assert "No completed attempts yet" in annotation_texts(chart.figure)
    assert chart.table.empty and list(chart.table.columns) == COLUMNS
    assert "No completed attempts yet" in chart.alt
    assert list(chart.figure.layout.yaxis.range) == [0, 100]


def test_attempts_still_in_progress_are_not_plotted(rubric) -> None:
    chart = history_chart([attempt("The late start", 0, None, status="in_progress")], zone_labels(rubric))

    assert chart.table.empty
    assert "No completed attempts yet" in annotation_texts(chart.figure)


def test_each_scenario_has_its_own_line_and_symbol_plus_an_overall_line(rubric) -> None:
    summaries = [
        attempt("The late start", 0, 40.0),
        attempt("The empty room", 1, 55.5),
        attempt("The late start", 2, 72.25),
        attempt("The empty room", 3, 80.0),
        attempt("The empty room", 4, None, status="in_progress"),
    ]
    figure = history_chart(summaries, zone_labels(rubric)).figure

    late, room, overall = (
        trace(figure, "The late start"),
        trace(figure, "The empty room"),
        trace(figure, "All scenarios"),
    )
    assert list(late.y) == [40.0, 72.25] and list(room.y) == [55.5, 80.0]
    assert late.mode == room.mode == "lines+markers"
    assert late.marker.symbol != room.marker.symbol
    assert list(overall.y) == [40.0, 55.5, 72.25, 80.0]
    assert list(figure.layout.yaxis.range) == [0, 100]


def test_a_single_scenario_needs_no_separate_overall_line(rubric) -> None:
    figure = history_chart([attempt("The late start", 0, 40.0), attempt("The late start", 1, 60.0)]).figure

    assert has_trace(figure, "The late start") and not has_trace(figure, "All scenarios")


def test_points_are_plotted_at_completion_time_in_order(rubric) -> None:
    summaries = [attempt("The late start", 2, 70.0), attempt("The late start", 0, 30.0)]
    late = trace(history_chart(summaries).figure, "The late start")

    assert list(late.x) == sorted(s.completed_at for s in summaries)
    assert list(late.y) == [30.0, 70.0]


def test_the_table_has_one_row_per_completed_attempt_with_zone_labels(rubric) -> None:
    summaries = [
        attempt("The late start", 0, 40.0, zone="defensive", ending="unrepaired"),
        attempt("The empty room", 1, 66.666),
    ]
    table = history_chart(summaries, zone_labels(rubric)).table

    assert list(table.columns) == COLUMNS
    assert table.to_dict("records") == [
        {
            "Date": "2025-03-03 09:12",
            "Scenario": "The late start",
            "Score": 40.0,
            "Zone": "Defensive",
            "Ending": "unrepaired",
        },
        {
            "Date": "2025-03-04 09:12",
            "Scenario": "The empty room",
            "Score": 66.7,
            "Zone": "Balanced repair",
            "Ending": "repaired",
        },
    ]


def test_without_zone_labels_the_zone_id_is_shown(rubric) -> None:
    assert list(history_chart([attempt("The late start", 0, 40.0)]).table["Zone"]) == ["balanced"]


def test_the_alt_text_counts_attempts_and_scenarios_and_gives_the_latest(rubric) -> None:
    summaries = [
        attempt("The late start", 0, 40.0),
        attempt("The empty room", 1, 80.0),
        attempt("The late start", 2, 65.0),
    ]
    alt = history_chart(summaries, zone_labels(rubric)).alt

    assert "3 completed attempts" in alt and "2 scenarios" in alt
    assert "from 40 to 80" in alt
    assert "2025-03-05" in alt and "65" in alt and "The late start" in alt


def test_one_attempt_is_described_as_such(rubric) -> None:
    alt = history_chart([attempt("The late start", 0, 40.0)]).alt

    assert "one completed attempt" in alt and "40" in alt


def test_scenario_titles_are_shown_as_text_not_markup(rubric) -> None:
    figure = history_chart([attempt("<b>Bold</b> & co", 0, 50.0)]).figure

    assert has_trace(figure, "&lt;b&gt;Bold&lt;/b&gt; &amp; co")


def test_a_single_attempt_gets_a_readable_day_wide_time_axis(rubric) -> None:
    figure = history_chart([attempt("The late start", 0, 40.0)]).figure

    start, end = (datetime.fromisoformat(v) for v in figure.layout.xaxis.range)
    assert start < MONDAY < end and end - start == timedelta(days=2)
