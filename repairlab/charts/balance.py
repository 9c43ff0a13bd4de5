"""The balance chart: each choice placed on the rubric's two axes, over its four zones."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Protocol

import pandas as pd

from engine.rubric import Dimension, Rubric

from . import Chart
from ._style import (
    BLUE,
    INK,
    MUTED,
    VERMILLION,
    ZONE_IDEAL_TINT,
    ZONE_TINTS,
    Draft,
    base_layout,
    empty_notice,
    esc,
    fmt,
    join_words,
    plural,
    scatter,
)

PAD = 0.3  # axis range beyond the dimension's min and max
# Radii, in score units, of the ellipse on which coinciding points are fanned out
# (wider across than up, because the plot is wider than it is tall).
JITTER_X = 0.17
JITTER_Y = 0.24
# A choice scored exactly on an axis midpoint belongs to the "high" side; it is
# drawn this far into that side so that its zone can be seen, not guessed.
NUDGE_X = 0.12
NUDGE_Y = 0.16
HEIGHT = 580


class OutcomeLike(Protocol):
    """What the chart reads from an `engine.ChoiceOutcome`."""

    node: str
    choice: str
    scores: Mapping[str, int]
    score: float


def balance_chart(
    rubric: Rubric,
    outcomes: Sequence[OutcomeLike],
    means: Mapping[str, float] | None = None,
    title: str = "Balance of your choices",
    *,
    comparison: Sequence[OutcomeLike] | None = None,
    comparison_label: str = "Best path",
) -> Chart:
    """Plot each choice on the rubric's x/y axes over the shaded, labelled zones.

    `means` defaults to the per-dimension means of `outcomes`; pass `{}` to hide
    the mean marker. `comparison` (e.g. the best path's outcomes) is drawn as
    open diamonds numbered B1, B2, ... and named `comparison_label`.
    """
    x_id, y_id = rubric.axes.x, rubric.axes.y
    x_dim, y_dim = rubric.dimensions[x_id], rubric.dimensions[y_id]
    outcomes = list(outcomes)
    comparison = list(comparison) if comparison is not None else None
    if means is None:
        means = rubric.means([o.scores for o in outcomes])

    fig = Draft()
    base_layout(fig, title=title, height=HEIGHT, show_legend=bool(comparison))
    draw_zones(fig, rubric, x_dim, y_dim)

    # Spread points that share exact coordinates on a small ring, keeping each on its zone's side.
    everyone = [o.scores for o in outcomes] + [o.scores for o in comparison or []]
    placed = _spread(everyone, x_id, y_id, x_dim, y_dim)
    mine, theirs = placed[: len(outcomes)], placed[len(outcomes) :]

    if means:
        mean_x, mean_y = float(means[x_id]), float(means[y_id])
        mean_zone = rubric.zone_label(rubric.zone_of(means))
        fig.add_trace(
            scatter(
                name="Mean",
                x=[mean_x],
                y=[mean_y],
                mode="markers",
                marker={"symbol": "star", "size": 36, "color": INK, "line": {"color": "white", "width": 1.5}},
                hovertemplate=(
                    f"<b>Your mean</b><br>{esc(x_dim.label)} {fmt(mean_x, 2)}, {esc(y_dim.label)} {fmt(mean_y, 2)}"
                    f"<br>Zone: {esc(mean_zone)}<extra></extra>"
                ),
                cliponaxis=False,
                showlegend=False,
            )
        )
        # The label is an annotation, drawn above every point, with an arrow from the
        # side of the centre cross: choices crowd the outer corners, not the middle.
        fig.add_annotation(
            name="mean-label",
            text="<b>Mean</b>",
            x=mean_x,
            y=mean_y,
            xref="x",
            yref="y",
            showarrow=True,
            arrowhead=0,
            arrowcolor=INK,
            ax=-48 if mean_x >= x_dim.midpoint else 48,
            ay=-36 if mean_y <= y_dim.midpoint else 36,
            font={"size": 14, "color": INK},
            bgcolor="rgba(255,255,255,0.85)",
            borderpad=2,
        )

    if comparison:
        fig.add_trace(
            scatter(
                name=esc(comparison_label),
                x=[p[0] for p in theirs],
                y=[p[1] for p in theirs],
                mode="markers+text",
                text=[f"B{i}" for i in range(1, len(comparison) + 1)],
                textposition="middle center",
                textfont={"size": 12, "color": VERMILLION},
                marker={
                    "symbol": "diamond",
                    "size": 34,
                    "color": "white",
                    "line": {"color": VERMILLION, "width": 2.5},
                },
                hovertext=[_hover(rubric, i, o, comparison_label) for i, o in enumerate(comparison, 1)],
                hovertemplate="%{hovertext}<extra></extra>",
                cliponaxis=False,
            )
        )

    if outcomes:
        fig.add_trace(
            scatter(
                name="Your choices",
                x=[p[0] for p in mine],
                y=[p[1] for p in mine],
                mode="markers+text",
                text=[str(i) for i in range(1, len(outcomes) + 1)],
                textposition="middle center",
                textfont={"size": 13, "color": "white"},
                marker={
                    "symbol": "circle",
                    "size": 26,
                    "color": BLUE,
                    "line": {"color": "white", "width": 1.5},
                },
                hovertext=[_hover(rubric, i, o, "Your choice") for i, o in enumerate(outcomes, 1)],
                hovertemplate="%{hovertext}<extra></extra>",
                cliponaxis=False,
            )
        )
    else:
        empty_notice(fig, "No choices made yet")

    draw_axes(fig, x_dim, y_dim)

    table = pd.DataFrame(
        [
            {
                "Step": i,
                "Node": o.node,
                "Choice": o.choice,
                **{dim.label: o.scores.get(name) for name, dim in rubric.dimensions.items()},
                "Score": round(float(o.score), 1),
                "Zone": rubric.zone_label(rubric.zone_of(o.scores)),
            }
            for i, o in enumerate(outcomes, 1)
        ],
        columns=["Step", "Node", "Choice", *[d.label for d in rubric.dimensions.values()], "Score", "Zone"],
    )
    return Chart(fig.build(), _alt(rubric, outcomes, means, comparison, comparison_label), table)


# -- parts -----------------------------------------------------------------


def draw_axes(fig: Draft, x_dim: Dimension, y_dim: Dimension) -> None:
    """Both rubric axes: whole-number ticks over each dimension's range, no zooming."""
    for dim, update in ((x_dim, fig.update_xaxes), (y_dim, fig.update_yaxes)):
        update(
            title={"text": esc(dim.label)},
            range=[dim.min - PAD, dim.max + PAD],
            tickmode="linear",
            tick0=dim.min,
            dtick=1,
            zeroline=False,
            showgrid=True,
            fixedrange=True,
        )


def draw_zones(fig: Draft, rubric: Rubric, x_dim: Dimension, y_dim: Dimension) -> None:
    """One shaded rectangle per zone, split at each axis midpoint, its label inside."""
    spans = {
        "low": (x_dim.min - PAD, x_dim.midpoint),
        "high": (x_dim.midpoint, x_dim.max + PAD),
    }
    y_spans = {
        "low": (y_dim.min - PAD, y_dim.midpoint),
        "high": (y_dim.midpoint, y_dim.max + PAD),
    }
    ideal_zone = rubric.zone_of(rubric.ideal)
    tints = iter(ZONE_TINTS)
    for zone_id, zone in rubric.zones.items():
        x0, x1 = spans[zone.x]
        y0, y1 = y_spans[zone.y]
        tint = ZONE_IDEAL_TINT if zone_id == ideal_zone else next(tints, ZONE_TINTS[-1])
        fig.add_shape(
            type="rect",
            name=zone.label,
            x0=x0,
            x1=x1,
            y0=y0,
            y1=y1,
            xref="x",
            yref="y",
            layer="below",
            fillcolor=tint,
            line={"width": 0},
        )
        # The label sits next to the centre cross: half a step above or below it (between the
        # grid lines, where whole-number scores never put a choice), just beside the centre line.
        fig.add_annotation(
            name=f"zone:{zone_id}",
            text=f"<b>{esc(zone.label)}</b>",
            x=_label_at(zone.x, x_dim, x0, x1, gap=0.12),
            y=_label_at(zone.y, y_dim, y0, y1),
            xref="x",
            yref="y",
            # Anchored at the centre line, growing outwards: the labels of neighbouring
            # zones never run into each other, however narrow the chart is drawn.
            xanchor="left" if zone.x == "high" else "right",
            showarrow=False,
            font={"size": 15, "color": INK},
            opacity=0.9,
        )
    # A thin line on each midpoint makes the quadrant boundary visible without colour.
    fig.add_shape(
        type="line",
        x0=x_dim.midpoint,
        x1=x_dim.midpoint,
        y0=y_dim.min - PAD,
        y1=y_dim.max + PAD,
        layer="below",
        line={"color": MUTED, "width": 1, "dash": "dot"},
    )
    fig.add_shape(
        type="line",
        x0=x_dim.min - PAD,
        x1=x_dim.max + PAD,
        y0=y_dim.midpoint,
        y1=y_dim.midpoint,
        layer="below",
        line={"color": MUTED, "width": 1, "dash": "dot"},
    )


def _label_at(level: str, dim: Dimension, low: float, high: float, gap: float = 0.5) -> float:
    # Next to the centre cross: choices cluster in the outer corners, so the
    # label stays clear of them (and of the mean marker) in most attempts.
    at = dim.midpoint + gap if level == "high" else dim.midpoint - gap
    return at if low < at < high else (low + high) / 2


def _spread(
    points: Sequence[Mapping[str, float]], x_id: str, y_id: str, x_dim: Dimension, y_dim: Dimension
) -> list[tuple[float, float]]:
    """Each point's drawn position: coinciding points fanned out on a small ring.

    No offset moves a point across an axis midpoint, and points exactly on a
    midpoint are drawn just inside the "high" side they belong to, so every
    point is drawn inside the zone the rubric puts it in.
    """
    groups: dict[tuple[float, float], list[int]] = defaultdict(list)
    for index, point in enumerate(points):
        groups[(float(point[x_id]), float(point[y_id]))].append(index)
    placed: list[tuple[float, float]] = [(0.0, 0.0)] * len(points)
    for (x, y), members in groups.items():
        count = len(members)
        rx, ry = (JITTER_X, JITTER_Y) if count > 1 else (0.0, 0.0)
        for k, index in enumerate(members):
            angle = math.pi / 4 + 2 * math.pi * k / count
            placed[index] = (
                _offset(x, rx * math.cos(angle), rx, NUDGE_X, x_dim),
                _offset(y, ry * math.sin(angle), ry, NUDGE_Y, y_dim),
            )
    return placed


def _offset(value: float, offset: float, radius: float, nudge: float, dim: Dimension) -> float:
    """`value` moved by its ring `offset` without leaving its side of the midpoint."""
    if value == dim.midpoint:  # shift the whole ring onto the high side it belongs to
        return round(value + nudge + radius + offset, 4)
    if dim.is_high(value) != dim.is_high(value + offset):
        offset = -offset
    return round(value + offset, 4)


def _hover(rubric: Rubric, number: int, outcome: OutcomeLike, who: str) -> str:
    zone = rubric.zone_label(rubric.zone_of(outcome.scores))
    values = " · ".join(
        f"{esc(dim.label)} {outcome.scores.get(name, '?')}" for name, dim in rubric.dimensions.items()
    )
    return (
        f"<b>{esc(who)} {number}</b> at {outcome.node}<br>Choice: {outcome.choice}"
        f"<br>Score: {fmt(float(outcome.score))}<br>Zone: {esc(zone)}<br>{values}"
    )


def _alt(
    rubric: Rubric,
    outcomes: Sequence[OutcomeLike],
    means: Mapping[str, float],
    comparison: Sequence[OutcomeLike] | None,
    comparison_label: str,
) -> str:
    x_dim, y_dim = rubric.dimensions[rubric.axes.x], rubric.dimensions[rubric.axes.y]
    axes = f"{x_dim.label} (across) against {y_dim.label} (up)"
    if not outcomes:
        first = f"Balance chart of {axes}, with no choices made yet."
    else:
        counts: dict[str, int] = {}
        for o in outcomes:
            label = rubric.zone_label(rubric.zone_of(o.scores))
            counts[label] = counts.get(label, 0) + 1
        where = join_words(f"{n} in {label}" for label, n in counts.items())
        first = f"Balance chart of your {plural(len(outcomes), 'choice')}, {axes}: {where}."
    parts = []
    if means:
        mean_zone = rubric.zone_label(rubric.zone_of(means))
        parts.append(
            f"your mean ({x_dim.label} {fmt(means[rubric.axes.x])}, {y_dim.label} "
            f"{fmt(means[rubric.axes.y])}) is in the {mean_zone} zone"
        )
    if comparison:
        parts.append(
            f"the {comparison_label.lower()}'s {plural(len(comparison), 'choice')} "
            "are shown as diamonds for comparison"
            if len(comparison) != 1
            else f"the {comparison_label.lower()}'s 1 choice is shown as a diamond for comparison"
        )
    if not parts:
        return first
    second = "; ".join(parts)
    return f"{first} {second[0].upper()}{second[1:]}."
