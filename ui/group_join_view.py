"""Joining a group session and taking part: the code, the private answer, the results.

Everything the page shows is read from the database on each run, so a
refresh, a lost connection or another device (the same account, or the guest
link `?u=...&group=...`) lands exactly where the group is, answers intact.

Live updates come from a small fragment that re-runs every 2 s and only
*compares* the session's status, position and reveal flag with what the page
was drawn for; when the group has moved on it reruns the whole page. The
room's trainees in one process share that read (at most one a second). The
answer form is outside that fragment, so a half-made choice is never
disturbed while the group stands still.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from repairlab.charts.balance import balance_chart
from repairlab.charts.group import distribution_chart, group_balance_chart
from repairlab.services.access import Viewer
from repairlab.services.errors import Conflict, UserFacingError
from repairlab.services.groups import Counts, GroupService, LiveToken, SessionInfo
from repairlab.services.practice import UserRef
from repairlab.services.progress import progress

from .context import current_user, get_services, guests_allowed, set_current_user
from .debrief_view import ENDING_TITLES, render_debrief, show_chart
from .literal import md

REFRESH = "2s"  # trainees: the live check; 120 phones at 2 s stay within one process
TOKEN_KEY = "group_live_token"
GROUP_PARAM = "group"
CODE_PARAM = "code"


# -- shared with the host's page ---------------------------------------------------------


def group_service() -> GroupService:
    """The group service of this deployment (stateless: cheap to build on each run)."""
    services = get_services()
    return GroupService(services.store, services.catalog, services.practice, guests_allowed())


def viewer_of(user: UserRef) -> Viewer:
    return Viewer(user.id, user.role)


def zone_labels(session_rubric) -> list[str]:  # type: ignore[no-untyped-def]
    return [zone.label for zone in session_rubric.zones.values()]


def big_text(text: str) -> None:
    """Node text in large type (readable on a projector), escaped as ordinary markdown."""
    for paragraph in [p.strip() for p in text.split("\n\n") if p.strip()]:
        st.markdown("### " + " ".join(paragraph.split()))


def render_choice_results(results, my_answer: str | None = None, key: str = "results") -> None:  # type: ignore[no-untyped-def]
    """Each response with its letter, count, score, zone and feedback (anonymous)."""
    for row in results.choices:
        with st.container(border=True):
            mine = " · **your answer**" if row.choice_id == my_answer else ""
            best = " · best on offer" if row.is_best else ""
            st.markdown(
                f"**{row.letter}.** {row.count} of {results.answered} · score {row.score:.0f} · {row.zone}{best}{mine}"
            )
            st.markdown(f"> {row.text}")
            st.markdown(row.feedback)
            if row.strategies:
                st.caption("Strategies: " + ", ".join(row.strategies))


def render_group_debrief(data, key: str) -> None:  # type: ignore[no-untyped-def]
    """The group debrief: the distribution at every decision, the group's balance, strategies."""
    rubric = data.rubric
    st.subheader("The group's debrief")
    columns = st.columns(3)
    columns[0].metric("Participants", data.participants)
    columns[1].metric("Answers given", data.answers)
    columns[2].metric(
        "Mean answer score", "n/a" if data.mean_score is None else f"{data.mean_score:.0f} / 100"
    )
    if data.points:
        show_chart(group_balance_chart(rubric, data.points), key=f"{key}-balance")
    labels = zone_labels(rubric)
    for decision in data.decisions:
        with st.expander(f"Decision {decision.number}: how the group answered", expanded=False):
            st.markdown(decision.situation)
            show_chart(
                distribution_chart(decision.tally, labels, title=f"Decision {decision.number}"),
                key=f"{key}-d{decision.number}",
            )
            followed = decision.tally.by_id(decision.branch) if decision.branch else None
            if followed is not None:
                st.markdown(f"The group followed **{followed.letter}**: {followed.text}")
    left, right = st.columns(2)
    with left:
        st.markdown("**Answers by zone**")
        st.dataframe(pd.DataFrame(data.zones, columns=["Zone", "Answers"]), hide_index=True)
    with right:
        st.markdown("**Repair strategies in the group's answers**")
        if data.strategies:
            st.dataframe(pd.DataFrame(data.strategies, columns=["Strategy", "Answers"]), hide_index=True)
        else:
            st.markdown("No answer used a named repair strategy.")


