"""A test router: the practice pages plus the authoring page (default), as the app would register them.

`ui.navigation.page()` resolves page files against the main script's folder,
which is this test folder here, so the pages are registered with absolute
paths under the same names and URL paths.
"""

from pathlib import Path

import streamlit as st

from ui import navigation

ROOT = Path(__file__).resolve().parents[2]


def page(name: str, title: str, default: bool = False) -> st.Page:
    registered = st.Page(ROOT / "ui" / "pages" / f"{name}.py", title=title, url_path=name, default=default)
    navigation.PAGES[name] = registered
    return registered


st.navigation(
    [
        page("authoring", "Authoring workspace", default=True),
        page("library", "Scenario library"),
        page("play", "Play"),
        page("history", "My history"),
    ]
).run()
