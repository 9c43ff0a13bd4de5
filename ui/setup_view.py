"""The one-time setup page: create the first administrator, then sign them in.

It works only while no administrator exists; the service refuses afterwards
even if this page was already open in another browser.
"""

from __future__ import annotations

import streamlit as st

from repairlab.services.errors import UserFacingError

from .account_view import FLASH_KEY, new_account_fields
from .context import admin_created, client_key, current_account, get_services, signed_in
from .navigation import link


def render() -> None:
    services = get_services()
    st.title("Set up Repair Lab")
    if services.accounts.admin_exists():
        st.info(
            "Setup is already done: this installation has an administrator. "
            "Ask them for an account, or sign in."
        )
        if current_account() is None:
            link("signin", "Sign in")
        return
    st.markdown(
        "Nobody administers this installation yet. Create the first administrator account here; "
        "this page stops working as soon as one exists. The administrator then creates supervisors, "
        "cohorts and trainee accounts."
    )
    with st.form("first-admin"):
        username, display_name, email, password, repeat = new_account_fields()
        if st.form_submit_button("Create the administrator", type="primary"):
            if password != repeat:
                st.error("The two passwords are not the same; nothing was created.")
                return
            try:
                account = services.accounts.setup_first_admin(username, display_name, password, email or None)
                admin_created()
                result = services.signin.authenticate(account.username or username, password, client_key=client_key())
            except UserFacingError as error:
                st.error(str(error))
                return
            signed_in(result)
            st.session_state[FLASH_KEY] = (
                f"Welcome, {account.display_name}: you are the administrator. Open Administration in the "
                "menu to create supervisors, cohorts and trainee accounts."
            )
            st.rerun()  # the menu now has the administration page, and no setup page
