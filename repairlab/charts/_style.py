"""Shared look of Repair Lab's charts: calm, legible on a projector, colour-safe."""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

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


def base_layout(fig: go.Figure, *, title: str, height: int, show_legend: bool = False) -> None:
    """Apply the common template, fonts, margins and a fixed height."""
    fig.update_layout(
        template=TEMPLATE,
        height=height,
        title={"text": title, "x": 0.0, "xanchor": "left", "font": {"size": TITLE_SIZE, "color": INK}},
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


def empty_notice(fig: go.Figure, text: str) -> None:
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
