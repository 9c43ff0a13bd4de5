"""Helpers for reading chart figures the way a person looks at them."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from engine import Playthrough, Rubric, Scenario


def play(scenario: Scenario, rubric: Rubric, *choices: str) -> Playthrough:
    """Play `choices` in order, continuing through narration as a trainee would."""
    run = Playthrough.start(scenario, rubric)
    for choice in choices:
        run.proceed_through_narration()
        run.choose(choice)
    run.proceed_through_narration()
    return run


def trace(fig: go.Figure, name: str) -> Any:
    """The one trace called `name` (as shown in the legend or hover)."""
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, f"expected one trace named {name!r}; traces: {[t.name for t in fig.data]}"
    return found[0]


def has_trace(fig: go.Figure, name: str) -> bool:
    return any(t.name == name for t in fig.data)


def annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def segments(xs: Any, ys: Any) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The (first point, last point) of each polyline in a trace whose lines are separated by None."""
    found = []
    current: list[tuple[float, float]] = []
    for x, y in [*zip(xs, ys, strict=True), (None, None)]:
        if x is None:
            if current:
                found.append((current[0], current[-1]))
            current = []
        else:
            current.append((x, y))
    return found


def assert_plotly_white(figure, white: dict, name: str) -> None:  # type: ignore[no-untyped-def]
    """The figure's template is plotly_white less only what cannot apply to it: the defaults of
    trace types it does not draw and of 3D, geo and ternary subplots (it draws none)."""
    template = figure.layout.template.to_plotly_json()
    types = {trace.type for trace in figure.data}
    assert template["data"] == {t: v for t, v in white["data"].items() if t in types}, name
    assert template["layout"] == {k: v for k, v in white["layout"].items() if k not in {"scene", "geo", "ternary"}}, name
