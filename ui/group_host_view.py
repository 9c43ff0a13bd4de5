"""Hosting a group session: start it, show the code, run it node by node, debrief.

Made for a projector: the join code in huge type with a QR code of the join
link, the client's words as headings, live counts in a fragment that reads
the database every 1.5 s. The session id is in the URL (`?session=...`) and
all state is in the database, so the host's refresh (or another tab, or
another app replica) loses nothing.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from repairlab.charts.group import distribution_chart, zone_counts_chart
from repairlab.services.errors import Conflict, NotFound, UserFacingError
from repairlab.services.group_links import is_loopback, join_url, public_base_url, qr_png
from repairlab.services.groups import MODE_LABELS, NO_SESSION, GroupService, LiveToken, SessionInfo
from repairlab.services.practice import UserRef

from .context import current_user, get_services, set_current_user
from .debrief_view import ENDING_TITLES, show_chart
from .group_join_view import (
    big_text,
    group_service,
    render_choice_results,
    render_group_debrief,
    viewer_of,
    zone_labels,
)

SESSION_PARAM = "session"
TOKEN_KEY = "group_host_token"
FEEDBACK_LABELS = {
    "coached": "Coached: feedback after every response",
    "assessment": "Assessment: feedback only at the end",
}


def _base_url() -> str | None:
    try:
        url = st.context.url
        headers = dict(st.context.headers)
    except Exception:  # noqa: BLE001 - outside a browser session (tests) there is no request
        url, headers = None, {}
    return public_base_url(url, headers)


def _act(action) -> None:  # type: ignore[no-untyped-def]
    try:
        action()
    except Conflict as error:
        st.toast(str(error))
    except UserFacingError as error:
        st.error(str(error))
        return
    st.rerun()


# -- the page ---------------------------------------------------------------------------


def render() -> None:
    groups = group_service()
    user = current_user()
    if user is None:
        st.title("Host a group session")
        if not groups.guests_allowed:
            st.warning("Please sign in with a supervisor or administrator account to host a group session.")
            return
        _host_name_form()
        return
    viewer = viewer_of(user)
    session_id = st.query_params.get(SESSION_PARAM)
    if session_id:
        try:
            info = groups.session_for_host(viewer, session_id)
        except UserFacingError as error:
            st.title("Group session")
            st.error(str(error))
            return
        render_session(groups, user, info)
        return
    st.title("Host a group session")
    if not groups.can_host(viewer):
        st.error(
            "Only supervisors and administrators can host group sessions. To take part in one, open "
            "Join a group session and enter the code your supervisor shows."
        )
        return
    render_start(groups, user)
    render_my_sessions(groups, user)


def _host_name_form() -> None:
    with st.form("host-name"):
        st.markdown(
            "**Who is hosting?** Before any administrator account exists, this machine's user may host."
        )
        name = st.text_input("Your name", max_chars=60)
        if st.form_submit_button("Continue", type="primary"):
            try:
                set_current_user(get_services().practice.create_guest(name))
            except UserFacingError as error:
                st.error(str(error))
                return
            st.rerun()


def render_start(groups: GroupService, user: UserRef) -> None:
    services = get_services()
    entries = services.catalog.entries()
    if not entries:
        st.error("No scenario can be played: the library is empty or broken (see the Authors page).")
        return
    titles = {
        e.scenario.id: f"{e.scenario.title} ({e.scenario.difficulty}, {e.scenario.decision_count} decisions)"
        for e in entries
    }
    cohorts = groups.host_cohorts(viewer_of(user))
    with st.form("start-group"):
        scenario_id = st.selectbox("Scenario", list(titles), format_func=titles.get, key="group-scenario")
        mode = st.radio("Mode", list(MODE_LABELS), format_func=MODE_LABELS.get, key="group-mode")
        feedback = st.radio(
            "Feedback in self-paced mode",
            list(FEEDBACK_LABELS),
            format_func=FEEDBACK_LABELS.get,
            horizontal=True,
            key="group-feedback",
        )
        cohort_names = {cohort_id: name for cohort_id, name in cohorts}
        cohort = st.selectbox(
            "Cohort (optional: the results join its records)",
            [None, *cohort_names],
            format_func=lambda c: "No cohort" if c is None else cohort_names[c],
            key="group-cohort",
        )
        if st.form_submit_button("Start the session", type="primary"):
            try:
                info = groups.create_session(viewer_of(user), scenario_id, mode, cohort, feedback)
            except UserFacingError as error:
                st.error(str(error))
                return
            st.query_params[SESSION_PARAM] = info.id
            st.rerun()


def render_my_sessions(groups: GroupService, user: UserRef) -> None:
    sessions = groups.hosted_sessions(viewer_of(user))
    if not sessions:
        return
    st.subheader("Your recent sessions")
    for info in sessions:
        columns = st.columns([5, 2, 2])
        columns[0].markdown(
            f"**{info.title}** · {info.mode_label} · code {info.code} · {info.status} · "
            f"{info.created_at:%Y-%m-%d %H:%M}"
        )
        if columns[1].button("Open", key=f"open-{info.id}"):
            st.query_params[SESSION_PARAM] = info.id
            st.rerun()


def render_join_panel(info: SessionInfo, large: bool) -> None:
    base = _base_url()
    link = join_url(base, info.code)
    left, right = st.columns([3, 2]) if large else st.columns([4, 1])
    with left:
        st.markdown(f"{'#' if large else '###'} Join code: {' '.join(info.code)}")
        st.markdown(f"Open **{link}** or scan the QR code, then enter the code.")
        if is_loopback(base):
            st.warning(
                "This address only works on this computer. Open the app by its network address, or set "
                "REPAIRLAB_PUBLIC_URL, so that phones can join."
            )
    with right:
        st.image(
            qr_png(link),
            width=360 if large else 160,
            caption="Join link as a QR code",
            alt=f"QR code of the join link {link}",
        )


@st.fragment(run_every="1.5s")
def _live(session_id: str) -> None:
    """Live counts; reruns the page when the session changed elsewhere (another tab or replica)."""
    live = group_service().live_state(session_id)  # the token and the counts in one read
    if live is None:
        raise NotFound(NO_SESSION)
    token, counts = live
    if token != st.session_state.get(TOKEN_KEY):
        st.rerun(scope="app")
    left, right = st.columns(2)
    left.metric("Answered", f"{counts.answered} of {counts.joined}")
    right.metric("Joined", counts.joined)


@st.fragment(run_every="2s")
def _live_board(session_id: str, user_id: int, role: str) -> None:
    from repairlab.services.access import Viewer

    groups = group_service()
    token = groups.live_token(session_id)
    if token is not None and token != st.session_state.get(TOKEN_KEY):
        st.rerun(scope="app")
    board = groups.board(Viewer(user_id, role), session_id)
    columns = st.columns(3)
    columns[0].metric("Joined", board.joined)
    columns[1].metric("Finished", board.finished)
    columns[2].metric("Responses so far", sum(n for _, n in board.zones))
    left, right = st.columns(2)
    with left:
        show_chart(zone_counts_chart(board.zones, "Every response so far, by zone"), key="board-zones")
    with right:
        show_chart(
            zone_counts_chart(board.final_zones, "Finished attempts, by overall zone", what="attempt"),
            key="board-final",
        )
    table = pd.DataFrame(
        [
            {
                "Trainee": row.pseudonym,
                "Decisions made": row.decisions,
                "Status": "finished" if row.finished else ("playing" if row.started else "joined"),
                "Last response's zone": row.last_zone or "",
                "Ending": row.ending or "",
                "Score": "" if row.score is None else round(row.score),
            }
            for row in board.rows
        ],
        columns=["Trainee", "Decisions made", "Status", "Last response's zone", "Ending", "Score"],
    )
    st.dataframe(table, hide_index=True)


def render_session(groups: GroupService, user: UserRef, info: SessionInfo) -> None:
    viewer = viewer_of(user)
    st.session_state[TOKEN_KEY] = LiveToken(info.status, info.position, info.revealed)
    st.title(info.title)
    cohort = f" · cohort {info.cohort_name}" if info.cohort_name else ""
    st.caption(f"{info.mode_label.capitalize()} group session · {info.status}{cohort}")
    if info.is_open:
        with st.expander("Join code and QR code", expanded=info.position == 0 and not info.revealed):
            render_join_panel(info, large=True)
    else:
        st.info(
            "This session is closed: nobody can join or answer. Reopen it to carry on or to review it live."
        )
    if info.supervisor_paced:
        render_supervisor_paced(groups, viewer, info)
    else:
        if info.is_open:
            _live_board(info.id, viewer.user_id, viewer.role)
        else:
            board_snapshot = groups.board(viewer, info.id)
            st.metric("Finished attempts", f"{board_snapshot.finished} of {board_snapshot.joined}")
    st.divider()
    left, middle, right = st.columns(3)
    if info.is_open:
        if left.button("Close the session", key="close-session"):
            _act(lambda: groups.close(viewer, info.id))
    elif left.button("Reopen the session", key="reopen-session"):
        _act(lambda: groups.reopen(viewer, info.id))
    if middle.button("Start another session", key="new-session"):
        del st.query_params[SESSION_PARAM]
        st.rerun()


def render_supervisor_paced(groups: GroupService, viewer, info: SessionInfo) -> None:  # type: ignore[no-untyped-def]
    host = groups.host_view(viewer, info.id)
    position = host.position
    if position.finished:
        st.header(ENDING_TITLES.get(position.play.ending or "", "The session ended"))
        big_text(position.text)
        render_group_debrief(groups.group_debrief(info.id, viewer=viewer), key="host-group")
        return
    if info.is_open:
        _live(info.id)
    label = f"Decision {position.decisions_passed + 1}" if position.kind == "decision" else "Narration"
    st.subheader(f"{position.scenario.client} · {label}")
    big_text(position.text)
    if position.cue:
        st.markdown(f"#### Nonverbal cue: {position.cue}")
    if not info.is_open:
        return
    if position.kind == "narration":
        if st.button("Continue", type="primary", key=f"continue-{position.step}"):
            _act(lambda: groups.advance(viewer, info.id, position.step))
        return
    tally = host.tally
    if not info.revealed:
        st.markdown("Trainees are choosing privately on their devices.")
        if st.button("Reveal the answers", type="primary", key=f"reveal-{position.step}"):
            _act(lambda: groups.reveal(viewer, info.id, position.step))
        return
    show_chart(distribution_chart(tally, zone_labels(position.rubric)), key=f"host-dist-{position.step}")
    render_choice_results(tally)
    ids = [row.choice_id for row in tally.choices]
    by_id = {row.choice_id: row for row in tally.choices}
    default = tally.default_branch
    branch = st.radio(
        "Branch the group follows (default: the most chosen; ties go to the higher score)",
        ids,
        index=ids.index(default),
        format_func=lambda cid: f"{by_id[cid].letter} · {by_id[cid].count} answer(s) · {by_id[cid].zone}",
        key=f"branch-{info.id}-{position.step}",
    )
    if st.button("Advance", type="primary", key=f"advance-{position.step}"):
        _act(lambda: groups.advance(viewer, info.id, position.step, branch))
