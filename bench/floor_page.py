"""A second baseline for bench/bench_app.py: the play page's shape with no app behind it.

The same Streamlit work as one choice click of the real app, and nothing else:
page config on the first run only, a ten-page `st.navigation` menu built once
per session, and a play page of the same seven elements (title with the case
brief as its help, progress bar, coached feedback, the client's words, and a
form with four responses). Responding advances a counter in session state: no
database, no scenario engine, no identity. The real app's time over this one
is what the app itself costs. Like the real app, the script AppTest compiles
on every run (`bench/floor_app.py`) is a few lines that call into this module.
"""

import streamlit as st

RESPONSES = [f"Response {n}: a sentence of about the length the bundled scenarios use for a choice." for n in "ABCD"]
BRIEF = "**Client:** Sarah · **Mode:** coached\n\n**The mistake:** a summary paragraph.\n\n**Objectives**\n\n- a\n- b"


def _respond() -> None:
    if st.session_state.get("pick") is not None:
        st.session_state.step = st.session_state.get("step", 0) + 1


def play() -> None:
    step = st.session_state.get("step", 0)
    st.title("The empty room", help=BRIEF)
    st.progress(min(step, 3) / 4, text=f"Decision {step + 1} of at least 4")
    if step == 0:
        with st.expander("Case summary and objectives", expanded=True):
            st.markdown(BRIEF)
    else:
        st.info(f"**Feedback on your last response**\n\n> {RESPONSES[0]}\n\nFeedback text.\n\n- a\n- b\n- c")
    st.markdown(f"### Sarah\n\nWhat the client says at step {step}.\n\n**Nonverbal cue:** a cue.")
    with st.form(f"choose-{step}"):
        st.radio("How do you respond?", RESPONSES, index=None, key="pick")
        st.form_submit_button("Respond", type="primary", on_click=_respond)


def other() -> None:
    st.write("Another page.")


def run() -> None:
    if "configured" not in st.session_state:
        st.set_page_config(page_title="Floor", page_icon="🤝", layout="wide")
        st.session_state.configured = True
    if "menu" not in st.session_state:
        pages = [st.Page(play, title="Play", url_path="play", default=True)]
        pages += [st.Page(other, title=f"Page {n}", url_path=f"page{n}") for n in range(9)]
        st.session_state.menu = {
            "Practise": pages[:5], "Supervise": pages[5:6], "Authoring": pages[6:7], "Account": pages[7:]
        }
    st.navigation(st.session_state.menu).run()
