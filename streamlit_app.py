"""Repair Lab: the entry point (`streamlit run streamlit_app.py`).

An ASGI app (`st.App`) around `app_script.py`, the script Streamlit runs for
every browser session. Its start-up hook does, before the server takes its
first request, what the first visitor would otherwise wait for: importing the
app, migrating the database and loading the scenario library.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import streamlit as st


def _warm_up() -> None:
    from ui.context import get_services
    from ui.router import run  # noqa: F401 - importing the views is the point

    get_services().catalog.entries()


@asynccontextmanager
async def _start_up(_app):  # type: ignore[no-untyped-def]
    await asyncio.to_thread(_warm_up)
    yield


app = st.App("app_script.py", lifespan=_start_up)
