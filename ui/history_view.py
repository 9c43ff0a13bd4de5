"""My history: past attempts, scores over time, and a way back to each debrief."""

from __future__ import annotations

import streamlit as st

from repairlab.charts.history import history_chart

from .context import current_user, get_services
from .debrief_view import show_chart
from .group_join_view import group_service
from .navigation import link

STATUS_LABELS = {"in_progress": "In progress", "completed": "Completed"}


def render() -> None:
    services = get_services()
    st.title("My history")
    user = current_user()
    if user is None:
        st.info("Enter your name on the library page to start keeping a history.")
        link("library", "Go to the scenario library")
        return
    attempts = services.practice.history(user.id)
    if not attempts:
        st.info("No attempts yet.")
        link("library", "Choose a first scenario")
        return
    zone_labels = {zid: zone.label for zid, zone in (services.catalog.rubric.zones.items() if services.catalog.rubric else [])}
    show_chart(history_chart(attempts, zone_labels), key="history")
    st.subheader("Attempts")
    for attempt in reversed(attempts):
        with st.container(border=True):
            score = "" if attempt.score is None else f" · score {attempt.score:.0f}"
            zone = "" if attempt.zone is None else f" · {zone_labels.get(attempt.zone, attempt.zone)}"
            ending = "" if attempt.ending is None else f" · ending: {attempt.ending}"
            st.markdown(
                f"**{attempt.title}** · {attempt.started_at:%Y-%m-%d %H:%M} · {attempt.mode} · "
                f"{STATUS_LABELS.get(attempt.status, attempt.status)}{score}{zone}{ending}"
            )
            if attempt.mode == "group":
                group = group_service().session_of_attempt(attempt.id)
                if group:
                    link("group_join", "Open the group session", group=group)
                continue
            label = "Open the debrief" if attempt.status == "completed" else "Resume this attempt"
            link("play", label, attempt=attempt.id)
