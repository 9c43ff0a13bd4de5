"""For scenario authors: which library files are broken, and exactly where."""

from __future__ import annotations

import streamlit as st

from .context import get_services


def render() -> None:
    services = get_services()
    catalog = services.catalog
    library = catalog.library()
    st.title("Authors")
    st.markdown(f"Scenario library folder: `{catalog.root}`")
    st.markdown(
        "Validate from a shell with `python -m engine validate` (same checks). "
        "Each problem is shown as `file:line:column: severity: message`."
    )
    rubric_problems = library.rubric_file.diagnostics
    if rubric_problems:
        st.error("rubric.yaml has problems; no scenario can be played until they are fixed.")
        st.code("\n".join(str(d) for d in rubric_problems), language=None)
    playable = catalog.entries()
    broken = catalog.broken_files()
    st.metric("Playable scenarios", len(playable))
    if not broken:
        st.success("Every scenario file is valid.")
    for scenario_file in broken:
        with st.container(border=True):
            st.markdown(f"**{scenario_file.path.name}**: not playable")
            st.code("\n".join(str(d) for d in scenario_file.diagnostics), language=None)
    warned = [f for f in library.files if f.ok and f.diagnostics]
    for scenario_file in warned:
        with st.expander(f"{scenario_file.path.name}: {len(scenario_file.diagnostics)} warning(s)"):
            st.code("\n".join(str(d) for d in scenario_file.diagnostics), language=None)
