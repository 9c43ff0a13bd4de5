"""What every chart shares: no UI dependency, a calm fixed look, text alternatives."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from engine import Report, Rubric, Scenario, best_path
from repairlab.charts import Chart, balance_chart, dimension_bars, history_chart, path_graph, zone_labels
from repairlab.services.practice import AttemptSummary

from .conftest import PROJECT_ROOT
from .support import assert_plotly_white, play


@pytest.fixture
def charts(rubric: Rubric, example: Scenario, mixed_report: Report) -> dict[str, Chart]:
    run = play(example, rubric, "own-it")
    done = AttemptSummary(
        id="a1",
        scenario_id=example.id,
        title=example.title,
        mode="coached",
        status="completed",
        started_at=datetime(2025, 3, 3, 9),
        completed_at=datetime(2025, 3, 3, 9, 10),
        ending="repaired",
        score=100.0,
        zone="balanced",
    )
    return {
        "balance": balance_chart(rubric, mixed_report.choices, mixed_report.means),
        "dimensions": dimension_bars(rubric, mixed_report.means),
        "path": path_graph(example, run.path, best_path(example, rubric).path),
        "history": history_chart([done], zone_labels(rubric)),
    }


def test_every_figure_passes_plotlys_full_validation(
    charts: dict[str, Chart], rubric: Rubric, example: Scenario, mixed_report: Report, best_run
) -> None:
    # The builders skip plotly's per-call validation for speed; this is where it happens instead.
    every = [
        *charts.values(),
        balance_chart(rubric, mixed_report.choices, comparison=best_run.outcomes),
        balance_chart(rubric, [], None),
        dimension_bars(rubric, {}),
        path_graph(example, []),
        history_chart([]),
    ]
    for chart in every:
        go.Figure(chart.figure.to_dict())  # raises ValueError on any unknown or invalid property


def test_the_chart_package_never_imports_streamlit() -> None:
    code = "import sys, repairlab.charts; print('streamlit' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT
    )

    assert result.stdout.strip() == "False"


def test_a_chart_is_a_frozen_figure_alt_and_table(charts: dict[str, Chart]) -> None:
    for chart in charts.values():
        assert isinstance(chart.figure, go.Figure)
        assert isinstance(chart.table, pd.DataFrame)
        assert isinstance(chart.alt, str) and chart.alt.endswith(".")
        with pytest.raises(dataclasses.FrozenInstanceError):
            chart.alt = "changed"  # type: ignore[misc]


def test_every_chart_has_a_short_alt_text_of_one_or_two_sentences(charts: dict[str, Chart]) -> None:
    for name, chart in charts.items():
        sentences = [s for s in chart.alt.replace("e.g.", "eg").split(". ") if s]
        assert 1 <= len(sentences) <= 2, (name, chart.alt)
        assert "<" not in chart.alt, (name, chart.alt)  # plain text for screen readers


def test_every_chart_is_calm_fixed_height_and_legible_on_a_projector(charts: dict[str, Chart]) -> None:
    white = pio.templates["plotly_white"].to_plotly_json()
    for name, chart in charts.items():
        layout = chart.figure.layout
        assert_plotly_white(chart.figure, white, name)
        assert isinstance(layout.height, int) and 300 <= layout.height <= 800, name
        assert layout.font.size >= 14, name
        assert layout.title.text, name


def test_no_chart_tells_its_legend_entries_apart_by_colour_alone(charts: dict[str, Chart]) -> None:
    for name, chart in charts.items():
        shown = [t for t in chart.figure.data if t.showlegend is not False]
        if chart.figure.layout.showlegend is False or not shown:
            continue
        looks = [
            (t.mode, t.marker.symbol if "markers" in t.mode else None, t.line.dash, t.line.width)
            for t in shown
        ]
        assert len(looks) == len(set(looks)), (name, looks)


def test_the_balance_charts_series_differ_by_symbol_and_text(
    rubric: Rubric, mixed_report: Report, best_run
) -> None:
    figure = balance_chart(
        rubric, mixed_report.choices, mixed_report.means, comparison=best_run.outcomes
    ).figure

    marked = [t for t in figure.data if "markers" in t.mode]
    assert len({t.marker.symbol for t in marked}) == len(marked) == 3
    labelled_by_annotation = {a.name for a in figure.layout.annotations}
    for series in marked:
        has_text = "text" in series.mode and all(series.text)
        assert has_text or f"{series.name.lower()}-label" in labelled_by_annotation, series.name
