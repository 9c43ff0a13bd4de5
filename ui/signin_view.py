"""Signing in: single sign-on (OIDC) when configured, local accounts, or a guest name."""

from __future__ import annotations

import streamlit as st

from repairlab.services.errors import UserFacingError
from repairlab.services.signin import TooManyAttempts

from .account_view import FLASH_KEY
from .context import (
    auth_configured,
    client_key,
    current_account,
    current_guest,
    get_services,
    guests_allowed,
    sign_out,
    signed_in,
)
from .navigation import go, link


def render() -> None:
    services = get_services()
    st.title("Sign in")
    account = current_account()
    if account is not None:
        st.success(f"Signed in as **{account.display_name}** ({account.role}).")
        if st.button("Sign out"):
            if auth_configured():
                try:
                    if st.user.is_logged_in:
                        st.logout()
                except Exception:
                    pass
            sign_out()
            st.rerun()
        return
    if not services.accounts.admin_exists():
        st.info("This installation has no administrator yet.")
        link("setup", "Set up the first administrator")
    if auth_configured():
        st.subheader("Your organisation's account")
        if st.button("Sign in with single sign-on", type="primary"):
            st.login()
    st.subheader("Username and password")
    with st.form("local-sign-in"):
        username = st.text_input("Username", max_chars=64, autocomplete="username")
        password = st.text_input("Password", type="password", max_chars=256, autocomplete="current-password")
        if st.form_submit_button("Sign in", type="primary"):
            try:
                result = services.signin.authenticate(username, password, client_key=client_key())
            except TooManyAttempts as error:
                st.error(str(error))
            except UserFacingError as error:
                st.error(str(error))
            else:
                moved = signed_in(result)
                if moved:
                    st.session_state[FLASH_KEY] = f"Your {moved} guest attempt(s) are now part of your account."
                go("library")
    guest = current_guest()
    if guest is not None:
        st.caption(
            f"You are practising as the guest **{guest.display_name}**. "
            "Signing in moves your guest attempts into your account."
        )
    elif guests_allowed():
        st.caption("No account? You can also practise as a guest from the scenario library.")
        link("library", "Practise as a guest")
