"""The scenario library: cards, filters, search, and starting an attempt."""

from __future__ import annotations

import streamlit as st

from repairlab.services.errors import UserFacingError
from repairlab.services.library_filter import filter_entries

from .account_view import show_flash
from .context import current_user, get_services, guests_allowed, set_current_user
from .literal import md
from .navigation import go, link

DIFFICULTIES = ["beginner", "intermediate", "advanced"]
RUPTURES = ["withdrawal", "confrontation"]
MODE_LABELS = {
    "coached": "Coached: feedback after every response",
    "assessment": "Assessment: feedback only at the end",
}


def name_form() -> None:
    with st.form("guest-name"):
        st.markdown("**Who is practising?** Your name is shown only to you on this device.")
        name = st.text_input("Your name or a nickname", max_chars=60)
        if st.form_submit_button("Save name", type="primary"):
            try:
                set_current_user(get_services().practice.create_guest(name))
                st.rerun()
            except UserFacingError as error:
                st.error(str(error))


def start_attempt(scenario_id: str, mode: str) -> None:
    services = get_services()
    user = current_user()
    if user is None:
        st.error("Sign in or enter your name first, at the top of this page.")
        return
    try:
        state = services.practice.start(user.id, scenario_id, mode)
    except UserFacingError as error:
        st.error(str(error))
        return
    go("play", attempt=state.id)


def render() -> None:
    services = get_services()
    st.title("Scenario library")
    st.caption(
        "Each scenario starts just after a therapist's mistake. Choose how you would respond, "
        "and see where your choices fall between accountability and over-apology."
    )
    user = current_user()
    show_flash()
    if user is not None:
        st.markdown(f"Practising as **{md(user.display_name)}**.")
    elif guests_allowed():
        name_form()
        link("signin", "Or sign in to your account")
    else:
        st.info("Please sign in to practise.")
        link("signin", "Sign in")

    entries = services.catalog.entries()
    broken = services.catalog.broken_files()
    if services.catalog.rubric is None:
        st.error("The scenario library's rubric.yaml is missing or invalid, so nothing can be played. "
                 "See the Authors page for details.")
        return
    if broken:
        st.warning(f"{len(broken)} scenario file(s) have errors and are hidden. The Authors page lists them.")

    mode = st.radio(
        "Feedback mode", list(MODE_LABELS), format_func=MODE_LABELS.get, horizontal=True, key="mode"
    )
    all_tags = sorted({tag for entry in entries for tag in entry.scenario.tags})
    columns = st.columns([2, 2, 2, 3])
    difficulties = columns[0].multiselect("Difficulty", DIFFICULTIES)
    ruptures = columns[1].multiselect("Rupture type", RUPTURES)
    tags = columns[2].multiselect("Tags", all_tags)
    query = columns[3].text_input("Search", placeholder="client, mistake, topic...")
    shown = filter_entries(entries, difficulties, ruptures, tags, query)
    st.caption(f"Showing {len(shown)} of {len(entries)} scenarios.")
    if not shown:
        st.info("No scenario matches these filters.")
    for entry in shown:
        scenario = entry.scenario
        with st.container(border=True):
            st.subheader(scenario.title)
            st.markdown(
                f"**Client:** {scenario.client} · **Difficulty:** {scenario.difficulty} · "
                f"**Rupture:** {scenario.rupture} · **Decisions:** {scenario.decision_count}\n\n"
                f"**The mistake:** {scenario.mistake}"
            )
            if scenario.tags:
                st.caption("Tags: " + ", ".join(scenario.tags))
            if st.button(
                f"Start {scenario.title}",
                key=f"start-{scenario.id}",
                disabled=user is None,
                help=None if user else "Enter your name first",
            ):
                start_attempt(scenario.id, mode)
