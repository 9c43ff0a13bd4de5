"""The scenario map: every node and link, the trainee's path and the best path on top."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import pandas as pd

from engine.graph import edges
from engine.model import Scenario

from . import Chart
from ._style import BLUE, GRID, INK, MUTED, SMALL, VERMILLION, Draft, base_layout, plural, scatter

KIND_SYMBOL = {"decision": "square", "narration": "circle", "ending": "diamond"}
KIND_NAME = {"decision": "Decision", "narration": "Narration", "ending": "Ending"}
COLUMN_WIDTH = 1.0
ROW_GAP = 1.0
LABEL_WIDTH = 14  # characters per line of a node label


def path_graph(
    scenario: Scenario,
    path: Sequence[str],
    best: Sequence[str] | None = None,
    title: str | None = None,
) -> Chart:
    """Draw the scenario left to right by distance from the start, with `path` highlighted.

    `path` and `best` are node-id sequences as in `Playthrough.path` (the best
    path from `engine.best_path(...).path`). The trainee's links are thick and
    its nodes numbered in visiting order; the best path's links are dashed.
    """
    path = list(path)
    best = list(best or [])
    links = _links(scenario)
    position, depth_count = _layout(scenario, links)
    tallest = max(depth_count.values(), default=1)

    fig = Draft()
    base_layout(
        fig,
        title=title or f"Your path through “{scenario.title}”",
        height=max(380, min(760, 170 + 120 * tallest)),
        show_legend=True,
    )

    # All links, faint; then the best path, dashed; then the trainee's path, thick.
    fig.add_trace(_line_trace("All links", sorted(links), position, GRID, 2, "solid"))
    path_links = _pairs(path)
    best_links = _pairs(best)
    if path_links:
        fig.add_trace(_line_trace("Your path (thick)", path_links, position, BLUE, 7, "solid"))
    if best_links:  # dashes on top, so they stay visible where both paths share a link
        fig.add_trace(_line_trace("Best path (dashed)", best_links, position, VERMILLION, 3, "dash"))

    on_path = set(path)
    for kind in ("decision", "narration", "ending"):
        ids = [n for n, node in scenario.nodes.items() if node.kind == kind]
        if not ids:
            continue
        fig.add_trace(
            scatter(
                name=f"{KIND_NAME[kind]} points",
                x=[position[n][0] for n in ids],
                y=[position[n][1] for n in ids],
                mode="markers+text",
                text=[_label(scenario, n) for n in ids],
                textposition="bottom center",
                textfont={"size": SMALL, "color": INK},
                marker={
                    "symbol": KIND_SYMBOL[kind],
                    "size": 26 if kind != "ending" else 30,
                    "color": [BLUE if n in on_path else "white" for n in ids],
                    "line": {"color": [BLUE if n in on_path else MUTED for n in ids], "width": 2.5},
                },
                customdata=[[n] for n in ids],
                hovertext=[_hover(scenario, n, path, best) for n in ids],
                hovertemplate="%{hovertext}<extra></extra>",
                cliponaxis=False,
                showlegend=False,
            )
        )
        # A neutral legend key per kind (the drawn nodes are filled when visited).
        fig.add_trace(
            scatter(
                name=KIND_NAME[kind],
                x=[None],
                y=[None],
                mode="markers",
                marker={
                    "symbol": KIND_SYMBOL[kind],
                    "size": 14,
                    "color": "white",
                    "line": {"color": INK, "width": 2},
                },
                hoverinfo="skip",
                legendgroup=f"key:{kind}",
            )
        )

    if path:
        # Step numbers as badges just above each visited node ("2, 5" if visited twice).
        steps: dict[str, list[str]] = {}
        for number, node_id in enumerate(path, 1):
            steps.setdefault(node_id, []).append(str(number))
        for node_id, numbers in steps.items():
            x, y = position[node_id]
            fig.add_annotation(
                name=f"step:{node_id}",
                text=f"<b>{', '.join(numbers)}</b>",
                x=x,
                y=y,
                yshift=27,
                showarrow=False,
                font={"size": 14, "color": "white"},
                bgcolor=BLUE,
                bordercolor="white",
                borderwidth=1,
                borderpad=3,
            )

    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    fig.update_xaxes(visible=False, range=[min(xs) - 0.5, max(xs) + 0.5], fixedrange=True)
    fig.update_yaxes(visible=False, range=[min(ys) - 0.75, max(ys) + 0.6], fixedrange=True)
    fig.update_layout(margin={"l": 20, "r": 20, "t": 70, "b": 80})

    best_set = set(best)
    table = pd.DataFrame(
        [
            {
                "Step": number,
                "Node": node_id,
                "Kind": _kind_text(scenario, node_id),
                "On best path": "yes" if node_id in best_set else "no",
            }
            for number, node_id in enumerate(path, 1)
        ],
        columns=["Step", "Node", "Kind", "On best path"],
    )
    return Chart(fig.build(), _alt(scenario, path, best), table)


# -- layout ----------------------------------------------------------------


def _links(scenario: Scenario) -> set[tuple[str, str]]:
    """Distinct (source, target) pairs; several choices to one node are drawn as one link."""
    return {(e.source, e.target) for e in edges(scenario) if e.target in scenario.nodes}


def _layout(
    scenario: Scenario, links: set[tuple[str, str]]
) -> tuple[dict[str, tuple[float, float]], dict[int, int]]:
    """x by breadth-first depth from the start; y ordered by the parents' mean height.

    Deterministic: ties are broken by the order in which breadth-first search,
    following nodes and choices in file order, first reaches each node.
    """
    successors: dict[str, list[str]] = {}
    for e in edges(scenario):
        successors.setdefault(e.source, []).append(e.target)
    depth = {scenario.start: 0}
    order = [scenario.start]
    queue = deque([scenario.start])
    while queue:
        current = queue.popleft()
        for target in successors.get(current, []):
            if target in scenario.nodes and target not in depth:
                depth[target] = depth[current] + 1
                order.append(target)
                queue.append(target)
    unreachable = [n for n in scenario.nodes if n not in depth]
    last = max(depth.values()) + 1
    for node_id in unreachable:  # prevented by validation, but still drawn
        depth[node_id] = last
        order.append(node_id)
    rank = {node_id: i for i, node_id in enumerate(order)}

    parents: dict[str, list[str]] = {}
    for source, target in links:
        if depth[source] < depth[target]:
            parents.setdefault(target, []).append(source)

    by_depth: dict[int, list[str]] = {}
    for node_id in order:
        by_depth.setdefault(depth[node_id], []).append(node_id)

    position: dict[str, tuple[float, float]] = {}
    for level in sorted(by_depth):
        members = by_depth[level]

        def key(node_id: str) -> tuple[float, int]:
            ys = [position[p][1] for p in parents.get(node_id, []) if p in position]
            return (-(sum(ys) / len(ys)) if ys else 0.0, rank[node_id])

        members.sort(key=key)
        top = (len(members) - 1) * ROW_GAP / 2
        for i, node_id in enumerate(members):
            position[node_id] = (level * COLUMN_WIDTH, round(top - i * ROW_GAP, 4))
    return position, {level: len(m) for level, m in by_depth.items()}


def _pairs(nodes: Sequence[str]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for pair in zip(nodes, nodes[1:], strict=False):
        if pair not in seen:
            seen.append(pair)
    return seen


def _line_trace(
    name: str,
    pairs: Sequence[tuple[str, str]],
    position: dict[str, tuple[float, float]],
    colour: str,
    width: float,
    dash: str,
) -> dict[str, Any]:
    """One trace holding every link in `pairs`, separated by gaps (None)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for source, target in pairs:
        if source not in position or target not in position:
            continue
        for x, y in _curve(position[source], position[target]):
            xs.append(x)
            ys.append(y)
        xs.append(None)
        ys.append(None)
    return scatter(
        name=name,
        x=xs,
        y=ys,
        mode="lines",
        line={"color": colour, "width": width, "dash": dash},
        hoverinfo="skip",
        showlegend=name != "All links",
        meta={"links": [list(p) for p in pairs]},
    )