# -- the live watcher --------------------------------------------------------------------


LiveState = tuple[LiveToken, Counts]
SHARED_LIVE_SECONDS = 1.0  # one read per group per second in a process, however many trainees watch


@st.cache_data(ttl=SHARED_LIVE_SECONDS, max_entries=256, show_spinner=False)
def shared_live_state(session_id: str) -> LiveState | None:
    """What every trainee's live fragment in this process shows, read once for the whole room.

    A room of trainees polls the same group; without sharing, 120 phones at a
    2 s refresh make 60 identical reads a second. The host's page reads fresh.
    """
    return group_service().live_state(session_id)


SETTLE_AFTER_SECONDS = 5.0  # the extra full run after a move: after the room's own reruns for it
DRAWING_KEY = "group_page_drawing"
SETTLED_KEY = "group_live_settled_for"
PAGE_DONE_KEY = "group_page_done_at"
RACE_SECONDS = 0.25  # a fragment run starting this soon after a page run ended may have cut its end


@dataclass(frozen=True)
class Drawn:
    """What a full page run drew: the group's token then, when, and whether it was a move."""

    token: LiveToken
    at: float
    moved: bool


def _follow_the_group(session_id: str, drawn: Drawn) -> LiveState | None:
    """Rerun the whole page when the group has moved on since `drawn`; repair a lost page end.

    Under load Streamlit can drop the end of a page run: when a fragment's timer
    fires just as a full run finishes, a new script runner takes the fragment
    and the old runner's last messages never reach the browser, which keeps a
    half-old page while the session holds the new token. (Measured with 120
    trainees: one stayed on the pre-reveal page for 60 s.) Two repairs: a
    fragment run that starts right after a page run ended reruns the page, and
    after each move one more full run follows on the first tick 5 s later,
    after the room's own reruns for the move.
    """
    live = shared_live_state(session_id)
    if live is None or st.session_state.get(DRAWING_KEY) == drawn.at:
        return live  # called inside the page run that is drawing `drawn`: nothing to compare yet
    now = time.monotonic()
    if live[0] != drawn.token:
        st.rerun(scope="app")
    if now - st.session_state.get(PAGE_DONE_KEY, float("-inf")) < RACE_SECONDS:
        st.rerun(scope="app")  # this fragment run may have cost the page run its last messages
    settle_due = drawn.moved and now - drawn.at >= SETTLE_AFTER_SECONDS
    if settle_due and st.session_state.get(SETTLED_KEY) != drawn.at:
        st.session_state[SETTLED_KEY] = drawn.at
        st.rerun(scope="app")
    return live


@st.fragment(run_every=REFRESH)
def _watch(session_id: str, drawn: Drawn, show_counts: bool = True) -> None:
    """Rerun the whole page when the group moves on; otherwise show the live counts, if asked."""
    live = _follow_the_group(session_id, drawn)
    if live is not None and show_counts:
        counts = live[1]
        st.caption(f"{counts.answered} of {counts.joined} have answered · updates on its own")


# -- the page ----------------------------------------------------------------------------


def render() -> None:
    groups = group_service()
    user = current_user()
    session_id = st.query_params.get(GROUP_PARAM)
    if session_id and user is not None and groups.membership(session_id, user.id) is not None:
        render_member(groups, session_id, user)
        return
    render_join_form(groups, user)


