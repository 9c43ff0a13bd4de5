"""Repair Lab: the Streamlit entry point. A short router; pages live in `ui/`."""

import streamlit as st

from ui import authors_view, history_view, library_view, play_view
from ui.context import current_user
from ui.navigation import page

st.set_page_config(page_title="Repair Lab", page_icon=":material/handshake:", layout="wide")

navigation = st.navigation(
    {
        "Practise": [
            page("library", library_view.render, "Scenario library", ":material/library_books:", default=True),
            page("play", play_view.render, "Play", ":material/play_arrow:"),
            page("history", history_view.render, "My history", ":material/history:"),
        ],
        "Authoring": [
            page("authors", authors_view.render, "Authors", ":material/edit_note:"),
        ],
    }
)
with st.sidebar:
    user = current_user()
    st.caption(f"Practising as {user.display_name}" if user else "Not signed in")
navigation.run()
