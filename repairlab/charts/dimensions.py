"""Per-dimension bars: the attempt's mean on each rubric dimension against its ideal."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from engine.rubric import Rubric

from . import Chart
from ._style import BLUE, INK, SMALL, Draft, bar, base_layout, empty_notice, esc, fmt, join_words, scatter

ROW_HEIGHT = 95


def dimension_bars(
    rubric: Rubric, means: Mapping[str, float] | None, title: str = "Your mean on each dimension"
) -> Chart:
    """One horizontal bar per dimension (its label), with the ideal drawn as a labelled tick.

    `means` is the attempt's per-dimension means (`Report.means`); empty or
    None draws the ideals only, with a notice.
    """
    means = dict(means or {})
    dims = list(rubric.dimensions.items())
    labels = [esc(dim.label) for _, dim in dims]
    low = min(dim.min for _, dim in dims)
    high = max(dim.max for _, dim in dims)

    fig = Draft()
    base_layout(fig, title=title, height=130 + ROW_HEIGHT * len(dims))
    fig.update_layout(margin={"l": 150, "r": 60, "t": 70, "b": 60}, bargap=0.45)

    shown = [(name, dim) for name, dim in dims if name in means]
    if shown:
        fig.add_trace(
            bar(
                name="Your mean",
                orientation="h",
                y=[esc(dim.label) for _, dim in shown],
                base=[dim.min for _, dim in shown],
                x=[float(means[name]) - dim.min for name, dim in shown],
                text=[f"you {fmt(means[name])}" for name, _ in shown],
                # Short bars carry their value just outside, long ones inside their end.
                textposition=[
                    "inside" if (means[name] - dim.min) / (dim.range or 1) >= 0.3 else "outside"
                    for name, dim in shown
                ],
                insidetextanchor="end",
                outsidetextfont={"color": INK},
                textfont={"size": SMALL},
                marker={"color": BLUE, "line": {"color": INK, "width": 1}},
                hovertemplate=[
                    f"<b>{esc(dim.label)}</b><br>Your mean: {fmt(means[name], 2)}<br>Ideal: {dim.ideal}"
                    f"<br>Range: {dim.min}–{dim.max}<extra></extra>"
                    for name, dim in shown
                ],
                cliponaxis=False,
            )
        )
    else:
        empty_notice(fig, "No choices made yet")

    fig.add_trace(
        scatter(
            name="Ideal",
            x=[dim.ideal for _, dim in dims],
            y=labels,
            mode="markers+text",
            text=[f"ideal {dim.ideal}" for _, dim in dims],
            textposition="top center",
            textfont={"size": SMALL, "color": INK},
            marker={"symbol": "line-ns-open", "size": 44, "color": INK, "line": {"width": 4, "color": INK}},
            hovertemplate=[
                f"<b>{esc(dim.label)}</b><br>Ideal: {dim.ideal}<extra></extra>" for _, dim in dims
            ],
            cliponaxis=False,
        )
    )
    fig.update_xaxes(
        range=[low, high],
        tickmode="linear",
        tick0=low,
        dtick=1,
        title={"text": "Score on the rubric"},
        showgrid=True,
        zeroline=False,
        fixedrange=True,
    )
    # First dimension at the top, as in the rubric.
    fig.update_yaxes(
        categoryorder="array", categoryarray=labels[::-1], fixedrange=True, ticksuffix="  ", automargin=True
    )

    table = pd.DataFrame(
        [
            {
                "Dimension": dim.label,
                "Your mean": round(float(means[name]), 2) if name in means else None,
                "Ideal": dim.ideal,
                "Range": f"{dim.min}–{dim.max}",
            }
            for name, dim in dims
        ],
        columns=["Dimension", "Your mean", "Ideal", "Range"],
    )
    return Chart(fig.build(), _alt(rubric, means), table)


def _alt(rubric: Rubric, means: Mapping[str, float]) -> str:
    if not means:
        ideals = join_words(f"{dim.label} {dim.ideal}" for dim in rubric.dimensions.values())
        return f"No choices made yet, so there are no means to compare with the ideals ({ideals})."
    parts = [
        f"{dim.label} {fmt(means[name])} (ideal {dim.ideal})"
        for name, dim in rubric.dimensions.items()
        if name in means
    ]
    gaps = {
        dim.label: abs(means[name] - dim.ideal) / (dim.range or 1)
        for name, dim in rubric.dimensions.items()
        if name in means
    }
    first = f"Your mean on each dimension against the ideal: {join_words(parts)}."
    if len(gaps) < 2 or max(gaps.values()) == min(gaps.values()):
        return first
    closest = min(gaps, key=gaps.__getitem__)
    furthest = max(gaps, key=gaps.__getitem__)
    return f"{first} Closest to the ideal: {closest}; furthest: {furthest}."
