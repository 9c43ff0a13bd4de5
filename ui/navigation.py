"""The app's pages, registered once by the router, and moving between them."""

from __future__ import annotations

import streamlit as st

from .context import identity_params

PAGES: dict[str, st.Page] = {}


def page(name: str, title: str, icon: str, default: bool = False) -> st.Page:
    """Register `ui/pages/<name>.py` under the URL path `<name>`.

    The router builds each browser session's menu once (per set of facts) and keeps it, so a
    page object is built once per session; st.navigation keeps per-run state on page objects,
    so they are not shared between sessions.
    """
    registered = st.Page(f"ui/pages/{name}.py", title=title, icon=icon, url_path=name, default=default)
    PAGES[name] = registered
    return registered


def go(name: str, **params: str) -> None:
    st.switch_page(PAGES[name], query_params={**identity_params(), **params})


def link(name: str, label: str, **params: str) -> None:
    st.page_link(PAGES[name], label=label, query_params={**identity_params(), **params})
