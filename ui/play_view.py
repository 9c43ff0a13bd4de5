"""Playing one attempt: the client's words, the cue, the choices, coached feedback.

The attempt id lives in the URL, and every action is saved before the page
moves on, so a refresh, a closed tab or a server restart resumes right here.
"""

from __future__ import annotations

import streamlit as st

from engine import ChoiceOutcome, Rubric
from repairlab.services.errors import Conflict, UserFacingError
from repairlab.services.practice import AttemptState
from repairlab.services.progress import progress

from .context import current_account, current_viewer, get_services, guests_allowed, set_current_user
from .debrief_view import render_debrief
from .navigation import link


def render_feedback(outcome: ChoiceOutcome, rubric: Rubric, choice_text: str) -> None:
    zone = rubric.zone_label(outcome.zone)
    with st.container(border=True):
        st.markdown("**Feedback on your last response**")
        st.markdown(f"> {choice_text}")
        st.markdown(outcome.feedback)
        columns = st.columns(3)
        columns[0].metric("Score", f"{outcome.score:.0f} / 100")
        columns[1].metric("Zone", zone)
        columns[2].metric("Best score on offer", f"{outcome.best_score:.0f} / 100")
        lines = []
        for name, value in outcome.scores.items():
            dimension = rubric.dimensions[name]
            description = dimension.levels.get(value, "")
            lines.append(f"- **{dimension.label} {value}** (ideal {dimension.ideal}): {description}")
        st.markdown("\n".join(lines))


def _choice_text(state: AttemptState, outcome: ChoiceOutcome) -> str:
    node = state.scenario.nodes[outcome.node]
    return next((c.text for c in node.choices or [] if c.id == outcome.choice), outcome.choice)


def render_node(state: AttemptState) -> None:
    services = get_services()
    play = state.play
    node = play.node
    st.markdown(node.text)
    if node.cue:
        st.caption(f"Nonverbal cue: {node.cue}")
    if play.kind == "narration":
        if st.button("Continue", type="primary", key=f"continue-{play.step}"):
            _act(lambda: services.practice.proceed(state.id, play.step, state.user_id))
        return
    offered = state.offered_choices()
    with st.form(f"choose-{play.step}"):
        picked = st.radio(
            "How do you respond?",
            options=[choice.id for choice in offered],
            format_func={choice.id: choice.text for choice in offered}.get,
            index=None,
        )
        if st.form_submit_button("Respond", type="primary"):
            if picked is None:
                st.warning("Pick one of the responses first.")
            else:
                _act(lambda: services.practice.choose(state.id, play.step, picked, state.user_id))


def _act(action) -> None:  # type: ignore[no-untyped-def]
    try:
        action()
    except Conflict as error:
        st.toast(str(error))
    except UserFacingError as error:
        st.error(str(error))
        return
    st.rerun()


def render() -> None:
    services = get_services()
    attempt_id = st.query_params.get("attempt")
    if not attempt_id:
        st.title("Play")
        st.info("No attempt is open. Start one from the scenario library.")
        link("library", "Go to the scenario library")
        return
    try:
        state = services.practice.load(attempt_id)
        if state.mode == "group":
            from .group_join_view import group_service

            st.info("This attempt was played in a group session; its debrief is on the group's page.")
            group = group_service().session_of_attempt(state.id)
            if group:
                link("group_join", "Open the group session", group=group)
            return
        owner = services.practice.user_by_id(state.user_id)
        account = current_account()
        if owner is not None and owner.is_guest and guests_allowed():
            set_current_user(owner)  # a guest's attempt link is its key
        elif account is None or account.id != state.user_id:
            viewer = current_viewer()
            if viewer is None:
                st.warning("Please sign in to open this attempt.")
                link("signin", "Sign in")
                return
            state = services.records.open_attempt(viewer, attempt_id)  # scoped and audited
            if not state.finished:
                st.info("This attempt is still in progress; its debrief appears when it is finished.")
                return
            render_debrief(state, read_only=True)
            return
    except UserFacingError as error:
        st.error(str(error))
        link("library", "Go to the scenario library")
        return
    if state.finished:
        render_debrief(state)
        return
    scenario, play = state.scenario, state.play
    st.title(scenario.title)
    made, total = progress(play)
    st.progress(made / total if total else 1.0, text=f"Decision {made + 1} of at least {total}"
                if play.kind == "decision" else f"{made} decision(s) made")
    with st.expander("Case summary and objectives", expanded=play.step == 0):
        st.markdown(f"**Client:** {scenario.client} · **Mode:** {state.mode}")
        st.markdown(f"**The mistake:** {scenario.mistake}")
        st.markdown(scenario.summary)
        if scenario.objectives:
            st.markdown("**Objectives**")
            st.markdown("\n".join(f"- {objective}" for objective in scenario.objectives))
    if state.coached and play.outcomes:
        last = play.outcomes[-1]
        render_feedback(last, state.rubric, _choice_text(state, last))
    st.subheader(f"{scenario.client}")
    render_node(state)
