"""The cohort chart builders: pure functions of small frames, read as a person reads them."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from repairlab.charts import Chart
from repairlab.charts.cohort import (
    choice_heatmap,
    dimension_radar,
    growth_chart,
    path_sankey,
    period_label,
    scores_over_time_chart,
    strategy_chart,
    trainee_trend_chart,
    zone_distribution_chart,
)
from repairlab.services.analytics import (
    CHOICE_COLUMNS,
    COHORT_PERIOD_COLUMNS,
    DIMENSION_COLUMNS,
    GROWTH_COLUMNS,
    OWN_COLUMNS,
    STRATEGY_COLUMNS,
    TRAINEE_PERIOD_COLUMNS,
    TRANSITION_COLUMNS,
    ZONE_COLUMNS,
)
from tests.charts.support import assert_plotly_white

ZONES = [("balanced", "Balanced repair"), ("over-apology", "Over-apology"), ("defensive", "Defensive"),
         ("dismissive", "Dismissive")]


def trace(fig, name: str):  # type: ignore[no-untyped-def]
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


@pytest.fixture
def trainee_periods() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("t1", "Ada <b>Alpha</b>", "2025-01-01", 21.74, 1, "att-a1-jan"),
            ("t1", "Ada <b>Alpha</b>", "2025-02-01", 100.0, 1, "att-a1-feb"),
            ("t2", "Ben Beta", "2025-01-01", 17.08, 2, "att-a2-jan"),
        ],
        columns=TRAINEE_PERIOD_COLUMNS,
    )


@pytest.fixture
def cohort_periods() -> pd.DataFrame:
    return pd.DataFrame([("2025-01-01", 21.74, 3, 2), ("2025-02-01", 100.0, 1, 1)], columns=COHORT_PERIOD_COLUMNS)


@pytest.fixture
def growth() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("t1", "Ada <b>Alpha</b>", 2, 21.74, "2025-01-10", "first-1", 100.0, "2025-02-05", "last-1", 78.26),
            ("t2", "Ben Beta", 3, 60.0, "2025-01-20", "first-2", 50.0, "2025-02-10", "last-2", -10.0),
        ],
        columns=GROWTH_COLUMNS,
    )


@pytest.fixture
def zone_periods() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("2025-01-01", "balanced", "Balanced repair", 2),
            ("2025-01-01", "over-apology", "Over-apology", 6),
            ("2025-02-01", "balanced", "Balanced repair", 9),
            ("2025-02-01", "defensive", "Defensive", 1),
        ],
        columns=ZONE_COLUMNS,
    )


@pytest.fixture
def dimensions() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("accountability", "Accountability", 0, 4, 4, 2.5, 12),
            ("self_focus", "Self-focus", 0, 4, 0, 1.0, 12),
            ("exploration", "Exploration", 0, 4, 4, 2.0, 12),
        ],
        columns=DIMENSION_COLUMNS,
    )


@pytest.fixture
def choices() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("first", "You don't remember", 1, 1, "own", "I forgot.", "balanced", "Balanced repair", 100.0, True, 3, 0.5),
            ("first", "You don't remember", 1, 2, "grovel", "Sorry!", "over-apology", "Over-apology", 26.4, False, 2,
             2 / 6),
            ("first", "You don't remember", 1, 3, "deny", "No.", "dismissive", "Dismissive", 17.08, False, 1, 1 / 6),
            ("second", "Right.", 2, 1, "own", "Tell me.", "balanced", "Balanced repair", 100.0, True, 1, 1 / 6),
            ("second", "Right.", 2, 2, "deny", "Move on.", "dismissive", "Dismissive", 17.08, False, 5, 5 / 6),
        ],
        columns=CHOICE_COLUMNS,
    )


@pytest.fixture
def transitions() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("first", "second", "first: You don't…", "second: Right.", 6, "own 3, grovel 2, deny 1"),
            ("second", "ending:repaired", "second: Right.", "Ending: repaired", 1, "own 1"),
            ("second", "ending:unrepaired", "second: Right.", "Ending: unrepaired", 5, "deny 5"),
        ],
        columns=TRANSITION_COLUMNS,
    )


@pytest.fixture
def strategies() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("acknowledge", "Acknowledge own contribution", 5, 5 / 12),
            ("redirect", "Redirect to other material", 4, 4 / 12),
            ("clarify", "Clarify a misunderstanding", 0, 0.0),
        ],
        columns=STRATEGY_COLUMNS,
    )


@pytest.fixture
def every_chart(trainee_periods, cohort_periods, growth, zone_periods, dimensions, choices, transitions,
                strategies) -> dict[str, Chart]:
    own = pd.DataFrame([("2025-01-01", 21.74, 1, "att-a1-jan")], columns=OWN_COLUMNS)
    return {
        "scores": scores_over_time_chart(trainee_periods, cohort_periods),
        "growth": growth_chart(growth),
        "zones": zone_distribution_chart(zone_periods, ZONES),
        "radar": dimension_radar(dimensions),
        "heatmap": choice_heatmap(choices),
        "sankey": path_sankey(transitions),
        "strategies": strategy_chart(strategies),
        "trend": trainee_trend_chart(own, cohort_periods),
    }


def empty_charts() -> dict[str, Chart]:
    return {
        "scores": scores_over_time_chart(pd.DataFrame(columns=TRAINEE_PERIOD_COLUMNS),
                                         pd.DataFrame(columns=COHORT_PERIOD_COLUMNS)),
        "growth": growth_chart(pd.DataFrame(columns=GROWTH_COLUMNS)),
        "zones": zone_distribution_chart(pd.DataFrame(columns=ZONE_COLUMNS), ZONES),
        "radar": dimension_radar(pd.DataFrame(columns=DIMENSION_COLUMNS)),
        "heatmap": choice_heatmap(pd.DataFrame(columns=CHOICE_COLUMNS)),
        "sankey": path_sankey(pd.DataFrame(columns=TRANSITION_COLUMNS)),
        "strategies": strategy_chart(pd.DataFrame(columns=STRATEGY_COLUMNS)),
        "trend": trainee_trend_chart(pd.DataFrame(columns=OWN_COLUMNS), pd.DataFrame(columns=COHORT_PERIOD_COLUMNS)),
    }


def test_every_chart_follows_the_house_conventions(every_chart) -> None:
    white = pio.templates["plotly_white"].to_plotly_json()
    for name, chart in {**every_chart, **{f"empty {k}": v for k, v in empty_charts().items()}}.items():
        layout = chart.figure.layout
        assert isinstance(chart.table, pd.DataFrame), name
        assert_plotly_white(chart.figure, white, name)
        assert isinstance(layout.height, int) and 300 <= layout.height <= 800, name
        assert layout.font.size >= 14 and layout.title.text, name
        sentences = [s for s in chart.alt.split(". ") if s]
        assert chart.alt.endswith(".") and 1 <= len(sentences) <= 2, (name, chart.alt)
        assert "<" not in chart.alt, (name, chart.alt)


def test_empty_data_gives_a_notice_and_an_empty_table_with_its_columns() -> None:
    for name, chart in empty_charts().items():
        assert chart.table.empty and len(chart.table.columns) >= 3, name
        assert chart.figure.layout.annotations, name


def test_scores_over_time_draws_thin_trainee_lines_a_thick_median_and_counts(trainee_periods, cohort_periods) -> None:
    chart = scores_over_time_chart(trainee_periods, cohort_periods)
    lines = trace(chart.figure, "Each trainee (mean per period)")
    median = trace(chart.figure, "Cohort median")
    counts = trace(chart.figure, "Attempts (right axis)")

    assert median.line.width > 3 * lines.line.width and median.marker.symbol == "diamond"
    assert list(median.y) == [21.74, 100.0] and list(median.text) == ["n=3", "n=1"]
    assert list(counts.y) == [3, 1] and counts.yaxis == "y2"
    # one polyline per trainee, separated by a gap (no x, no y); each point carries its attempt id first
    assert list(lines.x) == ["2025-01-01", "2025-02-01", "", "2025-01-01"]
    assert math.isnan(lines.y[2]) and list(lines.y[:2]) == [21.7, 100.0] and lines.connectgaps is False
    assert [row[0] for row in lines.customdata] == ["att-a1-jan", "att-a1-feb", "", "att-a2-jan"]
    assert lines.customdata[0][1] == "Ada &lt;b&gt;Alpha&lt;/b&gt;"  # names are shown as text
    assert list(chart.table.columns) == ["Period", "Series", "Score", "Attempts", "Trainees"]
    assert chart.table.iloc[0].tolist() == ["Jan 2025", "Cohort median", 21.7, 3, 2]
    assert "from 21.7 in Jan 2025 to 100 in Feb 2025" in chart.alt


def test_growth_is_a_dumbbell_from_first_to_latest_labelled_with_the_change(growth) -> None:
    chart = growth_chart(growth)
    first, latest = trace(chart.figure, "First attempt"), trace(chart.figure, "Latest attempt")

    assert first.marker.symbol != latest.marker.symbol
    assert list(first.customdata) == ["first-1", "first-2"] and list(latest.customdata) == ["last-1", "last-2"]
    assert list(latest.text) == ["+78", "-10"]
    assert list(first.y) == ["Ada &lt;b&gt;Alpha&lt;/b&gt;", "Ben Beta"]
    assert "1 improved" in chart.alt and chart.table["Change"].tolist() == [78.3, -10.0]


def test_growth_with_many_trainees_shows_the_extremes_and_says_so() -> None:
    rows = [(f"t{i}", f"Trainee {i:02d}", 2, 50.0, "2025-01-01", f"f{i}", 50.0 + i, "2025-02-01", f"l{i}", float(i))
            for i in range(100)]
    chart = growth_chart(pd.DataFrame(rows, columns=GROWTH_COLUMNS), max_rows=10)

    shown = list(trace(chart.figure, "Latest attempt").y)
    assert len(shown) == 10 and "Trainee 99" in shown and "Trainee 00" in shown
    assert len(chart.table) == 100 and "the table lists all" in chart.alt


def test_zones_are_stacked_shares_with_a_pattern_and_a_label_each(zone_periods) -> None:
    chart = zone_distribution_chart(zone_periods, ZONES)
    bars = [t for t in chart.figure.data if t.type == "bar"]

    assert chart.figure.layout.barmode == "stack"
    assert [b.name for b in bars] == ["Balanced repair", "Over-apology", "Defensive"]
    assert len({b.marker.pattern.shape for b in bars}) == len(bars)  # not colour alone
    balanced = trace(chart.figure, "Balanced repair")
    assert list(balanced.y) == pytest.approx([25.0, 90.0]) and list(balanced.text) == ["25%", "90%"]
    shares = chart.table.groupby("Period")["Share"].sum()
    assert list(shares) == pytest.approx([1.0, 1.0])
    assert "from 25% in Jan 2025 to 90% in Feb 2025" in chart.alt


def test_the_radar_closes_both_shapes_and_names_the_furthest_dimension(dimensions) -> None:
    chart = dimension_radar(dimensions)
    mean, ideal = trace(chart.figure, "Cohort mean"), trace(chart.figure, "Ideal")

    assert list(mean.r) == [2.5, 1.0, 2.0, 2.5] and list(ideal.r) == [4, 0, 4, 4]
    assert ideal.line.dash == "dash" and mean.line.dash is None
    assert list(chart.figure.layout.polar.radialaxis.range) == [0, 4]
    assert "furthest from the ideal: Exploration" in chart.alt


def test_dimensions_of_different_ranges_are_drawn_as_percentages(dimensions) -> None:
    widened = dimensions.copy()
    widened.loc[2, ["max", "ideal", "mean"]] = [10, 10, 5.0]
    mean = trace(dimension_radar(widened).figure, "Cohort mean")
    assert list(mean.r) == pytest.approx([62.5, 25.0, 50.0, 62.5])


def test_the_heatmap_labels_each_cell_and_stars_the_best_response(choices) -> None:
    chart = choice_heatmap(choices)
    heat = chart.figure.data[0]

    assert list(heat.x) == ["Choice 1", "Choice 2", "Choice 3"]
    assert list(heat.y) == ["D1 You don't remember", "D2 Right."]
    assert list(heat.z[0]) == [50.0, 33.3, 16.7] and heat.z[1][2] is None
    assert heat.text[0][0] == "own ★<br>50% (3)" and heat.text[1][1] == "deny<br>83% (5)"
    assert choice_heatmap(choices.assign(choice="take-the-reassurance")).figure.data[0].text[0][0].startswith(
        "take-the-<br>reassurance"
    )
    assert "least often at decision D2" in chart.alt
    assert chart.table["Picks"].tolist() == [3, 2, 1, 1, 5]


def test_the_sankey_links_carry_the_counts_and_the_endings_are_named(transitions) -> None:
    chart = path_sankey(transitions)
    sankey = chart.figure.data[0]

    assert list(sankey.node.label) == ["first", "second", "Ending: repaired", "Ending: unrepaired"]
    assert list(sankey.node.customdata)[:2] == ["first: You don't…", "second: Right."]
    assert list(sankey.link.value) == [6, 1, 5] and list(sankey.link.source) == [0, 1, 1]
    assert "ending unrepaired 5 times and repaired 1 time" in chart.alt


def test_strategies_are_sorted_labelled_and_the_unused_named(strategies) -> None:
    chart = strategy_chart(strategies)
    bars = chart.figure.data[0]

    assert list(bars.x) == [5, 4, 0] and bars.text[0] == "42% (5)"
    assert "never used: Clarify a misunderstanding" in chart.alt


def test_the_trainee_trend_shows_own_line_and_an_anonymous_median(cohort_periods) -> None:
    own = pd.DataFrame([("2025-02-01", 80.0, 2, "mine-2")], columns=OWN_COLUMNS)
    chart = trainee_trend_chart(own, cohort_periods)
    you, median = trace(chart.figure, "You"), trace(chart.figure, "Cohort median (anonymous)")

    assert list(you.customdata) == ["mine-2"] and median.customdata is None
    assert median.line.dash == "dash" and you.line.dash is None
    assert chart.table.to_dict("records")[1] == {
        "Period": "Feb 2025", "Your mean score": 80.0, "Your attempts": 2, "Cohort median": 100.0,
        "Cohort trainees": 1,
    }
    assert "against a cohort median of 100" in chart.alt


def test_period_labels() -> None:
    assert period_label("2025-09-01") == "Sep 2025"
    assert period_label("2025-09-01", "week") == "week of 1 Sep 2025"


def test_every_figure_is_valid_plotly(every_chart) -> None:
    """The builders skip plotly's per-call validation (`_style.Draft`); validate the result in full here."""
    for name, chart in {**every_chart, **empty_charts()}.items():
        go.Figure(chart.figure.to_dict())  # raises on any invalid property
        assert chart.figure.to_json(), name
