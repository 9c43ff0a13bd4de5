"""Cohort charts for the supervisors' dashboard and a trainee's trend: pure plotly + pandas.

Each builder takes the small frames `repairlab.services.analytics` returns
(their columns are listed on `Dashboard` and `Trend`) and gives back a
:class:`~repairlab.charts.Chart`. Points that stand for one attempt carry its
id in ``customdata`` so the dashboard can open that attempt's debrief when a
point is clicked. Nothing is told by colour alone: series differ by line
width and dash, marker symbol, bar pattern or a text label.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from . import Chart
from ._style import (
    AMBER,
    BLUE,
    GREEN,
    GRID,
    INK,
    MUTED,
    PURPLE,
    SMALL,
    VERMILLION,
    Draft,
    bar,
    base_layout,
    empty_notice,
    esc,
    fmt,
    join_words,
    plural,
    scatter,
)

HEIGHT = 480
MAX_GROWTH_ROWS = 40
ZONE_COLOURS = {"balanced": GREEN, "over-apology": AMBER, "defensive": VERMILLION, "dismissive": PURPLE}
OTHER_COLOURS = (BLUE, MUTED, INK)
PATTERNS = ("", "/", "x", ".", "\\", "+", "-", "|")
THIN = "rgba(107, 114, 128, 0.45)"


# -- helpers ----------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def period_label(period: str, grain: str = "month") -> str:
    """'2025-09-01' -> 'Sep 2025' (months) or 'week of 1 Sep 2025' (weeks)."""
    moment = pd.Timestamp(period)
    if grain == "week":
        return f"week of {moment.day} {moment:%b %Y}"
    return f"{moment:%b %Y}"


@lru_cache(maxsize=64)
def _row_type(columns: tuple[str, ...]) -> type:
    return namedtuple("Row", columns, rename=True)  # type: ignore[misc]


def _rows(frame: pd.DataFrame) -> list:
    """The rows as named tuples, like ``frame.itertuples(index=False)`` with plain Python values,
    but without its per-call class and per-row indexing (an order of magnitude faster here)."""
    row = _row_type(tuple(frame.columns))
    return list(map(row._make, zip(*(frame[column].tolist() for column in frame.columns), strict=True)))


def _dates(periods: Sequence[str]) -> list[pd.Timestamp]:
    return [pd.Timestamp(p) for p in periods]


def _pct(share: float) -> str:
    return f"{fmt(100 * share, 0)}%"


def _empty(title: str, notice: str, alt: str, columns: Sequence[str], height: int = HEIGHT) -> Chart:
    fig = Draft()
    base_layout(fig, title=title, height=height)
    empty_notice(fig, notice)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return Chart(fig.build(), alt, pd.DataFrame(columns=list(columns)))


def _score_axis(fig: Draft, title: str = "Attempt score (0-100)") -> None:
    fig.update_yaxes(title={"text": title}, range=[0, 100], dtick=20, fixedrange=True, gridcolor=GRID)


# -- scores over time -------------------------------------------------------------------------------


SCORES_COLUMNS = ["Period", "Series", "Score", "Attempts", "Trainees"]


def scores_over_time_chart(
    trainee_periods: pd.DataFrame,
    cohort_periods: pd.DataFrame,
    grain: str = "month",
    title: str = "Attempt scores over time",
) -> Chart:
    """Each trainee's mean score per period (thin lines) and the cohort median (thick), with counts.

    The number of attempts per period is drawn as light patterned bars on a
    right-hand axis, and written in the hover text and the table. A trainee
    point's ``customdata`` is the id of that trainee's latest attempt in the period.
    """
    if cohort_periods.empty:
        return _empty(title, "No completed attempts in this selection",
                      "No completed attempts in this selection, so there are no scores to show over time.",
                      SCORES_COLUMNS)
    fig = Draft()
    base_layout(fig, title=title, height=HEIGHT, show_legend=True)
    fig.update_layout(
        legend={"y": 1.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        margin={"l": 70, "r": 80, "t": 110, "b": 60},
        title={"y": 0.97, "yanchor": "top"},
        # The counts stay in the lower part of the plot, on whole-number ticks of their own.
        yaxis2={"title": {"text": "Attempts"}, "overlaying": "y", "side": "right", "showgrid": False,
                "range": [0, 2.5 * max(1, int(cohort_periods["attempts"].max()))], "tickformat": "d",
                "tickmode": "auto", "nticks": 4, "fixedrange": True},
        bargap=0.35,
    )
    cohort = cohort_periods.sort_values("period")
    fig.add_trace(
        bar(
            name="Attempts (right axis)",
            x=cohort["period"].tolist(),
            y=[int(n) for n in cohort["attempts"]],
            yaxis="y2",
            marker={"color": "rgba(11, 83, 148, 0.10)", "line": {"color": "rgba(11, 83, 148, 0.35)", "width": 1},
                    "pattern": {"shape": ".", "fgcolor": "rgba(11, 83, 148, 0.35)", "size": 6}},
            hovertemplate="%{x|%b %Y}: %{y} attempts<extra></extra>",
        )
    )
    trainees = trainee_periods.sort_values(["trainee", "trainee_key", "period"])
    many = trainees["trainee_key"].nunique() > 60
    # One trace for every trainee's line, a gap point (no x, no y) between trainees, with a light
    # payload: per point only the period, the rounded mean and [attempt id, name, attempts].
    # Everything is a numpy array of numbers or fixed-width text, which plotly copies, checks and
    # serialises in one piece (object arrays and lists go element by element, several times).
    keys = trainees["trainee_key"].tolist()
    names = trainees["trainee"].tolist()
    periods = trainees["period"].tolist()
    means = trainees["mean_score"].tolist()
    counts = trainees["attempts"].tolist()
    ids = trainees["attempt_id"].tolist()
    if keys:
        starts = [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]  # a gap goes before each
        slots = np.arange(len(keys)) + np.searchsorted(np.array(starts, dtype=np.int64), np.arange(len(keys)),
                                                       side="right")
        size = len(keys) + len(starts)
        shown = {name: esc(name) for name in set(names)}
        x = np.full(size, "", dtype=f"<U{max(len(p) for p in periods)}")
        x[slots] = periods
        y = np.full(size, np.nan)
        y[slots] = np.round(np.array(means, dtype=float), 1)
        customdata = np.full((size, 3), "", dtype=f"<U{max(max(len(i) for i in ids), max(map(len, shown.values())), 6)}")
        customdata[:, 2] = "0"
        customdata[slots] = np.column_stack(
            [ids, [shown[name] for name in names], [str(int(n)) for n in counts]]
        )
        fig.add_trace(
            scatter(
                name="Each trainee (mean per period)",
                x=x,
                y=y,
                customdata=customdata,
                mode="lines" if many else "lines+markers",
                line={"color": THIN, "width": 1},
                marker={"symbol": "circle", "size": 6, "color": THIN},
                hovertemplate="<b>%{customdata[1]}</b><br>%{x|%b %Y}: mean %{y}<br>%{customdata[2]} attempt(s)"
                "<br>Click to open the latest<extra></extra>",
                connectgaps=False,
            )
        )
    few = len(cohort) <= 18
    fig.add_trace(
        scatter(
            name="Cohort median",
            x=cohort["period"].tolist(),
            y=[round(float(v), 2) for v in cohort["median_score"]],
            mode="lines+markers+text" if few else "lines+markers",
            text=[f"n={int(n)}" for n in cohort["attempts"]] if few else None,
            textposition="top center",
            textfont={"size": SMALL - 2, "color": INK},
            line={"color": BLUE, "width": 4.5},
            marker={"symbol": "diamond", "size": 11, "color": BLUE, "line": {"color": "white", "width": 1}},
            hovertext=[
                f"<b>Cohort median</b><br>{period_label(r.period, grain)}<br>Median {fmt(r.median_score)}"
                f"<br>{plural(int(r.attempts), 'attempt')} by {plural(int(r.trainees), 'trainee')}"
                for r in _rows(cohort)
            ],
            hovertemplate="%{hovertext}<extra></extra>",
            cliponaxis=False,
        )
    )
    _score_axis(fig)
    fig.update_xaxes(title={"text": "Period"}, type="date", fixedrange=True)
    table = pd.DataFrame(
        {
            "Period": [period_label(p, grain) for p in cohort["period"].tolist() + periods],
            "Series": ["Cohort median"] * len(cohort) + names,
            "Score": np.round(np.array(cohort["median_score"].tolist() + means, dtype=float), 1),
            "Attempts": np.array(cohort["attempts"].tolist() + counts, dtype=np.int64),
            "Trainees": np.array(cohort["trainees"].tolist() + [1] * len(names), dtype=np.int64),
        },
        columns=SCORES_COLUMNS,
    )
    first, last = cohort.iloc[0], cohort.iloc[-1]
    total = int(cohort["attempts"].sum())
    alt = (
        f"Attempt scores of {plural(trainees['trainee_key'].nunique(), 'trainee')} over "
        f"{plural(len(cohort), 'period')} ({plural(total, 'attempt')}): the cohort median went from "
        f"{fmt(first.median_score)} in {period_label(first.period, grain)} to {fmt(last.median_score)} in "
        f"{period_label(last.period, grain)}."
    )
    return Chart(fig.build(), alt, table)


# -- growth: first vs latest ----------------------------------------------------------------------


GROWTH_TABLE = ["Trainee", "Attempts", "First score", "First date", "Latest score", "Latest date", "Change"]


def growth_chart(growth: pd.DataFrame, title: str = "Growth: first against latest attempt",
                 max_rows: int = MAX_GROWTH_ROWS) -> Chart:
    """A dumbbell per trainee: first attempt (open circle) to latest (filled diamond), labelled with the change.

    With more trainees than `max_rows`, the chart shows the half with the
    largest gains and the half with the smallest (the table lists everyone).
    Each marker's ``customdata`` is that attempt's id.
    """
    if growth.empty:
        return _empty(title, "No trainee has two completed attempts yet",
                      "No trainee has two completed attempts in this selection yet, so there is no growth to show.",
                      GROWTH_TABLE, height=320)
    ordered = growth.sort_values(["change", "trainee"], ascending=[False, True]).reset_index(drop=True)
    shown = ordered
    if len(ordered) > max_rows:
        half = max_rows // 2
        shown = pd.concat([ordered.head(half), ordered.tail(max_rows - half)])
    names = [esc(n) for n in shown["trainee"]]
    # Two trainees may share a name: make the row labels unique without hiding who is who.
    seen: dict[str, int] = {}
    labels = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        labels.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    height = max(320, min(800, 140 + 24 * len(shown)))
    fig = Draft()
    base_layout(fig, title=title, height=height, show_legend=True)
    fig.update_layout(
        legend={"y": 1.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        margin={"l": 170, "r": 60, "t": 100, "b": 60},
        title={"y": 0.98, "yanchor": "top"},
    )
    xs: list = []
    ys: list = []
    shown_rows = _rows(shown)
    for label, row in zip(labels, shown_rows, strict=True):
        xs += [row.first_score, row.latest_score, None]
        ys += [label, label, None]
    fig.add_trace(scatter(name="Change", x=xs, y=ys, mode="lines", line={"color": MUTED, "width": 2},
                             hoverinfo="skip", showlegend=False))
    fig.add_trace(
        scatter(
            name="First attempt",
            x=shown["first_score"].tolist(),
            y=labels,
            customdata=shown["first_attempt"].tolist(),
            mode="markers",
            marker={"symbol": "circle-open", "size": 11, "color": INK, "line": {"width": 2}},
            hovertext=[f"<b>{n}</b><br>First attempt, {r.first_at}: {fmt(r.first_score)}"
                       for n, r in zip(names, shown_rows, strict=True)],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    fig.add_trace(
        scatter(
            name="Latest attempt",
            x=shown["latest_score"].tolist(),
            y=labels,
            customdata=shown["latest_attempt"].tolist(),
            mode="markers+text",
            text=[("+" if c > 0 else "") + fmt(c, 0) for c in shown["change"]],
            textposition=["middle right" if c >= 0 else "middle left" for c in shown["change"]],
            textfont={"size": SMALL - 2, "color": INK},
            marker={"symbol": "diamond", "size": 12, "color": BLUE, "line": {"color": "white", "width": 1}},
            hovertext=[
                f"<b>{n}</b><br>Latest attempt, {r.latest_at}: {fmt(r.latest_score)}<br>"
                f"Change {fmt(r.change)} over {plural(int(r.attempts), 'attempt')}"
                for n, r in zip(names, shown_rows, strict=True)
            ],
            hovertemplate="%{hovertext}<extra></extra>",
            cliponaxis=False,
        )
    )
    fig.update_xaxes(title={"text": "Attempt score (0-100)"}, range=[0, 105], dtick=20, fixedrange=True)
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], fixedrange=True, ticksuffix="  ")
    def rounded(column: str) -> list[float]:
        return [round(float(v), 1) for v in ordered[column].tolist()]

    table = pd.DataFrame(
        {
            "Trainee": ordered["trainee"].tolist(),
            "Attempts": [int(n) for n in ordered["attempts"].tolist()],
            "First score": rounded("first_score"),
            "First date": ordered["first_at"].tolist(),
            "Latest score": rounded("latest_score"),
            "Latest date": ordered["latest_at"].tolist(),
            "Change": rounded("change"),
        },
        columns=GROWTH_TABLE,
    )
    improved = int((ordered["change"] > 0).sum())
    median_change = float(ordered["change"].median())
    alt = (
        f"First against latest attempt score for {plural(len(ordered), 'trainee')}: {improved} improved, "
        f"with a median change of {fmt(median_change)} points."
    )
    if len(shown) < len(ordered):
        alt = alt[:-1] + f"; the chart shows the {len(shown)} largest and smallest changes, the table lists all."
    return Chart(fig.build(), alt, table)


# -- zones over time --------------------------------------------------------------------------------


ZONE_TABLE = ["Period", "Zone", "Count", "Share"]


def zone_distribution_chart(
    zone_periods: pd.DataFrame,
    zones: Sequence[tuple[str, str]],
    grain: str = "month",
    unit: str = "response",
    title: str = "Zones over time",
) -> Chart:
    """Stacked 100% bars per period, one patterned segment per zone, labelled with its share.

    `zones` is (zone id, label) in rubric order; the first is drawn at the bottom.
    """
    if zone_periods.empty:
        return _empty(title, "Nothing to show in this selection",
                      f"No {unit}s in this selection, so there is no zone distribution to show.", ZONE_TABLE)
    known = [z for z, _ in zones]
    labels = dict(zones)
    for zone in zone_periods["zone"]:
        if zone not in labels:
            known.append(zone)
            labels[zone] = str(zone)
    periods = sorted(zone_periods["period"].unique().tolist())
    totals = zone_periods.groupby("period")["responses"].sum().to_dict()
    counts = {(r.period, r.zone): int(r.responses) for r in _rows(zone_periods)}
    fig = Draft()
    base_layout(fig, title=title, height=HEIGHT, show_legend=True)
    fig.update_layout(
        barmode="stack",
        bargap=0.25,
        legend={"y": 1.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left", "traceorder": "normal"},
        margin={"l": 70, "r": 30, "t": 110, "b": 60},
        title={"y": 0.97, "yanchor": "top"},
    )
    dense = len(periods) > 14
    for index, zone in enumerate(z for z in known if any((p, z) in counts for p in periods)):
        shares = [counts.get((p, zone), 0) / totals[p] if totals.get(p) else 0 for p in periods]
        colour = ZONE_COLOURS.get(zone, OTHER_COLOURS[index % len(OTHER_COLOURS)])
        fig.add_trace(
            bar(
                name=esc(labels[zone]),
                x=periods,  # 'YYYY-MM-DD' text: a date axis reads it, and it copies fast
                y=[100 * s for s in shares],
                text=[_pct(s) if s >= (0.12 if dense else 0.07) else "" for s in shares],
                textposition="inside",
                insidetextanchor="middle",
                textfont={"size": SMALL - 2, "color": "white"},
                marker={"color": colour, "line": {"color": "white", "width": 1},
                        "pattern": {"shape": PATTERNS[index % len(PATTERNS)], "fgcolor": "rgba(255,255,255,0.55)",
                                    "size": 8, "solidity": 0.25}},
                customdata=[counts.get((p, zone), 0) for p in periods],
                hovertemplate=f"<b>{esc(labels[zone])}</b><br>%{{x|%b %Y}}: %{{y:.0f}}% "
                f"(%{{customdata}} {unit}s)<extra></extra>",
            )
        )
    fig.update_yaxes(title={"text": f"Share of {unit}s (%)"}, range=[0, 100], dtick=25, fixedrange=True)
    fig.update_xaxes(title={"text": "Period"}, type="date", fixedrange=True)
    rows = []
    for p in periods:
        for zone in known:
            if (p, zone) in counts:
                rows.append((period_label(p, grain), labels[zone], counts[(p, zone)],
                             round(counts[(p, zone)] / totals[p], 3)))
    table = pd.DataFrame(rows, columns=ZONE_TABLE)
    first, last = periods[0], periods[-1]
    ideal = known[0] if known else None
    if ideal is not None and first != last:
        a = counts.get((first, ideal), 0) / totals[first]
        b = counts.get((last, ideal), 0) / totals[last]
        alt = (
            f"Share of {unit}s in each zone over {plural(len(periods), 'period')}: "
            f"{labels[ideal]} went from {_pct(a)} in {period_label(first, grain)} to {_pct(b)} in "
            f"{period_label(last, grain)}."
        )
    else:
        shares = {labels[z]: counts.get((first, z), 0) / totals[first] for z in known if (first, z) in counts}
        alt = f"Share of {unit}s in each zone in {period_label(first, grain)}: " + join_words(
            f"{name} {_pct(s)}" for name, s in shares.items()) + "."
    return Chart(fig.build(), alt, table)


# -- radar: dimension means against the ideal -----------------------------------------------------------


RADAR_TABLE = ["Dimension", "Cohort mean", "Ideal", "Range", "Gap to ideal"]


def dimension_radar(dimensions: pd.DataFrame, title: str = "Each dimension against the ideal") -> Chart:
    """The cohort's mean on each rubric dimension (solid, filled) against the ideal (dashed).

    Dimensions sharing one range are drawn on it; otherwise every axis shows
    the percentage of its own range.
    """
    present = dimensions.dropna(subset=["mean"]) if not dimensions.empty else dimensions
    if present.empty:
        return _empty(title, "No responses in this selection",
                      "No responses in this selection, so there are no dimension means to compare with the ideal.",
                      RADAR_TABLE)
    same = present["min"].nunique() == 1 and present["max"].nunique() == 1
    low, high = (int(present["min"].iloc[0]), int(present["max"].iloc[0])) if same else (0, 100)

    def scaled(value: float, row) -> float:  # type: ignore[no-untyped-def]
        return float(value) if same else 100 * (float(value) - row.min) / ((row.max - row.min) or 1)

    labels = [esc(label) for label in present["label"]]
    means = [scaled(r.mean, r) for r in _rows(present)]
    ideals = [scaled(r.ideal, r) for r in _rows(present)]
    fig = Draft()
    base_layout(fig, title=title, height=HEIGHT, show_legend=True)
    fig.update_layout(
        legend={"y": -0.05, "yanchor": "top", "x": 0.0, "xanchor": "left"},
        margin={"l": 110, "r": 110, "t": 80, "b": 80},
        polar={"radialaxis": {"range": [low, high], "dtick": 1 if same and high - low <= 10 else None,
                              "gridcolor": GRID, "angle": 90, "tickfont": {"size": SMALL - 2}},
               "angularaxis": {"gridcolor": GRID, "tickfont": {"size": SMALL}}},
    )
    fig.add_trace(
        dict(type="scatterpolar",
            name="Ideal",
            r=ideals + ideals[:1],
            theta=labels + labels[:1],
            mode="lines+markers",
            line={"color": INK, "width": 2, "dash": "dash"},
            marker={"symbol": "diamond", "size": 10, "color": INK},
            hovertemplate="<b>%{theta}</b><br>Ideal %{r}<extra></extra>",
        )
    )
    fig.add_trace(
        dict(type="scatterpolar",
            name="Cohort mean",
            r=means + means[:1],
            theta=labels + labels[:1],
            mode="lines+markers",
            fill="toself",
            fillcolor="rgba(11, 83, 148, 0.15)",
            line={"color": BLUE, "width": 3},
            marker={"symbol": "circle", "size": 9, "color": BLUE},
            hovertemplate="<b>%{theta}</b><br>Cohort mean %{r:.2f}<extra></extra>",
        )
    )
    rows = [
        (r.label, round(float(r.mean), 2), int(r.ideal), f"{int(r.min)}–{int(r.max)}",
         round(abs(float(r.mean) - r.ideal), 2))
        for r in _rows(present)
    ]
    table = pd.DataFrame(rows, columns=RADAR_TABLE)
    gaps = {r.label: abs(float(r.mean) - r.ideal) / ((r.max - r.min) or 1) for r in _rows(present)}
    parts = join_words(f"{r.label} {fmt(r.mean, 2)} (ideal {int(r.ideal)})" for r in _rows(present))
    alt = f"Cohort mean on each dimension against the ideal: {parts}."
    if len(gaps) > 1 and max(gaps.values()) > min(gaps.values()):
        alt = alt[:-1] + f"; furthest from the ideal: {max(gaps, key=gaps.__getitem__)}."
    return Chart(fig.build(), alt, table)


# -- one scenario: choice heatmap and paths -------------------------------------------------------------


HEATMAP_TABLE = ["Decision", "Node", "Choice", "Zone", "Choice score", "Best on offer", "Picks", "Share"]


def choice_heatmap(choices: pd.DataFrame, title: str = "Which response was chosen at each decision") -> Chart:
    """Rows are decisions (in scenario order), columns the choices in authored order; each cell
    is labelled with the choice id, its share of picks and the count; ★ marks the best response."""
    if choices.empty or int(choices["picks"].sum()) == 0:
        return _empty(title, "No responses to this scenario in this selection",
                      "No responses to this scenario in this selection, so there is no heatmap to show.",
                      HEATMAP_TABLE)
    decisions = (
        choices[["decision", "node", "node_label"]].drop_duplicates().sort_values(["decision", "node"])
    )
    rows = [f"D{int(d.decision)} {esc(_short(d.node_label, 26))}" for d in _rows(decisions)]
    width = int(choices["position"].clip(upper=12).max())
    columns = [f"Choice {i}" for i in range(1, width + 1)]
    z: list[list] = [[None] * width for _ in rows]
    text: list[list] = [[""] * width for _ in rows]
    hover: list[list] = [[""] * width for _ in rows]
    index = {node: i for i, node in enumerate(decisions["node"])}
    for c in _rows(choices):
        i, j = index[c.node], min(int(c.position), 12) - 1
        z[i][j] = round(100 * float(c.share), 1)
        star = " ★" if c.best else ""
        text[i][j] = f"{_wrap_id(esc(c.choice))}{star}<br>{_pct(c.share)} ({int(c.picks)})"
        hover[i][j] = (
            f"<b>{esc(c.choice)}</b>{star} · {esc(c.zone_label)}<br>{esc(_short(c.choice_text, 90))}"
            f"<br>Picked {int(c.picks)} times ({_pct(c.share)})"
            + (f"<br>Choice score {fmt(c.choice_score)}" if c.choice_score is not None and c.choice_score == c.choice_score else "")
        )
    height = max(340, min(800, 150 + 90 * len(rows)))
    fig = Draft()
    fig.add_trace(
        dict(type="heatmap",
            z=z,
            x=columns,
            y=rows,
            text=text,
            texttemplate="%{text}",
            textfont={"size": SMALL - 2},
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            colorscale=[[0, "#F3F6FA"], [1, "#0B5394"]],
            zmin=0,
            zmax=100,
            xgap=3,
            ygap=3,
            showscale=False,  # every cell says its share
        )
    )
    base_layout(fig, title=title, height=height)
    fig.update_layout(margin={"l": 220, "r": 20, "t": 90, "b": 30})
    fig.update_yaxes(autorange="reversed", fixedrange=True, ticksuffix="  ")
    fig.update_xaxes(side="top", fixedrange=True)
    table = pd.DataFrame(
        [
            (f"D{int(c.decision)}", c.node, c.choice, c.zone_label,
             None if c.choice_score is None or c.choice_score != c.choice_score else round(float(c.choice_score), 1),
             "yes" if c.best else "", int(c.picks), round(float(c.share), 3))
            for c in _rows(choices.sort_values(["decision", "position"]))
        ],
        columns=HEATMAP_TABLE,
    )
    best = choices[choices["best"]]
    best_share = float(best["picks"].sum()) / float(choices["picks"].sum()) if len(best) else 0.0
    hardest = None
    if len(best):
        by_node = best.groupby("decision")["share"].sum()
        hardest = int(by_node.idxmin())
    alt = (
        f"How often each response was chosen at the {plural(len(rows), 'decision')} of this scenario: the best "
        f"response on offer was chosen {_pct(best_share)} of the time overall."
    )
    if hardest is not None and len(rows) > 1:
        alt = alt[:-1] + f", least often at decision D{hardest}."
    return Chart(fig.build(), alt, table)


def _wrap_id(text: str, width: int = 11) -> str:
    """A long slug broken at its hyphens onto lines of about `width` characters."""
    lines, line = [], ""
    for part in text.split("-"):
        piece = part if not line else f"{line}-{part}"
        if line and len(piece) > width:
            lines.append(line + "-")
            line = part
        else:
            line = piece
    lines.append(line)
    return "<br>".join(lines)


def _short(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


SANKEY_TABLE = ["From", "To", "Attempts", "Choices"]


def path_sankey(transitions: pd.DataFrame, title: str = "Paths through the scenario") -> Chart:
    """Node-to-node transitions with the number of attempts that took each; endings on the right."""
    if transitions.empty:
        return _empty(title, "No paths in this selection",
                      "No attempts at this scenario in this selection, so there are no paths to show.",
                      SANKEY_TABLE)
    nodes: list[str] = []
    labels: dict[str, str] = {}
    for r in _rows(transitions):
        for key, label in ((r.source, r.source_label), (r.target, r.target_label)):
            if key not in labels:
                nodes.append(key)
                labels[key] = label
    position = {key: i for i, key in enumerate(nodes)}
    ending_colour = {"ending:repaired": GREEN, "ending:partial": AMBER, "ending:unrepaired": VERMILLION}
    fig = Draft()
    fig.add_trace(
        dict(type="sankey",
            arrangement="snap",
            node={
                "label": [esc(labels[k]) if k.startswith("ending:") else esc(k) for k in nodes],
                "customdata": [esc(labels[k]) for k in nodes],
                "pad": 14,
                "thickness": 16,
                "color": [ending_colour.get(k, BLUE if not k.startswith("ending:") else MUTED) for k in nodes],
                "line": {"color": INK, "width": 0.5},
                "hovertemplate": "%{customdata}<br>%{value} attempts<extra></extra>",
            },
            link={
                "source": [position[s] for s in transitions["source"]],
                "target": [position[t] for t in transitions["target"]],
                "value": [int(v) for v in transitions["attempts"]],
                "color": "rgba(107, 114, 128, 0.25)",
                "customdata": [esc(c) or "narration" for c in transitions["choices"]],
                "hovertemplate": "%{source.label} → %{target.label}<br>%{value} attempts<br>%{customdata}"
                "<extra></extra>",
            },
            textfont={"size": SMALL - 2, "color": INK},
        )
    )
    base_layout(fig, title=title, height=max(380, min(800, 200 + 28 * len(nodes))))
    table = pd.DataFrame(
        [(r.source_label, r.target_label, int(r.attempts), r.choices) for r in _rows(transitions)],
        columns=SANKEY_TABLE,
    )
    endings = transitions[transitions["target"].str.startswith("ending:")]
    by_end = endings.groupby("target_label")["attempts"].sum().sort_values(ascending=False)
    total = int(by_end.sum())
    alt = (
        f"Paths of {plural(total, 'attempt')} through {plural(len([n for n in nodes if not n.startswith('ending:')]), 'step')} "
        f"of this scenario, ending " + join_words(f"{label.replace('Ending: ', '')} {plural(int(n), 'time')}"
                                                  for label, n in by_end.items()) + "."
    )
    return Chart(fig.build(), alt, table)


# -- strategies -----------------------------------------------------------------------------------


STRATEGY_TABLE = ["Strategy", "Responses", "Share of responses"]


def strategy_chart(strategies: pd.DataFrame, title: str = "Repair strategies used") -> Chart:
    """How many responses used each repair strategy (a response may use several), most used on top."""
    used = strategies[strategies["choices"] > 0] if not strategies.empty else strategies
    if used.empty:
        return _empty(title, "No repair strategies used in this selection",
                      "No response in this selection used a tagged repair strategy.", STRATEGY_TABLE, height=320)
    ordered = strategies.sort_values(["choices", "label"], ascending=[False, True])
    labels = [esc(label) for label in ordered["label"]]
    fig = Draft()
    fig.add_trace(
        bar(
            name="Responses",
            orientation="h",
            y=labels,
            x=[int(v) for v in ordered["choices"]],
            text=[f"{_pct(s)} ({int(n):,})" for s, n in zip(ordered["share"], ordered["choices"], strict=True)],
            textposition="outside",
            textfont={"size": SMALL - 1, "color": INK},
            marker={"color": BLUE, "line": {"color": INK, "width": 1}},
            hovertemplate="<b>%{y}</b><br>%{x:,} responses<extra></extra>",
            cliponaxis=False,
        )
    )
    base_layout(fig, title=title, height=max(320, min(800, 120 + 36 * len(ordered))))
    fig.update_layout(margin={"l": 260, "r": 110, "t": 70, "b": 60}, bargap=0.35)
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], fixedrange=True, ticksuffix="  ")
    fig.update_xaxes(title={"text": "Responses using the strategy"}, rangemode="tozero", fixedrange=True)
    table = pd.DataFrame(
        [(r.label, int(r.choices), round(float(r.share), 3)) for r in _rows(ordered)], columns=STRATEGY_TABLE
    )
    top = used.sort_values(["choices", "label"], ascending=[False, True]).head(3)
    unused = [r.label for r in _rows(strategies) if r.choices == 0]
    alt = "Most used repair strategies: " + join_words(f"{r.label} ({_pct(r.share)} of responses)"
                                                       for r in _rows(top)) + "."
    if unused:
        alt = alt[:-1] + f"; never used: {join_words(unused)}."
    return Chart(fig.build(), alt, table)


# -- a trainee's own trend ---------------------------------------------------------------------------


TREND_TABLE = ["Period", "Your mean score", "Your attempts", "Cohort median", "Cohort trainees"]


def trainee_trend_chart(own: pd.DataFrame, cohort: pd.DataFrame, grain: str = "month",
                        title: str = "Your scores against your cohort") -> Chart:
    """The trainee's mean score per period (solid, circles) against the anonymous cohort median
    (dashed, diamonds). Only aggregates of other people are drawn."""
    if own.empty and cohort.empty:
        return _empty(title, "No completed attempts yet",
                      "No completed attempts yet, so there is no trend to compare with your cohort.", TREND_TABLE)
    fig = Draft()
    base_layout(fig, title=title, height=440, show_legend=True)
    fig.update_layout(
        legend={"y": 1.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        margin={"l": 70, "r": 30, "t": 100, "b": 60},
        title={"y": 0.97, "yanchor": "top"},
    )
    if not cohort.empty:
        fig.add_trace(
            scatter(
                name="Cohort median (anonymous)",
                x=_dates(cohort["period"]),
                y=[float(v) for v in cohort["median_score"]],
                mode="lines+markers",
                line={"color": MUTED, "width": 2.5, "dash": "dash"},
                marker={"symbol": "diamond", "size": 10, "color": MUTED},
                hovertext=[
                    f"<b>Cohort median</b><br>{period_label(r.period, grain)}: {fmt(r.median_score)}"
                    f"<br>{plural(int(r.trainees), 'trainee')}"
                    for r in _rows(cohort)
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    if not own.empty:
        fig.add_trace(
            scatter(
                name="You",
                x=_dates(own["period"]),
                y=[float(v) for v in own["mean_score"]],
                customdata=own["attempt_id"].tolist(),
                mode="lines+markers+text" if len(own) <= 12 else "lines+markers",
                text=[fmt(v, 0) for v in own["mean_score"]] if len(own) <= 12 else None,
                textposition="top center",
                textfont={"size": SMALL - 1, "color": INK},
                line={"color": BLUE, "width": 4},
                marker={"symbol": "circle", "size": 11, "color": BLUE, "line": {"color": "white", "width": 1}},
                hovertext=[
                    f"<b>You</b><br>{period_label(r.period, grain)}: {fmt(r.mean_score)}"
                    f"<br>{plural(int(r.attempts), 'attempt')}"
                    for r in _rows(own)
                ],
                hovertemplate="%{hovertext}<extra></extra>",
                cliponaxis=False,
            )
        )
    _score_axis(fig)
    fig.update_xaxes(title={"text": "Period"}, fixedrange=True)
    merged = pd.merge(own, cohort, on="period", how="outer").sort_values("period")
    table = pd.DataFrame(
        [
            (
                period_label(r.period, grain),
                None if pd.isna(r.mean_score) else round(float(r.mean_score), 1),
                0 if pd.isna(r.attempts_x) else int(r.attempts_x),
                None if pd.isna(r.median_score) else round(float(r.median_score), 1),
                None if pd.isna(r.trainees) else int(r.trainees),
            )
            for r in _rows(merged)
        ],
        columns=TREND_TABLE,
    )
    if own.empty:
        alt = "You have no completed attempts in these periods yet; the line shows your cohort's anonymous median."
    else:
        last = own.sort_values("period").iloc[-1]
        alt = f"Your mean score in {period_label(last.period, grain)} was {fmt(last.mean_score)}"
        match = cohort[cohort["period"] == last.period]
        if len(match):
            alt += f", against a cohort median of {fmt(float(match.iloc[0].median_score))}"
        alt += f"; {plural(len(own), 'period')} with attempts in all."
    return Chart(fig.build(), alt, table)


__all__ = [
    "choice_heatmap",
    "dimension_radar",
    "growth_chart",
    "path_sankey",
    "period_label",
    "scores_over_time_chart",
    "strategy_chart",
    "trainee_trend_chart",
    "zone_distribution_chart",
]
