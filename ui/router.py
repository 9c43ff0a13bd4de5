"""The router: which pages this browser session sees, then the chosen page.

Which pages appear depends on who is signed in; every service checks access
again on its own, so the menu is a convenience, never the protection. It lives
in a module (not in `app_script.py`) so it is compiled once per process.
"""

from __future__ import annotations

import streamlit as st

from repairlab.services.authoring import authoring_allowed

from . import (
    account_view,
    admin_view,
    authoring_view,
    authors_view,
    cohorts_view,
    dashboard_view,
    group_host_view,
    group_join_view,
    history_view,
    library_view,
    play_view,
    setup_view,
    signin_view,
    trend_view,
)
from .context import admin_exists, current_account, current_guest, get_services, guests_allowed
from .literal import md
from .navigation import page

PAGE_CONFIGURED_KEY = "_page_configured"


def _menu(
    who: str | None, signed_in: bool, role: str | None, no_admin_yet: bool, authoring: bool
) -> dict[str, list[st.Page]]:
    sections = {
        "Practise": [
            page(library_view.render, "library", "Scenario library", ":material/library_books:", default=True),
            page(play_view.render, "play", "Play", ":material/play_arrow:"),
            page(history_view.render, "history", "My history", ":material/history:"),
            page(trend_view.render, "trend", "My progress", ":material/trending_up:"),
            page(group_join_view.render, "group_join", "Join a group session", ":material/groups:"),
        ],
    }
    if role in ("supervisor", "admin"):
        sections["Supervise"] = [
            page(group_host_view.render, "group_host", "Run a group session", ":material/co_present:"),
            page(cohorts_view.render, "cohorts", "Cohorts", ":material/school:"),
            page(dashboard_view.render, "dashboard", "Dashboard", ":material/monitoring:"),
        ]
    elif no_admin_yet and guests_allowed():  # a single-machine install before any accounts exist
        sections["Supervise"] = [page(group_host_view.render, "group_host", "Run a group session", ":material/co_present:")]
    sections["Authoring"] = [page(authors_view.render, "authors", "Library check", ":material/rule:")]
    if authoring:
        sections["Authoring"].insert(0, page(authoring_view.render, "authoring", "Authoring workspace", ":material/edit_document:"))
    account_pages = [page(signin_view.render, "signin", "Sign out" if signed_in else "Sign in", ":material/login:")]
    account_pages.append(page(account_view.render, "account", "My account" if signed_in else "Create an account", ":material/person:"))
    if role == "admin":
        account_pages.append(page(admin_view.render, "admin", "Administration", ":material/admin_panel_settings:"))
    if no_admin_yet:
        account_pages.append(page(setup_view.render, "setup", "First-time setup", ":material/build:"))
    # The account section's heading says who is practising: "Account · Ana", or just "Account".
    sections[f"Account · {who}" if who else "Account"] = account_pages
    return sections


MENUS_KEY = "_menus"


def run() -> None:
    if PAGE_CONFIGURED_KEY not in st.session_state:
        # The browser keeps the page config for the whole session (reruns and page switches
        # alike), so it is sent once per session. The icon is an emoji, which Streamlit inlines
        # as an SVG; a Material icon favicon would be fetched from fonts.gstatic.com.
        st.set_page_config(page_title="Repair Lab", page_icon="🤝", layout="wide")
        st.session_state[PAGE_CONFIGURED_KEY] = True
    account = current_account()
    user = account.ref if account else current_guest()
    role = account.role if account else None
    # The menu depends on these facts only; each combination is built once per session.
    who = md(user.display_name) if user else None  # Streamlit renders section labels as Markdown
    facts = (who, account is not None, role, not admin_exists(), authoring_allowed(user, get_services().settings))
    menus = st.session_state.setdefault(MENUS_KEY, {})
    sections = menus.get(facts)
    if sections is None:
        sections = menus[facts] = _menu(*facts)

    st.navigation(sections).run()
