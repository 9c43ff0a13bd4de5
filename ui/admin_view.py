"""Administration: users, cohorts and supervisors, privacy requests, the audit log.

Every action is a call to a service, which checks the role stored in the
database and writes the audit entry; this page only collects the input and
shows the service's answer.
"""

from __future__ import annotations

import json

import streamlit as st

from repairlab.services.access import ADMIN, ROLES, SUPERVISOR, TRAINEE
from repairlab.services.accounts import Account
from repairlab.services.cohorts import CohortInfo
from repairlab.services.errors import UserFacingError

from .account_view import act, download_export, require_role, show_flash
from .context import get_services
from .literal import md
from .navigation import link

ROLE_LABELS = {TRAINEE: "Trainee", SUPERVISOR: "Supervisor", ADMIN: "Administrator"}
AUDIT_LIMIT = 500
NEW_USER_KEYS = ("new-user-username", "new-user-name", "new-user-email", "new-user-role", "new-user-password")
NEW_COHORT_KEYS = ("new-cohort-name", "new-cohort-program", "new-cohort-year")


def render() -> None:
    st.title("Administration")
    account = require_role((ADMIN,), "Only administrators can open this page. Your account is for practice"
                           " or supervision; ask an administrator if you need something changed.")
    if account is None:
        return
    show_flash()
    services = get_services()
    try:
        users = services.accounts.list_users(account.viewer)
        cohorts = services.cohorts.list_cohorts(account.viewer)
    except UserFacingError as error:
        st.error(str(error))
        return
    users_tab, cohorts_tab, privacy_tab, audit_tab = st.tabs(["Users", "Cohorts", "Privacy", "Audit log"])
    with users_tab:
        render_users(account, users)
    with cohorts_tab:
        render_cohorts(account, users, cohorts)
    with privacy_tab:
        render_privacy(account, users)
    with audit_tab:
        render_audit(account)


def describe(user: Account) -> str:
    handle = user.username or user.email or f"id {user.id}"
    disabled = ", disabled" if user.disabled else ""
    return f"{user.display_name} ({handle}) · {ROLE_LABELS.get(user.role, user.role)}{disabled}"


def sign_in_way(user: Account) -> str:
    ways = [way for way, used in (("password", user.has_password), ("single sign-on", user.uses_sso)) if used]
    return " + ".join(ways) if ways else "none yet"


# -- users -------------------------------------------------------------------------------------


def render_users(account: Account, users: list[Account]) -> None:
    services = get_services()
    viewer = account.viewer
    st.subheader("Accounts")
    st.dataframe(
        [
            {
                "Name": user.display_name,
                "Username": user.username or "",
                "Email": user.email or "",
                "Role": ROLE_LABELS.get(user.role, user.role),
                "Signs in with": sign_in_way(user),
                "Status": "disabled" if user.disabled else "active",
                "Created": f"{user.created_at:%Y-%m-%d}",
            }
            for user in users
        ],
        hide_index=True,
        width="stretch",
    )

    st.subheader("Create an account")
    with st.form("create-user", clear_on_submit=False):
        username = st.text_input("Username", max_chars=200, key="new-user-username",
                                 help="3-64 characters: letters a-z, digits, dots, hyphens, underscores.")
        display_name = st.text_input("Name", max_chars=300, key="new-user-name")
        email = st.text_input("Email (optional)", max_chars=400, key="new-user-email")
        role = st.selectbox("Role", ROLES, format_func=ROLE_LABELS.get, key="new-user-role")
        password = st.text_input(
            "Password (optional)", type="password", max_chars=1024, key="new-user-password",
            help="Leave empty to set it later; the person can also use single sign-on if it is configured.",
        )
        if st.form_submit_button("Create the account", type="primary"):
            act(
                lambda: services.accounts.create_user(viewer, username, display_name, role, password or None,
                                                      email or None),
                lambda made: f"Created the account of {made.display_name} ({made.username}) as "
                f"{ROLE_LABELS[made.role].lower()}.",
                forget=NEW_USER_KEYS,
            )

    st.subheader("Change an account")
    if not users:
        st.caption("No accounts yet.")
        return
    by_id = {user.id: user for user in users}
    chosen = st.selectbox("Account", list(by_id), format_func=lambda uid: describe(by_id[uid]), key="admin-user")
    user = by_id[chosen]
    left, middle, right = st.columns(3)
    with left, st.form(f"role-{user.id}"):
        role = st.selectbox("Role", ROLES, index=ROLES.index(user.role) if user.role in ROLES else 0,
                            format_func=ROLE_LABELS.get, key=f"role-of-{user.id}")
        if st.form_submit_button("Change role"):
            act(
                lambda: services.accounts.set_role(viewer, user.id, role),
                lambda changed: f"{changed.display_name} is now {ROLE_LABELS[changed.role].lower()}.",
            )
    with middle, st.form(f"password-{user.id}", clear_on_submit=True):
        password = st.text_input("New password", type="password", max_chars=1024, key=f"password-of-{user.id}",
                                 help="At least 12 characters. Their open sessions end.")
        if st.form_submit_button("Set password"):
            act(
                lambda: services.accounts.set_password(viewer, user.id, password),
                f"The password of {user.display_name} is set; tell them through a channel you trust.",
            )
    with right:
        st.markdown(f"**Status:** {'disabled' if user.disabled else 'active'}")
        if user.disabled:
            if st.button("Enable the account", key=f"enable-{user.id}"):
                act(lambda: services.accounts.set_disabled(viewer, user.id, False),
                    f"The account of {user.display_name} is enabled again.")
        elif st.button("Disable the account", key=f"disable-{user.id}"):
            act(lambda: services.accounts.set_disabled(viewer, user.id, True),
                f"The account of {user.display_name} is disabled; its sessions have ended.")


