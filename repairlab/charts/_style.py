"""Shared look of Repair Lab's charts: calm, legible on a projector, colour-safe."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE = "plotly_white"
FONT_FAMILY = "Source Sans Pro, Helvetica Neue, Arial, sans-serif"
FONT_SIZE = 16
SMALL = 14
TITLE_SIZE = 20

# Okabe-Ito colours (distinguishable with the common colour-vision deficiencies);
# every distinction they carry is also carried by a symbol, a dash or a label.
INK = "#1F2933"
MUTED = "#6B7280"
GRID = "#E5E7EB"
BLUE = "#0B5394"
VERMILLION = "#C0461B"
GREEN = "#00795A"
PURPLE = "#8E4B8E"
SKY = "#2C7FB8"
AMBER = "#9A6A00"
SERIES = (BLUE, VERMILLION, GREEN, PURPLE, AMBER, SKY, INK)

# Zone tints: very light so that points and labels stay the focus.
ZONE_IDEAL_TINT = "rgba(0, 121, 90, 0.12)"
ZONE_TINTS = ("rgba(192, 70, 27, 0.09)", "rgba(154, 106, 0, 0.10)", "rgba(107, 114, 128, 0.10)")

# Marker symbols for series that must be told apart without colour.
SYMBOLS = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "star",
    "hexagon",
    "cross",
    "triangle-down",
    "pentagon",
    "x",
)


class Draft:
    """A figure assembled as plain dicts, turned into a `go.Figure` once by `build`.

    Plotly validates every property on every `add_*`/`update_*` call, which
    costs about 60 ms per chart, too slow for a page that must update within
    50 ms of a click. The drafts are built from the same property names
    without that per-call validation; the tests validate every builder's
    output in full instead (`go.Figure(chart.figure.to_dict())`).
    """

    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []
        self.layout: dict[str, Any] = {}

    def add_trace(self, trace: dict[str, Any]) -> None:
        self.data.append(trace)

    def add_shape(self, **shape: Any) -> None:
        self.layout.setdefault("shapes", []).append(shape)

    def add_annotation(self, **note: Any) -> None:
        self.layout.setdefault("annotations", []).append(note)

    def update_layout(self, **changes: Any) -> None:
        _merge(self.layout, changes)

    def update_xaxes(self, **changes: Any) -> None:
        _merge(self.layout.setdefault("xaxis", {}), changes)

    def update_yaxes(self, **changes: Any) -> None:
        _merge(self.layout.setdefault("yaxis", {}), changes)

    def build(self) -> go.Figure:
        """The figure, with only the parts of the template that apply to its traces (see
        `_lean_template`): the same chart, a third of the template's size to copy, check and
        send on every rerun."""
        types = frozenset(trace.get("type", "scatter") for trace in self.data)
        layout = {**self.layout, "template": _template(TEMPLATE, types)}
        return go.Figure(data=self.data, layout=layout, _validate=False)


def scatter(**properties: Any) -> dict[str, Any]:
    return {"type": "scatter", **properties}


def bar(**properties: Any) -> dict[str, Any]:
    return {"type": "bar", **properties}


# Subplot defaults in a template's layout that only apply to the traces drawn on such a subplot.
SUBPLOT_TRACES = {
    "scene": frozenset({"scatter3d", "surface", "mesh3d", "cone", "streamtube", "volume", "isosurface"}),
    "geo": frozenset({"scattergeo", "choropleth"}),
    "ternary": frozenset({"scatterternary"}),
}


@cache
def _template_json(name: str, types: frozenset[str]) -> str:
    return json.dumps(_lean_template(pio.templates[name].to_plotly_json(), types))


def _lean_template(template: dict[str, Any], types: frozenset[str]) -> dict[str, Any]:
    """`template` less what cannot apply to a figure whose traces are of `types`:
    per-trace-type defaults of other trace types (plotly.js applies ``template.data[type]`` only
    to traces of that type) and the defaults of 3D, geo and ternary subplots when no trace is
    drawn on one."""
    layout = {
        key: value for key, value in template.get("layout", {}).items()
        if key not in SUBPLOT_TRACES or SUBPLOT_TRACES[key] & types
    }
    data = {key: value for key, value in template.get("data", {}).items() if key in types}
    return {**template, "data": data, "layout": layout}


def _template(name: str, types: frozenset[str]) -> dict[str, Any]:
    """A fresh copy of a named template as plain data (parsed from cached JSON); `types`: only
    what applies to traces of these types (`_lean_template`)."""
    return json.loads(_template_json(name, types))


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def base_layout(fig: Draft, *, title: str, height: int, show_legend: bool = False) -> None:
    """Apply the common fonts, margins, legend style and a fixed height."""
    fig.update_layout(
        height=height,
        title={
            "text": esc(title),
            "x": 0.0,
            "xref": "paper",
            "xanchor": "left",
            "font": {"size": TITLE_SIZE, "color": INK},
        },
        font={"family": FONT_FAMILY, "size": FONT_SIZE, "color": INK},
        hoverlabel={"font": {"size": SMALL, "family": FONT_FAMILY}, "bgcolor": "white"},
        margin={"l": 70, "r": 30, "t": 70, "b": 70},
        showlegend=show_legend,
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -0.14,
            "xanchor": "left",
            "x": 0.0,
            "font": {"size": SMALL},
            "bgcolor": "rgba(255,255,255,0)",
        },
        plot_bgcolor="white",
        paper_bgcolor="white",
    )


def empty_notice(fig: Draft, text: str) -> None:
    """A centred message for a chart with nothing to plot."""
    fig.add_annotation(
        text=text,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": TITLE_SIZE, "color": MUTED},
    )


def fmt(value: float, digits: int = 1) -> str:
    """A number as shown to trainees: at most `digits` decimals, no trailing zeros."""
    text = f"{value:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def join_words(items: Iterable[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def esc(text: object) -> str:
    """Author or trainee text made inert in plotly's HTML-like labels (tags shown as text)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
