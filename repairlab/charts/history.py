"""Scores over time: completed attempts, one series per scenario plus an overall line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import pandas as pd

from engine.rubric import Rubric

from . import Chart
from ._style import MUTED, SERIES, SYMBOLS, Draft, base_layout, empty_notice, esc, fmt, plural, scatter

COLUMNS = ["Date", "Scenario", "Score", "Zone", "Ending"]
HEIGHT = 460


class SummaryLike(Protocol):
    """What the chart reads from a `repairlab.services.practice.AttemptSummary`."""

    title: str
    status: str
    started_at: datetime
    completed_at: datetime | None
    score: float | None


def zone_labels(rubric: Rubric) -> dict[str, str]:
    """Zone id -> label, the mapping `history_chart` takes."""
    return {zone_id: zone.label for zone_id, zone in rubric.zones.items()}


def history_chart(
    summaries: Sequence[SummaryLike],
    rubric_zone_labels: Mapping[str, str] | None = None,
    title: str = "Your scores over time",
) -> Chart:
    """Completed attempts' scores (0-100) by completion time.

    One line with its own marker symbol per scenario title, plus a dotted line
    through all attempts in time order. In-progress attempts and attempts
    without a score are left out.
    """
    labels = dict(rubric_zone_labels or {})
    done = sorted(
        (
            s
            for s in summaries
            if s.status == "completed" and s.score is not None and (s.completed_at or s.started_at)
        ),
        key=lambda s: s.completed_at or s.started_at,
    )

    fig = Draft()
    base_layout(fig, title=title, height=HEIGHT, show_legend=bool(done))
    # The legend sits above the plot, clear of the two-line date ticks.
    fig.update_layout(
        legend={"y": 1.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        margin={"l": 70, "r": 30, "t": 100, "b": 60},
        title={"y": 0.97, "yanchor": "top"},
    )
    fig.update_yaxes(title={"text": "Attempt score"}, range=[0, 100], dtick=20, fixedrange=True)
    fig.update_xaxes(title={"text": "Completed"}, tickangle=0, nticks=6, zeroline=False, fixedrange=True)

    rows = [
        {
            "Date": _when(s).strftime("%Y-%m-%d %H:%M"),
            "Scenario": s.title,
            "Score": round(float(s.score), 1),
            "Zone": labels.get(z, z) if (z := getattr(s, "zone", None)) else "",
            "Ending": getattr(s, "ending", None) or "",
        }
        for s in done
    ]
    table = pd.DataFrame(rows, columns=COLUMNS)

    if not done:
        empty_notice(fig, "No completed attempts yet")
        fig.update_xaxes(showticklabels=False, showgrid=False, title={"text": ""})
        return Chart(
            fig.build(), "No completed attempts yet, so there are no scores to show over time.", table
        )

    if len({s.title for s in done}) > 1:
        fig.add_trace(
            scatter(
                name="All scenarios",
                x=[_when(s) for s in done],
                y=[float(s.score) for s in done],
                mode="lines",
                line={"color": MUTED, "width": 2, "dash": "dot"},
                hoverinfo="skip",
            )
        )
    first, last = _when(done[0]), _when(done[-1])
    if last - first < timedelta(hours=1):  # a lone point would get a range of milliseconds
        fig.update_xaxes(
            range=[(first - timedelta(days=1)).isoformat(), (last + timedelta(days=1)).isoformat()]
        )
    titles = list(dict.fromkeys(s.title for s in done))  # in order of first completion
    for i, scenario_title in enumerate(titles):
        mine = [(s, row) for s, row in zip(done, rows, strict=True) if s.title == scenario_title]
        fig.add_trace(
            scatter(
                name=esc(scenario_title),
                x=[_when(s) for s, _ in mine],
                y=[float(s.score) for s, _ in mine],
                mode="lines+markers",
                line={"color": SERIES[i % len(SERIES)], "width": 2.5},
                marker={
                    "symbol": SYMBOLS[i % len(SYMBOLS)],
                    "size": 13,
                    "color": SERIES[i % len(SERIES)],
                    "line": {"color": "white", "width": 1},
                },
                hovertext=[
                    f"<b>{esc(row['Scenario'])}</b><br>{row['Date']}<br>Score: {fmt(row['Score'])}"
                    + (f"<br>Zone: {esc(row['Zone'])}" if row["Zone"] else "")
                    + (f"<br>Ending: {esc(row['Ending'])}" if row["Ending"] else "")
                    for _, row in mine
                ],
                hovertemplate="%{hovertext}<extra></extra>",
                cliponaxis=False,
            )
        )
    return Chart(fig.build(), _alt(done, titles), table)


def _when(summary: SummaryLike) -> datetime:
    return summary.completed_at or summary.started_at


def _alt(done: Sequence[SummaryLike], titles: Sequence[str]) -> str:
    scores = [float(s.score) for s in done]
    latest = done[-1]
    if len(done) == 1:
        return (
            f"Your one completed attempt so far, on {_when(latest):%Y-%m-%d}, "
            f"scored {fmt(float(latest.score))} on “{latest.title}”."
        )
    first = (
        f"Scores of your {plural(len(done), 'completed attempt')} over time across "
        f"{plural(len(titles), 'scenario')}, ranging from {fmt(min(scores))} to {fmt(max(scores))}."
    )
    second = (
        f"The latest, on {_when(latest):%Y-%m-%d}, scored {fmt(float(latest.score))} on “{latest.title}”."
    )
    return f"{first} {second}"