# -- cohorts -----------------------------------------------------------------------------------


def render_cohorts(account: Account, users: list[Account], cohorts: list[CohortInfo]) -> None:
    services = get_services()
    viewer = account.viewer
    st.subheader("Cohorts")
    if cohorts:
        st.dataframe(
            [
                {
                    "Name": cohort.name,
                    "Program": cohort.program or "",
                    "Year": "" if cohort.year is None else str(cohort.year),
                    "Invite code": cohort.invite_code or "",
                    "Trainees": cohort.trainees,
                    "Supervisors": cohort.supervisors,
                    "Status": "archived" if cohort.archived else "open",
                }
                for cohort in cohorts
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption("No cohorts yet.")

    st.subheader("Create a cohort")
    with st.form("create-cohort"):
        name = st.text_input("Cohort name", max_chars=300, placeholder="MFT 2026", key="new-cohort-name")
        program = st.text_input("Program (optional)", max_chars=300, placeholder="MFT", key="new-cohort-program")
        year = st.number_input("Year (optional)", value=None, step=1, format="%d", key="new-cohort-year")
        if st.form_submit_button("Create the cohort", type="primary"):
            act(
                lambda: services.cohorts.create_cohort(viewer, name, program or None, _year(year)),
                lambda made: f"Created the cohort {made.name}; its invite code is {made.invite_code}.",
                forget=NEW_COHORT_KEYS,
            )

    if not cohorts:
        return
    st.subheader("Change a cohort")
    by_id = {cohort.id: cohort for cohort in cohorts}
    chosen = st.selectbox(
        "Cohort", list(by_id), key="admin-cohort",
        format_func=lambda cid: by_id[cid].name + (" (archived)" if by_id[cid].archived else ""),
    )
    cohort = by_id[chosen]
    with st.form(f"edit-cohort-{cohort.id}"):
        name = st.text_input("Cohort name", value=cohort.name, max_chars=300, key=f"cohort-name-{cohort.id}")
        program = st.text_input("Program", value=cohort.program or "", max_chars=300,
                                key=f"cohort-program-{cohort.id}")
        year = st.number_input("Year", value=cohort.year, step=1, format="%d", key=f"cohort-year-{cohort.id}")
        archived = st.checkbox("Archived (stays visible to its supervisors, takes no new members)",
                               value=cohort.archived, key=f"cohort-archived-{cohort.id}")
        if st.form_submit_button("Save the cohort"):
            act(
                lambda: services.cohorts.update_cohort(viewer, cohort.id, name, program, _year(year), archived),
                lambda saved: f"Saved {saved.name}" + (" (archived)." if saved.archived else "."),
            )

    st.markdown(f"**Supervisors of {md(cohort.name)}**")
    try:
        members = services.cohorts.roster(viewer, cohort.id)
    except UserFacingError as error:
        st.error(str(error))
        return
    supervisors = [member for member in members if member.role == SUPERVISOR]
    notices = st.container()
    if not supervisors:
        st.caption("Nobody supervises this cohort yet.")
    for member in supervisors:
        name_column, button_column = st.columns([4, 1])
        name_column.markdown(f"{md(member.display_name)} ({md(member.username or member.email or '')})")
        if button_column.button("Remove", key=f"remove-supervisor-{cohort.id}-{member.user_id}"):
            with notices:
                act(lambda m=member: services.cohorts.remove_member(viewer, cohort.id, m.user_id),
                    f"{member.display_name} no longer supervises {cohort.name}.")
    taken = {member.user_id for member in members}
    candidates = {u.id: u for u in users if u.role in (SUPERVISOR, ADMIN) and not u.disabled and u.id not in taken}
    if not candidates:
        st.caption("Every supervisor account is already assigned here; create one under Users, or change a role.")
    else:
        with st.form(f"assign-{cohort.id}"):
            picked = st.selectbox("Assign a supervisor", list(candidates),
                                  format_func=lambda uid: describe(candidates[uid]), key=f"assign-pick-{cohort.id}")
            if st.form_submit_button("Assign"):
                act(
                    lambda: services.cohorts.assign_supervisor(viewer, cohort.id, picked),
                    f"{candidates[picked].display_name} now supervises {cohort.name}.",
                )
    link("cohorts", "Open the cohort page: invite code, roster upload, trainees' attempts")


def _year(value: float | int | None) -> int | None:
    return None if value is None else int(value)


# -- privacy -----------------------------------------------------------------------------------


def render_privacy(account: Account, users: list[Account]) -> None:
    services = get_services()
    viewer = account.viewer
    st.subheader("Privacy requests")
    st.markdown(
        "Export everything stored about a person as one JSON file, or delete a trainee's personal data "
        "on their request. Both are written to the audit log."
    )
    if not users:
        st.caption("No accounts yet.")
        return
    by_id = {user.id: user for user in users}
    chosen = st.selectbox("Person", list(by_id), format_func=lambda uid: describe(by_id[uid]), key="privacy-user")
    person = by_id[chosen]

    st.markdown("**Export**")
    download_export(
        f"admin-{person.id}",
        f"the data of {person.display_name}",
        lambda: services.privacy.export_trainee_json(viewer, person.id),
        f"repairlab-personal-data-{person.id}.json",
    )

    st.markdown("**Delete personal data**")
    st.markdown(
        "The name becomes \"Deleted trainee\"; username, email, password, single sign-on link and "
        "reflections are erased; sessions end and the account is closed. Scores stay, anonymous, so "
        "cohort statistics do not change. **This cannot be undone.**"
    )
    phrase = person.username or person.display_name
    with st.form(f"delete-{person.id}", clear_on_submit=True):
        typed = st.text_input(f"To confirm, type {phrase!r}", max_chars=200, key=f"delete-confirm-{person.id}")
        if st.form_submit_button("Delete personal data", type="primary"):
            if typed.strip() != phrase:
                st.error(f"Type {phrase!r} exactly in the box to confirm; nothing was deleted.")
            else:
                act(
                    lambda: services.privacy.delete_personal_data(viewer, person.id),
                    lambda report: (
                        f"Deleted the personal data of account {report.user_id} (now {report.pseudonym}): "
                        f"{report.attempts_kept} attempt(s) kept anonymously, {report.reflections_erased} "
                        f"reflection(s) erased, {report.sessions_ended} session(s) ended."
                    ),
                )


# -- audit log ---------------------------------------------------------------------------------


def render_audit(account: Account) -> None:
    services = get_services()
    viewer = account.viewer
    st.subheader("Audit log")
    try:
        everyone = services.accounts.list_users(viewer, include_guests=True, include_deleted=True)
    except UserFacingError as error:
        st.error(str(error))
        return
    names = {user.id: user.display_name for user in everyone}
    accounts = {user.id: user for user in everyone if not user.is_guest}
    about = st.selectbox(
        "About", [None, *accounts], key="audit-about",
        format_func=lambda uid: "Everyone" if uid is None else describe(accounts[uid]),
    )
    try:
        entries = services.audit.entries(viewer, subject_user_id=about, limit=AUDIT_LIMIT)
    except UserFacingError as error:
        st.error(str(error))
        return
    st.caption(f"The newest {AUDIT_LIMIT} entries at most, newest last. Entries hold ids and counts only.")
    if not entries:
        st.caption("No entries.")
        return
    st.dataframe(
        [
            {
                "When (UTC)": f"{entry.at:%Y-%m-%d %H:%M:%S}",
                "Who": entry.actor_name or ("server command" if entry.actor_id is None else f"id {entry.actor_id}"),
                "Their role": entry.actor_role or "",
                "Action": entry.action.replace("_", " "),
                "About": "" if entry.subject_user_id is None
                else names.get(entry.subject_user_id, f"id {entry.subject_user_id}"),
                "Details": json.dumps(entry.detail, sort_keys=True),
            }
            for entry in entries
        ],
        hide_index=True,
        width="stretch",
    )
