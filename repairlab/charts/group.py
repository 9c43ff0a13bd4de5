"""Charts of a group session: the anonymous distribution, the group's balance, zone counts.

Like every builder in this package: pure plotly + pandas, a `Chart` with an
`alt` text and a table alternative, and nothing conveyed by colour alone
(letters, counts and zone names are printed on the marks; zones also get a
fill pattern). The inputs are duck-typed (see the Protocols), so this module
does not depend on the services that compute them.
"""

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
from .balance import draw_axes, draw_zones

PATTERNS = ("", "/", "x", ".", "\\", "+", "-", "|")
ZONE_COLOURS = ("#00795A", "#C0461B", "#9A6A00", "#6B7280", "#0B5394", "#8E4B8E")
SHORT = 48


class ChoiceRow(Protocol):
    letter: str
    choice_id: str
    text: str
    count: int
    score: float
    zone: str
    is_best: bool


class TallyLike(Protocol):
    answered: int
    choices: Sequence[ChoiceRow]


class PointLike(Protocol):
    number: int
    letter: str
    scores: Mapping[str, int]
    score: float
    zone: str
    count: int
    followed: bool


def short(text: str, limit: int = SHORT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _zone_style(zone_labels: Sequence[str]) -> dict[str, tuple[str, str]]:
    return {
        label: (ZONE_COLOURS[i % len(ZONE_COLOURS)], PATTERNS[i % len(PATTERNS)])
        for i, label in enumerate(zone_labels)
    }


# -- the distribution at one decision ---------------------------------------------------


def distribution_chart(
    tally: TallyLike, zone_labels: Sequence[str], title: str = "How the group answered"
) -> Chart:
    """One horizontal bar per offered response (its letter and zone), with count and share printed."""
    rows = list(tally.choices)
    total = tally.answered
    style = _zone_style(zone_labels)
    fig = Draft()
    base_layout(fig, title=title, height=140 + 70 * max(len(rows), 1))
    fig.update_layout(margin={"l": 230, "r": 90, "t": 70, "b": 60}, bargap=0.35)
    labels = [f"<b>{r.letter}</b> · {esc(r.zone)}" + (" · best" if r.is_best else "") for r in rows]
    shares = [(r.count / total * 100) if total else 0.0 for r in rows]
    if rows:
        fig.add_trace(
            bar(
                name="Answers",
                orientation="h",
                y=labels,
                x=[r.count for r in rows],
                text=[
                    f"{plural(r.count, 'answer')} · {fmt(s, 0)}%" for r, s in zip(rows, shares, strict=True)
                ],
                textposition="outside",
                textfont={"size": SMALL, "color": INK},
                cliponaxis=False,
                marker={
                    "color": [style.get(r.zone, (BLUE, ""))[0] for r in rows],
                    "line": {"color": INK, "width": 1},
                    "pattern": {
                        "shape": [style.get(r.zone, (BLUE, ""))[1] for r in rows],
                        "fgcolor": "white",
                        "size": 8,
                    },
                },
                hovertext=[
                    f"<b>{r.letter}</b>: {esc(short(r.text, 80))}<br>{plural(r.count, 'answer')}"
                    f"<br>Score {fmt(r.score, 0)} · {esc(r.zone)}"
                    for r in rows
                ],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    if not total:
        empty_notice(fig, "No answers yet")
    top = max([r.count for r in rows] + [1])
    fig.update_xaxes(
        title={"text": "Answers"},
        range=[0, top * 1.35 + 0.5],
        dtick=max(1, math.ceil(top / 8)),
        rangemode="tozero",
        showgrid=True,
        zeroline=True,
        fixedrange=True,
    )
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], fixedrange=True, automargin=True)
    table = pd.DataFrame(
        [
            {
                "Response": r.letter,
                "Text": r.text,
                "Answers": r.count,
                "Share %": round(s),
                "Score": round(float(r.score)),
                "Zone": r.zone,
                "Best on offer": "yes" if r.is_best else "",
            }
            for r, s in zip(rows, shares, strict=True)
        ],
        columns=["Response", "Text", "Answers", "Share %", "Score", "Zone", "Best on offer"],
    )
    return Chart(fig.build(), _distribution_alt(rows, total), table)


def _distribution_alt(rows: Sequence[ChoiceRow], total: int) -> str:
    if not total:
        return f"No answers yet to any of the {plural(len(rows), 'response')} on offer."
    ranked = sorted(rows, key=lambda r: -r.count)
    parts = join_words(f"{r.letter} ({r.zone}) {r.count}" for r in ranked if r.count)
    top = ranked[0]
    best = next((r for r in rows if r.is_best), None)
    tail = ""
    if best is not None:
        share = round(best.count / total * 100)
        tail = f" The best-scoring response, {best.letter}, got {share}% of the answers."
    return f"{plural(total, 'answer')} in all: {parts}. Most chosen: {top.letter} ({top.zone}).{tail}"


# -- the group's answers on the balance chart --------------------------------------------


def group_balance_chart(
    rubric: Rubric, points: Sequence[PointLike], title: str = "Where the group's answers fall"
) -> Chart:
    """Every answered response as a bubble over the four zones, sized by how many chose it.

    Bubbles are labelled with the decision number and the response's letter
    ("2B"), and the count; the branch the group followed at each decision is
    drawn as a diamond instead of a circle.
    """
    x_id, y_id = rubric.axes.x, rubric.axes.y
    x_dim, y_dim = rubric.dimensions[x_id], rubric.dimensions[y_id]
    fig = Draft()
    base_layout(fig, title=title, height=600, show_legend=True)
    draw_zones(fig, rubric, x_dim, y_dim)  # the same backdrop as a trainee's balance chart
    points = list(points)
    placed = _spread([(float(p.scores[x_id]), float(p.scores[y_id])) for p in points], x_dim, y_dim)
    for followed, name, symbol, colour in (
        (False, "Answers (size: how many chose it)", "circle", BLUE),
        (True, "Branch the group followed", "diamond", VERMILLION),
    ):
        chosen = [(p, xy) for p, xy in zip(points, placed, strict=True) if p.followed == followed]
        if not chosen:
            continue
        fig.add_trace(
            scatter(
                name=name,
                x=[xy[0] for _, xy in chosen],
                y=[xy[1] for _, xy in chosen],
                mode="markers+text",
                text=[f"{p.number}{p.letter} ×{p.count}" for p, _ in chosen],
                textposition="top center",
                textfont={"size": SMALL, "color": INK},
                marker={
                    "symbol": symbol,
                    "size": [16 + 9 * math.sqrt(p.count) for p, _ in chosen],
                    "color": colour,
                    "opacity": 0.85,
                    "line": {"color": "white", "width": 1.5},
                },
                hovertext=[
                    f"<b>Decision {p.number}, response {p.letter}</b><br>{plural(p.count, 'answer')}"
                    f"<br>Score {fmt(p.score, 0)} · {esc(p.zone)}"
                    + ("<br>The group followed this branch" if p.followed else "")
                    for p, _ in chosen
                ],
                hovertemplate="%{hovertext}<extra></extra>",
                cliponaxis=False,
            )
        )
    if not points:
        empty_notice(fig, "No answers yet")
    draw_axes(fig, x_dim, y_dim)
    table = pd.DataFrame(
        [
            {
                "Decision": p.number,
                "Response": p.letter,
                "Answers": p.count,
                **{dim.label: p.scores.get(name) for name, dim in rubric.dimensions.items()},
                "Score": round(float(p.score)),
                "Zone": p.zone,
                "Group followed": "yes" if p.followed else "",
            }
            for p in points
        ],
        columns=[
            "Decision",
            "Response",
            "Answers",
            *[d.label for d in rubric.dimensions.values()],
            "Score",
            "Zone",
            "Group followed",
        ],
    )
    return Chart(fig.build(), _balance_alt(rubric, points), table)


def _balance_alt(rubric: Rubric, points: Sequence[PointLike]) -> str:
    x_dim, y_dim = rubric.dimensions[rubric.axes.x], rubric.dimensions[rubric.axes.y]
    axes = f"{x_dim.label} (across) against {y_dim.label} (up)"
    if not points:
        return f"Balance chart of {axes}, with no answers yet."
    zones: dict[str, int] = defaultdict(int)
    for p in points:
        zones[p.zone] += p.count
    total = sum(zones.values())
    where = join_words(f"{n} in {label}" for label, n in sorted(zones.items(), key=lambda kv: -kv[1]))
    followed = [p for p in points if p.followed]
    tail = ""
    if followed:
        tail = (
            " Diamonds mark the branches the group followed: "
            + join_words(f"{p.number}{p.letter} ({p.zone})" for p in followed)
            + "."
        )
    return f"Balance chart of the group's {plural(total, 'answer')}, {axes}: {where}.{tail}"


def _spread(
    points: Sequence[tuple[float, float]], x_dim: Dimension, y_dim: Dimension
) -> list[tuple[float, float]]:
    """Coinciding points fanned out on a small ring, never across an axis midpoint."""
    groups: dict[tuple[float, float], list[int]] = defaultdict(list)
    for index, point in enumerate(points):
        groups[point].append(index)
    placed = list(points)
    for (x, y), members in groups.items():
        if len(members) == 1:
            continue
        for k, index in enumerate(members):
            angle = math.pi / 4 + 2 * math.pi * k / len(members)
            placed[index] = (
                _keep_side(x, 0.22 * math.cos(angle), x_dim),
                _keep_side(y, 0.3 * math.sin(angle), y_dim),
            )
    return placed


def _keep_side(value: float, offset: float, dim: Dimension) -> float:
    if dim.is_high(value) != dim.is_high(value + offset):
        offset = -offset
    return round(value + offset, 4)


# -- zone counts (the self-paced board) ---------------------------------------------------


def zone_counts_chart(
    zones: Sequence[tuple[str, int]], title: str = "Responses by zone", what: str = "response"
) -> Chart:
    """One bar per zone (named under it) with its count printed on top."""
    labels = [label for label, _ in zones]
    counts = [count for _, count in zones]
    style = _zone_style(labels)
    fig = Draft()
    base_layout(fig, title=title, height=380)
    fig.add_trace(
        bar(
            name=f"{what.capitalize()}s",
            x=[esc(label) for label in labels],
            y=counts,
            text=[str(count) for count in counts],
            textposition="outside",
            textfont={"size": SMALL, "color": INK},
            cliponaxis=False,
            marker={
                "color": [style[label][0] for label in labels],
                "line": {"color": INK, "width": 1},
                "pattern": {"shape": [style[label][1] for label in labels], "fgcolor": "white", "size": 8},
            },
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    total = sum(counts)
    if not total:
        empty_notice(fig, f"No {what}s yet")
    fig.update_yaxes(
        title={"text": f"{what.capitalize()}s"},
        range=[0, max(counts + [1]) * 1.25 + 0.5],
        dtick=max(1, math.ceil(max(counts + [1]) / 6)),
        fixedrange=True,
    )
    fig.update_xaxes(fixedrange=True)
    table = pd.DataFrame({"Zone": labels, f"{what.capitalize()}s": counts})
    if total:
        alt = f"{plural(total, what)} by zone: " + join_words(f"{n} {label}" for label, n in zones) + "."
    else:
        alt = f"No {what}s yet in any zone."
    return Chart(fig.build(), alt, table)
