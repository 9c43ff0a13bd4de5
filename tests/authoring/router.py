"""A test router: the practice pages plus the authoring page (default), as the app would register them."""

import streamlit as st

from ui import authoring_view, history_view, library_view, play_view
from ui.navigation import page

st.navigation(
    [
        page(authoring_view.render, "authoring", "Authoring workspace", ":material/edit_document:", default=True),
        page(library_view.render, "library", "Scenario library", ":material/library_books:"),
        page(play_view.render, "play", "Play", ":material/play_arrow:"),
        page(history_view.render, "history", "My history", ":material/history:"),
    ]
).run()
