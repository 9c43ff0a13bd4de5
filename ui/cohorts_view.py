"""Cohorts, for supervisors and administrators: invite code, roster upload,
members, and each trainee's attempts with a way to their debriefs.

What a supervisor may see and change is decided by the services (scoped to
the cohorts they supervise, audited); this page shows their answers.
"""

from __future__ import annotations

import streamlit as st

from repairlab.services.access import ADMIN, SUPERVISOR
from repairlab.services.accounts import Account
from repairlab.services.cohorts import CohortInfo
from repairlab.services.errors import UserFacingError
from repairlab.services.roster import RosterRejected

from .account_view import FLASH_KEY, act, require_role, show_flash
from .context import get_services
from .literal import md
from .navigation import link

STATUS_LABELS = {"in_progress": "in progress", "completed": "finished"}
ROSTER_EXAMPLE = """username,display_name,email,role
amy.adams,Amy Adams,amy.adams@uni.example,
ben.brown,Ben Brown,ben.brown@uni.example,trainee"""


def render() -> None:
    st.title("Cohorts")
    account = require_role(
        (SUPERVISOR, ADMIN),
        "Only supervisors and administrators manage cohorts. To join a cohort, enter its invite code "
        "on your account page.",
    )
    if account is None:
        return
    show_flash()
    services = get_services()
    try:
        cohorts = services.cohorts.list_cohorts(account.viewer)
    except UserFacingError as error:
        st.error(str(error))
        return
    if not cohorts:
        st.info("You do not supervise any cohort yet. An administrator creates cohorts and assigns supervisors.")
        if account.role == ADMIN:
            link("admin", "Create a cohort on the administration page")
        return
    by_id = {cohort.id: cohort for cohort in cohorts}
    chosen = st.selectbox(
        "Cohort", list(by_id), key="cohort-choice",
        format_func=lambda cid: by_id[cid].name + (" (archived)" if by_id[cid].archived else ""),
    )
    cohort = by_id[chosen]
    render_cohort(account, cohort)


def render_cohort(account: Account, cohort: CohortInfo) -> None:
    st.header(md(cohort.name))
    facts = [md(cohort.program) if cohort.program else None, str(cohort.year) if cohort.year else None,
             f"{cohort.trainees} trainee(s)", f"{cohort.supervisors} supervisor(s)"]
    st.caption(" · ".join(fact for fact in facts if fact))
    if cohort.archived:
        st.warning("This cohort is archived: it stays visible to you but takes no new members.")
    else:
        render_invite_code(account, cohort)
        render_roster_upload(account, cohort)
    render_members(account, cohort)
    render_attempts(account, cohort)


def render_invite_code(account: Account, cohort: CohortInfo) -> None:
    services = get_services()
    st.subheader("Invite code")
    st.markdown(f"# {cohort.invite_code or '(none)'}")
    st.caption(
        "Trainees enter this code on their account page (or when they create an account) to join. "
        "Case, spaces and the dash do not matter."
    )
    if st.button("Make a new invite code", key=f"new-code-{cohort.id}",
                 help="The current code stops working at once."):
        act(
            lambda: services.cohorts.regenerate_invite_code(account.viewer, cohort.id),
            lambda code: f"The new invite code of {cohort.name} is {code}; the old one no longer works.",
        )


def render_roster_upload(account: Account, cohort: CohortInfo) -> None:
    services = get_services()
    st.subheader("Add trainees from a roster")
    st.markdown(
        "A CSV file with a header row, then one person per row. `username`, `display_name` and `email` "
        "are required; `role` is optional (trainee by default). If any row has a problem, nothing is "
        "imported and every problem is listed. New accounts have no password yet: an administrator "
        "sets one, or the person signs in with single sign-on."
    )
    with st.expander("Example"):
        st.code(ROSTER_EXAMPLE, language="csv")
    upload = st.file_uploader("Roster CSV", type=["csv", "txt"], key=f"roster-{cohort.id}")
    if not st.button("Import the roster", key=f"import-{cohort.id}", type="primary", disabled=upload is None):
        return
    try:
        result = services.cohorts.import_roster(account.viewer, cohort.id, upload.getvalue())
    except RosterRejected as rejected:
        st.error(str(rejected).splitlines()[0])
        st.dataframe(
            [
                {"Row": "whole file" if problem.row is None else str(problem.row), "Problem": problem.message}
                for problem in rejected.problems
            ],
            hide_index=True,
            width="stretch",
        )
        return
    except UserFacingError as error:
        st.error(str(error))
        return
    parts = [f"{len(result.created)} new account(s) created and enrolled"]
    if result.enrolled:
        parts.append(f"{len(result.enrolled)} existing account(s) enrolled")
    if result.unchanged:
        parts.append(f"{len(result.unchanged)} already in the cohort")
    st.session_state[FLASH_KEY] = f"Roster imported into {cohort.name}: {'; '.join(parts)}."
    st.rerun()