def _curve(
    start: tuple[float, float], end: tuple[float, float], samples: int = 16
) -> list[tuple[float, float]]:
    """A straight segment between neighbouring columns; otherwise a gentle arc that avoids nodes in between."""
    (x0, y0), (x1, y1) = start, end
    if x1 - x0 == COLUMN_WIDTH or (x0 == x1 and y0 == y1):
        return [start, end]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if x0 == x1:  # within one column: bow out to the right
        cx += 0.3 * abs(y1 - y0)
    elif x1 > x0:  # skipping columns: arc above the nodes in between
        cy += 0.35 * (x1 - x0)
    else:  # back to an earlier column: arc below
        cy -= 0.45 * (x0 - x1)
    points = []
    for i in range(samples + 1):
        t = i / samples
        points.append(
            (
                round((1 - t) ** 2 * x0 + 2 * (1 - t) * t * cx + t**2 * x1, 4),
                round((1 - t) ** 2 * y0 + 2 * (1 - t) * t * cy + t**2 * y1, 4),
            )
        )
    return points


# -- text ------------------------------------------------------------------


def _wrap(text: str, width: int = LABEL_WIDTH) -> str:
    lines: list[str] = []
    current = ""
    for part in text.split("-"):
        piece = part if not current else f"-{part}"
        if current and len(current) + len(piece) > width:
            lines.append(current + "-")
            current = part
        else:
            current += piece
    lines.append(current)
    return "<br>".join(lines)


def _label(scenario: Scenario, node_id: str) -> str:
    node = scenario.nodes[node_id]
    label = _wrap(node_id)
    if node.ending:
        label += f"<br><i>({node.ending})</i>"
    return label


def _kind_text(scenario: Scenario, node_id: str) -> str:
    node = scenario.nodes[node_id]
    return f"ending ({node.ending})" if node.ending else node.kind


def _hover(scenario: Scenario, node_id: str, path: Sequence[str], best: Sequence[str]) -> str:
    numbers = [str(i) for i, n in enumerate(path, 1) if n == node_id]
    lines = [f"<b>{node_id}</b>", _kind_text(scenario, node_id).capitalize()]
    if numbers:
        lines.append(f"Your step {', '.join(numbers)}")
    if node_id in best:
        lines.append("On the best path")
    return "<br>".join(lines)


def _alt(scenario: Scenario, path: Sequence[str], best: Sequence[str]) -> str:
    kinds = [node.kind for node in scenario.nodes.values()]
    first = (
        f"Map of “{scenario.title}” from left to right: {plural(len(kinds), 'point')} "
        f"({plural(kinds.count('decision'), 'decision')}, {plural(kinds.count('ending'), 'ending')})."
    )
    if not path:
        return first + " You have not started on a path yet."
    route = " → ".join(path)
    end = scenario.nodes[path[-1]].ending
    second = f"Your path, thick and numbered, visits {plural(len(path), 'point')}: {route}"
    second += f", ending {end}" if end else ", not finished yet"
    if best:
        shared = [n for n in path if n in set(best)]
        if list(path) == list(best):
            second += "; it is the same as the best path (dashed)"
        else:
            second += f"; the best path (dashed) runs {' → '.join(best)} and shares {plural(len(set(shared)), 'point')} with yours"
    return f"{first} {second}."
