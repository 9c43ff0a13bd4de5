"""Chart builders for the debrief and history pages: pure plotly + pandas, no UI.

Every builder returns a :class:`Chart`: the plotly figure, a one-or-two
sentence ``alt`` description of what the chart shows for *this* data (for
screen readers and for a caption), and ``table``, the same data as a table
alternative. Nothing is conveyed by colour alone: marker symbols, text labels
and line dashes carry every distinction, colour only reinforces them.

This package never imports streamlit; the UI wires the figures in with
``st.plotly_chart(chart.figure, ...)`` and shows ``chart.table`` beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go


@dataclass(frozen=True, eq=False)  # eq would compare DataFrames, which is ambiguous
class Chart:
    """A figure with its text description and its table alternative."""

    figure: go.Figure
    alt: str
    table: pd.DataFrame


# The builders import `Chart` from this module, so they are imported after it.
from .balance import balance_chart  # noqa: E402
from .dimensions import dimension_bars  # noqa: E402
from .history import history_chart, zone_labels  # noqa: E402
from .path_graph import path_graph  # noqa: E402

__all__ = ["Chart", "balance_chart", "dimension_bars", "history_chart", "path_graph", "zone_labels"]
