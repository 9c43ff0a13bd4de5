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

from .context import (
    current_account,
    current_guest,
    current_viewer,
    get_services,
    guests_allowed,
    set_current_user,
)
from .debrief_view import render_debrief
from .navigation import link


def render_feedback(outcome: ChoiceOutcome, rubric: Rubric, choice_text: str) -> None:
    zone = rubric.zone_label(outcome.zone)
    lines = [
        f"**Score {outcome.score:.0f} / 100** · Zone: **{zone}** · "
        f"Best score on offer: {outcome.best_score:.0f} / 100",
        "",
    ]
    for name, value in outcome.scores.items():
        dimension = rubric.dimensions[name]
        description = dimension.levels.get(value, "")
        lines.append(f"- **{dimension.label} {value}** (ideal {dimension.ideal}): {description}")
    st.info(f"**Feedback on your last response**\n\n> {choice_text}\n\n{outcome.feedback}\n\n" + "\n".join(lines))


def _choice_text(state: AttemptState, outcome: ChoiceOutcome) -> str:
    node = state.scenario.nodes[outcome.node]
    return next((c.text for c in node.choices or [] if c.id == outcome.choice), outcome.choice)


def render_last_feedback(state: AttemptState) -> None:
    """In coached mode, the feedback on the response just given (nothing before the first one)."""
    if state.coached and state.play.outcomes:
        last = state.play.outcomes[-1]
        render_feedback(last, state.rubric, _choice_text(state, last))


MESSAGE_KEY = "play_message"
FRESH_STATE_KEY = "play_fresh_state"
DRAWN_STATE_KEY = "play_drawn_state"


def _record(action, attempt_id: str) -> None:  # type: ignore[no-untyped-def]
    """Run a recording action in a widget callback, before the page reruns.

    Recording in the callback makes each click one script run instead of two;
    the state the service returns is handed to that run so it need not reload.
    """
    try:
        st.session_state[FRESH_STATE_KEY] = action()
    except Conflict as error:
        st.session_state[MESSAGE_KEY] = ("info", str(error))
    except UserFacingError as error:
        st.session_state[MESSAGE_KEY] = ("error", str(error))


def _drawn_state() -> AttemptState | None:
    """The state the page being answered was drawn from; used once, as the service changes it."""
    return st.session_state.pop(DRAWN_STATE_KEY, None)


def _on_respond(attempt_id: str, step: int, user_id: int, radio_key: str) -> None:
    picked = st.session_state.get(radio_key)
    if picked is None:
        st.session_state[MESSAGE_KEY] = ("warning", "Pick one of the responses first.")
        return
    practice, drawn = get_services().practice, _drawn_state()
    _record(lambda: practice.choose(attempt_id, step, picked, user_id, drawn), attempt_id)


def _on_continue(attempt_id: str, step: int, user_id: int) -> None:
    practice, drawn = get_services().practice, _drawn_state()
    _record(lambda: practice.proceed(attempt_id, step, user_id, drawn), attempt_id)


def fresh_state(attempt_id: str) -> AttemptState | None:
    """The state recorded by this run's callback, if it is for this attempt."""
    state = st.session_state.pop(FRESH_STATE_KEY, None)
    return state if state is not None and state.id == attempt_id else None


def show_message() -> None:
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        kind, text = message
        getattr(st, kind)(text)


def render_node(state: AttemptState) -> None:
    """The client's name, words and nonverbal cue (one element), then Continue or the choices."""
    play = state.play
    node = play.node
    show_message()
    said = [f"### {state.scenario.client}", node.text]
    if node.cue:
        said.append(f"**Nonverbal cue:** {node.cue}")
    st.markdown("\n\n".join(said))
    if play.kind == "narration":
        st.button(
            "Continue", type="primary", key=f"continue-{play.step}",
            on_click=_on_continue, args=(state.id, play.step, state.user_id),
        )
        return
    offered = state.offered_choices()
    radio_key = f"pick-{state.id}-{play.step}"
    with st.form(f"choose-{play.step}"):
        st.radio(
            "How do you respond?",
            options=[choice.id for choice in offered],
            format_func={choice.id: choice.text for choice in offered}.get,
            index=None,
            key=radio_key,
        )
        st.form_submit_button(
            "Respond", type="primary",
            on_click=_on_respond, args=(state.id, play.step, state.user_id, radio_key),
        )


def _plays_own_attempt(state: AttemptState) -> bool:
    account = current_account()
    if account is not None:
        return account.id == state.user_id
    guest = current_guest()
    return guest is not None and guest.id == state.user_id


def render() -> None:
    services = get_services()
    attempt_id = st.query_params.get("attempt")
    if not attempt_id:
        st.title("Play")
        st.info("No attempt is open. Start one from the scenario library.")
        link("library", "Go to the scenario library")
        return
    try:
        fresh = fresh_state(attempt_id)
        state = fresh or services.practice.load(attempt_id)
        if state.mode == "group":
            from .group_join_view import group_service

            st.info("This attempt was played in a group session; its debrief is on the group's page.")
            group = group_service().session_of_attempt(state.id)
            if group:
                link("group_join", "Open the group session", group=group)
            return
        # A state fresh from this run's Respond/Continue needs no second ownership check: that
        # form was drawn only for the attempt's owner, and the service checked the owner again.
        if fresh is None and not _plays_own_attempt(state):
            owner = services.practice.user_by_id(state.user_id)
            if owner is not None and owner.is_guest and guests_allowed():
                set_current_user(owner)  # a guest's attempt link is its key
            else:
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
    render_attempt(state)


def case_brief(state: AttemptState) -> str:
    """The client, the mode, the therapist's mistake, the case summary and the objectives."""
    scenario = state.scenario
    parts = [f"**Client:** {scenario.client} · **Mode:** {state.mode}", f"**The mistake:** {scenario.mistake}"]
    parts.append(scenario.summary)
    if scenario.objectives:
        parts.append("**Objectives**\n\n" + "\n".join(f"- {objective}" for objective in scenario.objectives))
    return "\n\n".join(parts)


def render_attempt(state: AttemptState) -> None:
    """An attempt in progress: title, progress, the case brief first, feedback, then the node.

    The brief is shown in full before the first response; after that it stays one hover or
    one Tab away, in the help icon beside the title, instead of taking space at every step.
    """
    scenario, play = state.scenario, state.play
    # The next Respond/Continue records on top of this state instead of reading it back.
    st.session_state[DRAWN_STATE_KEY] = state
    brief = case_brief(state)
    st.title(scenario.title, help=brief)
    made, total = progress(play)
    st.progress(made / total if total else 1.0, text=f"Decision {made + 1} of at least {total}"
                if play.kind == "decision" else f"{made} decision(s) made")
    if play.step == 0:
        with st.expander("Case summary and objectives", expanded=True):
            st.markdown(f"{brief}\n\n*{BRIEF_LATER}*")
    render_last_feedback(state)
    render_node(state)


BRIEF_LATER = "Later in the scenario, the help icon beside the title shows this brief again."
