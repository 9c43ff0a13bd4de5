"""A trainee's own trend against the anonymous median of their cohorts.

`render_section()` draws only the chart and its controls, so the history
page can embed it; `render()` is the page. Only the trainee's own attempts
are shown as such: the cohort line is a median over at least
`analytics.MIN_PEERS` trainees per period, never anyone's own scores.
"""

from __future__ import annotations

import streamlit as st

from repairlab.charts.cohort import trainee_trend_chart
from repairlab.services.access import Viewer
from repairlab.services.analytics import MIN_PEERS
from repairlab.services.errors import UserFacingError

from .context import get_services
from .dashboard_view import GRAIN_LABELS, current_viewer, show_chart


def render_section(viewer: Viewer, key: str = "trend") -> None:
    grain = st.radio("Periods", list(GRAIN_LABELS), format_func=GRAIN_LABELS.get, horizontal=True,
                     key=f"{key}_grain")
    try:
        trend = get_services().analytics.trainee_trend(viewer, grain)
    except UserFacingError as error:
        st.info(str(error))
        return
    show_chart(trainee_trend_chart(trend.own, trend.cohort, grain), key, clickable=True)
    if trend.cohorts:
        st.caption(
            f"The cohort line is the median attempt score of everyone in {', '.join(trend.cohorts)}, shown only "
            f"for periods in which at least {MIN_PEERS} trainees practised; nobody's own scores are shown."
        )
    else:
        st.caption("You are not enrolled in a cohort, so there is no cohort median to compare with.")


def render(viewer: Viewer | None = None) -> None:
    st.title("My trend")
    viewer = viewer or current_viewer()
    if viewer is None:
        st.info("Sign in, or enter your name on the library page, to see your trend.")
        return
    render_section(viewer)
