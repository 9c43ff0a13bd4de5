"""The app's router plus the group pages, for tests while the real router lacks them.

`app_script.py` (the real router) belongs to the lead, who registers the group pages there;
until then (and for AppTest, which cannot pick a page by URL path) the tests
run this copy of the router. Pages are registered under the same names and
URL paths as the real router does (`ui.navigation.PAGES`), so links between
pages work. `?_page=<name>` picks the page a session opens on (AppTest has
no URL path to pick it with).
"""

from pathlib import Path

import streamlit as st

from ui import navigation
from ui.context import current_user

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ("library", "Scenario library", ":material/library_books:"),
    ("play", "Play", ":material/play_arrow:"),
    ("history", "My history", ":material/history:"),
    ("group_join", "Join a group session", ":material/groups:"),
    ("group_host", "Host a group session", ":material/co_present:"),
]

st.set_page_config(page_title="Repair Lab", layout="wide")
start = st.query_params.get("_page", "library")
pages = []
for name, title, icon in PAGES:
    page = st.Page(
        str(ROOT / "ui" / "pages" / f"{name}.py"),
        title=title,
        icon=icon,
        url_path=name,
        default=name == start,
    )
    navigation.PAGES[name] = page
    pages.append(page)
navigation_run = st.navigation(pages)
with st.sidebar:
    user = current_user()
    st.caption(f"Practising as {user.display_name}" if user else "Not signed in")
navigation_run.run()
