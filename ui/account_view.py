"""Your account: profile, password, joining a cohort, exporting your own data.

Guests and visitors who are not signed in see how to sign in (their guest
practice comes with them) or create an account with a cohort's invite code.
The small helpers at the top are shared by the admin, cohort and setup pages.

Text inputs allow somewhat more than the services accept (`max_chars` is
generous on purpose), so an over-long name gets the service's message
instead of being cut short without a word.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from repairlab.services.accounts import Account
from repairlab.services.errors import UserFacingError

from .context import auth_configured, current_account, current_guest, get_services, signed_in
from .literal import md
from .navigation import link

FLASH_KEY = "flash"
EXPORT_KEY = "account_export"
T = TypeVar("T")

def show_flash() -> None:
    """The message an action left for the next run of the page."""
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)


def act(action: Callable[[], T], done: str | Callable[[T], str], forget: tuple[str, ...] = ()) -> None:
    """Run a service call: on success remember a message, empty the `forget` inputs and rerun;
    on a refusal show why (and keep what was typed, so it can be corrected)."""
    try:
        result = action()
    except UserFacingError as error:
        st.error(str(error))
        return
    st.session_state[FLASH_KEY] = done(result) if callable(done) else done
    for key in forget:
        st.session_state.pop(key, None)
    st.rerun()


def require_role(roles: tuple[str, ...], refusal: str) -> Account | None:
    """The signed-in account if it has one of `roles`; otherwise say why not and return None."""
    account = current_account()
    if account is None:
        st.warning("Please sign in first.")
        link("signin", "Sign in")
        return None
    if account.role not in roles:
        st.warning(refusal)
        return None
    return account


def download_export(key: str, label: str, prepare: Callable[[], str], file_name: str) -> None:
    """A two-step export: preparing it (audited) only on request, then a download button."""
    prepared = st.session_state.get(EXPORT_KEY)
    if st.button(f"Prepare {label}", key=f"prepare-{key}"):
        try:
            prepared = (key, prepare())
        except UserFacingError as error:
            st.error(str(error))
            return
        st.session_state[EXPORT_KEY] = prepared
    if prepared is not None and prepared[0] == key:
        st.download_button(
            f"Download {label} (JSON)",
            data=prepared[1],
            file_name=file_name,
            mime="application/json",
            key=f"download-{key}",
            type="primary",
        )


# -- the page ------------------------------------------------------------------------------


def render() -> None:
    st.title("Your account")
    account = current_account()
    if account is None:
        render_visitor()
        return
    show_flash()
    services = get_services()
    viewer = account.viewer

    st.subheader("Profile")
    ways = [way for way, used in (("a password", account.has_password), ("single sign-on", account.uses_sso)) if used]
    st.markdown(
        "\n".join(
            [
                f"- **Name:** {md(account.display_name)}",
                f"- **Username:** {md(account.username or '(none: you sign in with single sign-on)')}",
                f"- **Email:** {md(account.email or '(none)')}",
                f"- **Role:** {account.role}",
                f"- **Pseudonym on shared boards:** {md(account.pseudonym or '(none)')}",
                f"- **Signs in with:** {' and '.join(ways) if ways else 'nothing yet'}",
            ]
        )
    )

    st.subheader("Cohorts")
    try:
        cohorts = services.cohorts.list_cohorts(viewer)
    except UserFacingError as error:
        st.error(str(error))
        cohorts = []
    if cohorts:
        st.markdown("\n".join(f"- {md(c.name)}{' (archived)' if c.archived else ''}" for c in cohorts))
    else:
        st.caption("You are not in any cohort yet.")
    if account.role == "trainee":
        st.caption("The supervisors of your cohorts can see your attempts and reflections; nobody else can.")
        with st.form("join-cohort", clear_on_submit=False):
            code = st.text_input("Invite code", max_chars=40, placeholder="K7QM-4XPA", key="join-code")
            if st.form_submit_button("Join the cohort"):
                act(
                    lambda: services.cohorts.join_with_code(viewer, code),
                    lambda cohort: f"You are in {cohort.name} now. Its supervisors can see your attempts.",
                    forget=("join-code",),
                )
    else:
        st.caption("Invite codes enrol trainees; administrators assign supervisors to cohorts.")
        link("cohorts", "Your cohorts")

    if account.username:
        st.subheader("Change your password")
        with st.form("change-password", clear_on_submit=True):
            current = ""
            if account.has_password:
                current = st.text_input(
                    "Current password", type="password", max_chars=1024, autocomplete="current-password"
                )
            new = st.text_input(
                "New password", type="password", max_chars=1024, autocomplete="new-password",
                help="At least 12 characters; a few unrelated words work well.",
            )
            repeat = st.text_input("New password again", type="password", max_chars=1024, autocomplete="new-password")
            if st.form_submit_button("Change password"):
                if new != repeat:
                    st.error("The two new passwords are not the same; the password was not changed.")
                else:
                    act(
                        lambda: services.accounts.change_password(viewer, current, new),
                        "Your password is changed.",
                    )

    st.subheader("Your data")
    st.markdown(
        "Download everything Repair Lab keeps about you: your profile, cohorts, attempts with every "
        "choice and score, reflections, group sessions, sign-ins, and the log of who looked at your records."
    )
    download_export(
        f"self-{account.id}",
        "my data",
        lambda: services.privacy.export_trainee_json(viewer, account.id),
        "repairlab-my-data.json",
    )


def render_visitor() -> None:
    guest = current_guest()
    if guest is not None:
        st.info(
            f"You are practising as the guest **{md(guest.display_name)}**, without an account. "
            "Sign in or create an account to keep your practice: your guest attempts move into it."
        )
    else:
        st.info("You are not signed in. Sign in to see your account.")
    link("signin", "Sign in")
    if auth_configured():
        st.caption("With single sign-on, your first sign-in creates your account.")

    st.subheader("New here? Create an account with an invite code")
    st.caption("Your supervisor gives you the code of your cohort; you join it as you register.")
    services = get_services()
    with st.form("register"):
        code = st.text_input("Invite code", max_chars=40, placeholder="K7QM-4XPA")
        username, display_name, email, password, repeat = new_account_fields()
        if st.form_submit_button("Create my account", type="primary"):
            if password != repeat:
                st.error("The two passwords are not the same; no account was created.")
                return
            try:
                account = services.cohorts.register_with_invite(code, username, display_name, password, email or None)
                result = services.signin.open_session(account.id)
            except UserFacingError as error:
                st.error(str(error))
                return
            moved = signed_in(result)
            message = f"Welcome, {md(account.display_name)}. Your account is ready."
            if moved:
                message += f" Your {moved} guest attempt(s) are now part of it."
            st.session_state[FLASH_KEY] = message
            st.rerun()


def new_account_fields() -> tuple[str, str, str, str, str]:
    """The fields of a new account inside the caller's form: username, name, email, password twice.

    Lengths are capped above what the services accept, so an over-long value gets the
    service's message instead of being cut silently.
    """
    username = st.text_input(
        "Username", max_chars=200, autocomplete="username",
        help="3-64 characters: letters a-z, digits, dots, hyphens, underscores.",
    )
    display_name = st.text_input("Your name", max_chars=300)
    email = st.text_input("Email (optional)", max_chars=400, autocomplete="email")
    password = st.text_input(
        "Password", type="password", max_chars=1024, autocomplete="new-password",
        help="At least 12 characters; a few unrelated words work well.",
    )
    repeat = st.text_input("Password again", type="password", max_chars=1024, autocomplete="new-password")
    return username, display_name, email, password, repeat
