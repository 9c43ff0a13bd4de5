"""The app's pages, registered once by the router, and moving between them."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from .context import identity_params

PAGES: dict[str, st.Page] = {}


def page(render: Callable[[], None], name: str, title: str, icon: str, default: bool = False) -> st.Page:
    """Register a view's `render` function as the page at URL path `name`.

    Pages are functions, not page files: a function needs no script file read and compiled
    on a run (AppTest compiles page files afresh on every run). The router builds each
    browser session's menu once (per set of facts) and keeps it, so a page object is built
    once per session; st.navigation keeps per-run state on page objects, so they are not
    shared between sessions.
    """
    registered = st.Page(render, title=title, icon=icon, url_path=name, default=default)
    PAGES[name] = registered
    return registered


def go(name: str, **params: str) -> None:
    st.switch_page(PAGES[name], query_params={**identity_params(), **params})


def link(name: str, label: str, **params: str) -> None:
    st.page_link(PAGES[name], label=label, query_params={**identity_params(), **params})
