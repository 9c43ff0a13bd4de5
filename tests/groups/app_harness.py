"""A test router that shows the group pages to everyone, to test the pages' own access checks.

The real router (`app_script.py`) offers "Run a group session" to supervisors
only; this one offers every page below to whoever opens it. Pages are
registered under the same names and URL paths as the real router does
(`ui.navigation.page`), so links between pages work. `?_page=<name>` picks the
page a session opens on.
"""

import streamlit as st

from ui import group_host_view, group_join_view, history_view, library_view, navigation, play_view
from ui.context import current_user

PAGES = [
    (library_view.render, "library", "Scenario library", ":material/library_books:"),
    (play_view.render, "play", "Play", ":material/play_arrow:"),
    (history_view.render, "history", "My history", ":material/history:"),
    (group_join_view.render, "group_join", "Join a group session", ":material/groups:"),
    (group_host_view.render, "group_host", "Host a group session", ":material/co_present:"),
]

st.set_page_config(page_title="Repair Lab", layout="wide")
start = st.query_params.get("_page", "library")
pages = [navigation.page(render, name, title, icon, default=name == start) for render, name, title, icon in PAGES]
navigation_run = st.navigation(pages)
with st.sidebar:
    user = current_user()
    st.caption(f"Practising as {user.display_name}" if user else "Not signed in")
navigation_run.run()
