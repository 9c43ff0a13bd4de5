"""Repair Lab: the Streamlit entry point. A short router; pages live in `ui/`."""

import streamlit as st

from ui.context import current_user
from ui.navigation import page

st.set_page_config(page_title="Repair Lab", page_icon=":material/handshake:", layout="wide")

navigation = st.navigation(
    {
        "Practise": [
            page("library", "Scenario library", ":material/library_books:", default=True),
            page("play", "Play", ":material/play_arrow:"),
            page("history", "My history", ":material/history:"),
        ],
        "Account": [
            page("signin", "Sign in", ":material/login:"),
        ],
        "Authoring": [
            page("authors", "Authors", ":material/edit_note:"),
        ],
    }
)
with st.sidebar:
    user = current_user()
    st.caption(f"Practising as {user.display_name}" if user else "Not signed in")
navigation.run()