def render_join_form(groups: GroupService, user: UserRef | None) -> None:
    st.title("Join a group session")
    st.caption("Your supervisor shows a join code (and a QR code) on the projector.")
    allowed = groups.guests_allowed
    if user is None and not allowed:
        st.warning("Please sign in first: this server does not let guests join group sessions.")
    with st.form("join-group"):
        code = st.text_input("Join code", value=st.query_params.get(CODE_PARAM, ""), max_chars=12)
        name = None
        if user is None and allowed:
            name = st.text_input(
                "Your name or a nickname",
                max_chars=60,
                help="Only you and your supervisor see it; the group's shared screens show a pseudonym.",
            )
        elif user is not None:
            st.markdown(f"Joining as **{md(user.display_name)}**.")
        if st.form_submit_button("Join", type="primary"):
            try:
                found = groups.find_open(code)
                if user is None:
                    if not allowed:
                        raise UserFacingError("Please sign in first to join.")
                    user = get_services().practice.create_guest(name or "")
                    set_current_user(user)
                membership = groups.join(user.id, found.code)
            except UserFacingError as error:
                st.error(str(error))
                return
            st.query_params[CODE_PARAM] = found.code
            st.query_params[GROUP_PARAM] = membership.session_id
            st.rerun()


def render_member(groups: GroupService, session_id: str, user: UserRef) -> None:
    try:
        info = groups.session_for_participant(session_id, user.id)
    except UserFacingError as error:
        st.error(str(error))
        return
    token = LiveToken(info.status, info.position, info.revealed)
    previous = st.session_state.get(TOKEN_KEY)
    st.session_state[TOKEN_KEY] = token
    drawn = Drawn(token, time.monotonic(), moved=previous is not None and previous != token)
    st.title(info.title)
    st.caption(f"Group session {info.code} · {info.mode_label} · joined as {md(user.display_name)}")
    if not info.is_open:
        st.info("The host has closed this session. Your answers are saved; you can read the results below.")
    st.session_state[DRAWING_KEY] = drawn.at  # the watcher's call inside this run is not a live check
    try:
        if info.supervisor_paced:
            render_supervisor_paced(groups, info, user, drawn)
        else:
            render_self_paced(groups, info, user, drawn)
    finally:
        del st.session_state[DRAWING_KEY]
        st.session_state[PAGE_DONE_KEY] = time.monotonic()


def render_supervisor_paced(groups: GroupService, info: SessionInfo, user: UserRef, drawn: Drawn) -> None:
    view = groups.participant_view(info.id, user.id)
    position = view.position
    if info.is_open and not position.finished:
        _watch(info.id, drawn)  # first: its timer must not depend on the end of this run arriving
    if position.finished:
        st.header(ENDING_TITLES.get(position.play.ending or "", "The session ended"))
        st.markdown(position.text)
        render_own_debrief(groups, info, user)
        render_group_debrief(groups.group_debrief(info.id, user_id=user.id), key="join-group")
        return
    st.subheader(
        f"{position.scenario.client} · decision {position.decisions_passed + 1}"
        if position.kind == "decision"
        else position.scenario.client
    )
    big_text(position.text)
    if position.cue:
        st.caption(f"Nonverbal cue: {position.cue}")
    if position.kind == "narration":
        st.info("Listen along: your supervisor will continue.")
        return
    if view.revealed:
        st.success("Results are in. Discuss them with the group; your supervisor picks the branch to follow.")
        show_chart(
            distribution_chart(view.results, zone_labels(position.rubric)), key=f"dist-{position.step}"
        )
        render_choice_results(view.results, view.my_answer)
        return
    if not view.can_answer:
        return
    by_id = {c.id: c.text for c in view.choices}
    ids = [c.id for c in view.choices]
    if view.my_answer:
        st.success("Your answer is saved. You can change it until your supervisor reveals the results.")
    radio_key = f"group-answer-{info.id}-{position.step}"
    message = st.session_state.pop(ANSWER_MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])
    with st.form(f"answer-{position.step}"):
        st.radio(
            "How do you respond? (only you see your choice)",
            options=ids,
            format_func=by_id.get,
            index=ids.index(view.my_answer) if view.my_answer in ids else None,
            key=radio_key,
        )
        # Recorded in the callback, before the page reruns: one script run per answer.
        st.form_submit_button(
            "Submit my answer", type="primary",
            on_click=_submit_answer, args=(info.id, user.id, position.step, radio_key),
        )


