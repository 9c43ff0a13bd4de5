"""The baseline for bench/bench_app.py: one button and a counter, nothing else.

Whatever a click costs here is Streamlit's own floor (rerun, widget state,
delta serialisation, the websocket round trip), so the app's figures are
reported against it.
"""

import streamlit as st


def _increment() -> None:
    st.session_state.count = st.session_state.get("count", 0) + 1


st.button("Click", key="click", on_click=_increment)
st.markdown(f"Clicked {st.session_state.get('count', 0)} times")