def render_members(account: Account, cohort: CohortInfo) -> None:
    services = get_services()
    st.subheader("Members")
    try:
        members = services.cohorts.roster(account.viewer, cohort.id)
    except UserFacingError as error:
        st.error(str(error))
        return
    if not members:
        st.caption("Nobody is in this cohort yet.")
        return
    notices = st.container()
    for member in members:
        me = member.user_id == account.id
        name, handle, role, action = st.columns([4, 3, 3, 2])
        name.markdown(f"**{md(member.display_name)}**" + (" (you)" if me else ""))
        name.caption(md(member.pseudonym or ""))
        handle.text(member.username or member.email or "")
        role.text(member.role + ("" if member.can_sign_in else " · cannot sign in yet"))
        if member.role == SUPERVISOR and not me and account.role != ADMIN:
            continue  # only an administrator removes another supervisor
        label = "Leave" if me else "Remove"
        if action.button(label, key=f"remove-{cohort.id}-{member.user_id}"):
            done = f"You left {cohort.name}." if me else f"{member.display_name} was removed from {cohort.name}."
            with notices:
                act(lambda m=member: services.cohorts.remove_member(account.viewer, cohort.id, m.user_id), done)


def render_attempts(account: Account, cohort: CohortInfo) -> None:
    services = get_services()
    st.subheader("Trainees' attempts")
    try:
        trainees = services.records.list_trainees(account.viewer, cohort.id)
    except UserFacingError as error:
        st.error(str(error))
        return
    if not trainees:
        st.caption("No trainees in this cohort yet.")
        return
    st.dataframe(
        [
            {
                "Trainee": trainee.display_name,
                "Username": trainee.username or "",
                "Attempts": trainee.attempts,
                "Finished": trainee.completed,
                "Last activity": "" if trainee.last_activity is None else f"{trainee.last_activity:%Y-%m-%d %H:%M}",
            }
            for trainee in trainees
        ],
        hide_index=True,
        width="stretch",
    )
    by_id = {trainee.id: trainee for trainee in trainees}
    picked = st.selectbox(
        "Open the attempts of", list(by_id), index=None, key=f"trainee-{cohort.id}",
        placeholder="Choose a trainee",
        format_func=lambda tid: by_id[tid].display_name + (f" ({by_id[tid].username})" if by_id[tid].username else ""),
    )
    if picked is None:
        st.caption("Opening a trainee's attempts is written to the audit log.")
        return
    try:
        attempts = services.records.attempts_of(account.viewer, picked)
    except UserFacingError as error:
        st.error(str(error))
        return
    if not attempts:
        st.caption(f"{md(by_id[picked].display_name)} has no attempts yet.")
        return
    for attempt in reversed(attempts):
        with st.container(border=True):
            score = "" if attempt.score is None else f" · score {attempt.score:.0f}"
            ending = "" if attempt.ending is None else f" · ending: {md(attempt.ending)}"
            reflection = " · reflection written" if attempt.has_reflection else ""
            st.markdown(
                f"**{md(attempt.title)}** · {attempt.started_at:%Y-%m-%d %H:%M} · {attempt.mode} · "
                f"{STATUS_LABELS.get(attempt.status, attempt.status)}{score}{ending}{reflection}"
            )
            if attempt.status == "completed":
                link("play", "Open debrief", attempt=attempt.id)
            else:
                st.caption("Its debrief opens when the trainee finishes it.")
