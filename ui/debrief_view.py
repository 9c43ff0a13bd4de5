"""The debrief of a finished attempt: ending, scores, charts, reflection."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from repairlab.charts import Chart
from repairlab.charts.balance import balance_chart
from repairlab.charts.dimensions import dimension_bars
from repairlab.charts.path_graph import path_graph
from repairlab.services.debrief import build_debrief
from repairlab.services.errors import UserFacingError
from repairlab.services.practice import MAX_REFLECTION, AttemptState

from .context import get_services
from .navigation import go, link

ENDING_TITLES = {
    "repaired": "The rupture was repaired",
    "partial": "The rupture was partly repaired",
    "unrepaired": "The rupture was not repaired",
}


def show_chart(chart: Chart, key: str) -> None:
    st.plotly_chart(
        chart.figure, theme=None, width="stretch", key=key, alt=chart.alt,
        config={"displayModeBar": False, "displaylogo": False, "scrollZoom": False},
    )
    st.text(chart.alt)
    with st.expander("Show this chart as a table"):
        st.dataframe(chart.table, hide_index=True)


def render_debrief(state: AttemptState, read_only: bool = False, preview: bool = False) -> None:
    """The debrief; `read_only` for a supervisor reviewing a trainee's attempt,
    `preview` for an author's preview play (no reflection, no replay)."""
    services = get_services()
    rubric = state.rubric
    debrief = build_debrief(state)
    report = debrief.report
    st.title(f"Debrief: {state.scenario.title}")
    st.header(ENDING_TITLES.get(report.ending or "", "The session ended"))
    st.markdown(debrief.ending_text)
    if debrief.ending_debrief:
        st.info(debrief.ending_debrief)
    columns = st.columns(3)
    columns[0].metric("Attempt score", "n/a" if report.score is None else f"{report.score:.0f} / 100")
    columns[1].metric("Overall zone", rubric.zone_label(report.zone) if report.zone else "n/a")
    best = debrief.best.report()
    columns[2].metric("Best path score", "n/a" if best.score is None else f"{best.score:.0f} / 100")

    if report.choices:
        left, right = st.columns([3, 2])
        with left:
            st.subheader("Where your choices fall")
            show_chart(
                balance_chart(rubric, debrief.outcomes, report.means, comparison=best.choices),
                key="balance",
            )
        with right:
            st.subheader("Each dimension against the ideal")
            show_chart(dimension_bars(rubric, report.means, title="Mean vs ideal"), key="dimensions")

    st.subheader("Decision by decision")
    for row in debrief.rows:
        with st.container(border=True):
            st.markdown(f"**Decision {row.step}.** {row.situation}")
            left, right = st.columns(2)
            with left:
                st.markdown(f"**You said** ({row.score:.0f}, {row.zone})")
                st.markdown(f"> {row.chosen_text}")
                st.markdown(row.chosen_feedback)
            with right:
                if row.chosen_text == row.best_text:
                    st.markdown(f"**Best response on offer** ({row.best_score:.0f}): this was your choice.")
                else:
                    st.markdown(f"**Best response on offer** ({row.best_score:.0f})")
                    st.markdown(f"> {row.best_text}")
                    st.markdown(row.best_feedback)
    table = pd.DataFrame(
        [
            {"Decision": r.step, "Your response": r.chosen_text, "Score": round(r.score), "Zone": r.zone,
             "Best response": r.best_text, "Best score": round(r.best_score)}
            for r in debrief.rows
        ]
    )
    with st.expander("All decisions as a table"):
        st.dataframe(table, hide_index=True)

    st.subheader("Repair strategies you used")
    if debrief.strategies:
        st.dataframe(pd.DataFrame(debrief.strategies, columns=["Strategy", "Times used"]), hide_index=True)
    else:
        st.markdown("None of your responses used a named repair strategy.")
    st.subheader("Your path through the scenario")
    show_chart(path_graph(state.scenario, report.path, debrief.best.path), key="path")

    if preview:
        return
    st.subheader("Reflection")
    if read_only:
        st.markdown("**The trainee's reflection:**")
        st.text(state.reflection or "(none written)")
        return
    with st.form("reflection"):
        text = st.text_area(
            "What would you try next time?", value=state.reflection or "", max_chars=MAX_REFLECTION, height=140
        )
        if st.form_submit_button("Save reflection"):
            try:
                services.practice.save_reflection(state.id, text, state.user_id)
                st.success("Reflection saved.")
            except UserFacingError as error:
                st.error(str(error))
    left, right = st.columns(2)
    if left.button("Replay this scenario", type="primary"):
        try:
            replay = services.practice.start(state.user_id, state.scenario_id, state.mode)
            go("play", attempt=replay.id)
        except UserFacingError as error:
            st.error(str(error))
    with right:
        link("library", "Try another scenario")