ANSWER_MESSAGE_KEY = "group_answer_message"


def _submit_answer(session_id: str, user_id: int, step: int, radio_key: str) -> None:
    picked = st.session_state.get(radio_key)
    if picked is None:
        st.session_state[ANSWER_MESSAGE_KEY] = ("warning", "Pick one of the responses first.")
        return
    try:
        group_service().answer(session_id, user_id, step, picked)
    except Conflict as error:
        st.session_state[ANSWER_MESSAGE_KEY] = ("info", str(error))
    except UserFacingError as error:
        st.session_state[ANSWER_MESSAGE_KEY] = ("error", str(error))


def render_own_debrief(groups: GroupService, info: SessionInfo, user: UserRef) -> None:
    debrief = groups.trainee_debrief(info.id, user.id)
    result, rubric = debrief.result, debrief.rubric
    st.subheader("Your own debrief")
    st.caption(
        "In a group session the path and the ending are the group's. Each of your answers is scored at the "
        "group's node, against what was on offer there, even where the group went another way; decisions you "
        "did not answer are left out of your score."
    )
    answered = len(result.outcomes)
    columns = st.columns(3)
    columns[0].metric("Your score", "n/a" if result.score is None else f"{result.score:.0f} / 100")
    columns[1].metric("Your zone", rubric.zone_label(result.zone) if result.zone else "n/a")
    columns[2].metric("Decisions answered", f"{answered} of {result.decisions}")
    if result.outcomes:
        show_chart(
            balance_chart(rubric, result.outcomes, result.means, title="Balance of your answers"),
            key="own-balance",
        )
    for row in result.rows:
        with st.container(border=True):
            st.markdown(f"**Decision {row.number}.** {row.situation}")
            if row.answer is None:
                st.markdown("You did not answer this decision.")
            else:
                st.markdown(
                    f"**You answered** ({row.answer.score:.0f}, {rubric.zone_label(row.answer.zone)})"
                )
                st.markdown(f"> {row.answer_text}")
                st.markdown(row.answer.feedback)
            st.markdown(f"**Best on offer:** {row.best_text}")
            if row.group_choice_text:
                st.caption(f"The group followed: {row.group_choice_text}")
    if result.strategies:
        st.markdown("**Repair strategies in your answers**")
        st.dataframe(pd.DataFrame(result.strategies, columns=["Strategy", "Times used"]), hide_index=True)
    if debrief.attempt_id:
        st.caption("These results are saved in your records (My history) as a group attempt.")


def render_self_paced(groups: GroupService, info: SessionInfo, user: UserRef, drawn: Drawn) -> None:
    if info.is_open:
        _watch(info.id, drawn, show_counts=False)  # self-paced: only follows the session's state
    try:
        state = groups.own_attempt(info.id, user.id)
    except UserFacingError as error:
        st.warning(str(error))
        return
    if state.finished:
        render_debrief(state)
        return
    from .play_view import render_last_feedback, render_node

    play = state.play
    made, total = progress(play)
    st.progress(made / total if total else 1.0, text=f"{made} decision(s) made")
    if play.step == 0:
        with st.expander("Case summary", expanded=True):
            st.markdown(f"**The mistake:** {state.scenario.mistake}")
            st.markdown(state.scenario.summary)
    render_last_feedback(state)
    if not info.is_open:
        st.info("The session is closed, but your attempt is yours: continue it here or from My history.")
    render_node(state)
