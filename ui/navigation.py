"""The app's pages, registered once by the router, and moving between them."""

from __future__ import annotations

import streamlit as st

from .context import identity_params

PAGES: dict[str, st.Page] = {}


BUILT_PAGES_KEY = "_navigation_pages"


def page(name: str, title: str, icon: str, default: bool = False) -> st.Page:
    """Register `ui/pages/<name>.py` under the URL path `<name>`.

    Page objects are built once per browser session (building one resolves and
    checks its file) and reused on every rerun; st.navigation keeps per-run
    state on them, so they are not shared between sessions.
    """
    built = st.session_state.setdefault(BUILT_PAGES_KEY, {})
    spec = (name, title, icon, default)
    registered = built.get(spec)
    if registered is None:
        registered = built[spec] = st.Page(
            f"ui/pages/{name}.py", title=title, icon=icon, url_path=name, default=default
        )
    PAGES[name] = registered
    return registered


def go(name: str, **params: str) -> None:
    st.switch_page(PAGES[name], query_params={**identity_params(), **params})


def link(name: str, label: str, **params: str) -> None:
    st.page_link(PAGES[name], label=label, query_params={**identity_params(), **params})
