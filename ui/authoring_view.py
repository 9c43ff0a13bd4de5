"""The authoring workspace: paste or upload a scenario, check it, preview it, publish it.

All the rules live in `repairlab.services.authoring`; this view only lays them
out. A preview is played with the trainee's own play and debrief views
(`render_attempt`, `render_debrief`) on an attempt owned by
the dedicated preview user, so it looks exactly as it will for a trainee and
never shows in anyone's history.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from engine.graph import edges
from repairlab.services.authoring import (
    DRAFT_NAME,
    MAX_CHOICES_PER_NODE,
    MAX_NODES,
    MAX_SOURCE_BYTES,
    SCHEMA_FILE_NAME,
    AuthoringService,
    CheckResult,
    ReplaceRequired,
    authoring_allowed,
    read_upload,
    scenario_schema_text,
    starter_template,
)
from repairlab.services.errors import UserFacingError

from .context import current_user, get_services
from .debrief_view import render_debrief
from .play_view import render_attempt

TEXT_KEY = "authoring_text"  # the text area's own state (dropped by Streamlit while it is not shown)
DRAFT_KEY = "authoring_draft"  # the draft kept across the preview, when the text area is not shown
NAME_KEY = "authoring_name"  # the uploaded file's name, used in diagnostics
UPLOAD_KEY = "authoring_upload"
LOADED_UPLOAD_KEY = "authoring_loaded_upload"
RESULT_KEY = "authoring_result"
PREVIEW_KEY = "authoring_preview"
PREVIEW_TEXT_KEY = "authoring_preview_text"
PREVIEW_MODE_KEY = "authoring_preview_mode"
CONFIRM_KEY = "authoring_confirm"
NOTE_KEY = "authoring_note"
FLASH_KEY = "authoring_flash"

MODE_LABELS = {
    "coached": "Coached: feedback after every response",
    "assessment": "Assessment: feedback only at the end",
}


def service() -> AuthoringService:
    services = get_services()
    built = getattr(services, "authoring", None)  # if the container provides one, use it
    if isinstance(built, AuthoringService):
        return built
    return AuthoringService(services.store, services.catalog, services.practice, services.settings)


def render() -> None:
    services = get_services()
    user = current_user()
    st.title("Authoring workspace")
    if not authoring_allowed(user, services.settings):
        st.info(
            "The authoring workspace is for supervisors and administrators. On a server without "
            "accounts it is turned on with the setting `REPAIRLAB_AUTHORING=1`."
        )
        return
    authoring = service()
    if st.session_state.get(PREVIEW_KEY) and render_preview(authoring, st.session_state[PREVIEW_KEY]):
        return
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
    st.caption(
        "Write a scenario in the YAML authoring format, check it, play it as a trainee would, and "
        "publish it into the library. Nothing is published until you press Publish."
    )
    render_downloads(authoring)
    text, name = render_editor(authoring)
    result: CheckResult | None = st.session_state.get(RESULT_KEY)
    if result is not None:
        stale = result.text != text
        if stale:
            st.warning("The draft changed since it was checked. Press **Check** again before previewing or publishing.")
        render_result(result)
        if not stale:
            render_preview_start(authoring, result)
            render_publish(authoring, result, user)
    render_published(authoring)


# -- downloads and the editor -------------------------------------------------------------------


def render_downloads(authoring: AuthoringService) -> None:
    with st.expander("Starter template and editor autocompletion", expanded=False):
        st.markdown(
            "The starter template is a complete, valid small scenario with comments explaining "
            "every part of the format. Save the JSON Schema in the same folder as your scenario "
            f"files: editors that use the YAML language server (for example VS Code with the YAML "
            f"extension) then autocomplete keys and values and underline mistakes as you type, "
            f"thanks to the template's first line `# yaml-language-server: $schema={SCHEMA_FILE_NAME}`."
        )
        left, middle, right = st.columns(3)
        left.download_button(
            "Download the starter template",
            data=starter_template(),
            file_name="starter-template.yaml",
            mime="application/x-yaml",
            key="authoring-download-template",
            on_click="ignore",
        )
        middle.download_button(
            "Download the JSON Schema",
            data=scenario_schema_text(),
            file_name=SCHEMA_FILE_NAME,
            mime="application/schema+json",
            key="authoring-download-schema",
            on_click="ignore",
        )
        if right.button("Open the template in the editor", key="authoring-use-template"):
            _replace_draft(starter_template(), "starter-template.yaml")
            st.rerun()
        entries = authoring.catalog.entries()
        if entries:
            titles = {e.scenario.id: f"{e.scenario.title} ({e.scenario.id})" for e in entries}
            picked = st.selectbox(
                "Or start from a scenario in the library (publishing it again makes a new version)",
                options=list(titles),
                format_func=titles.get,
                index=None,
                key="authoring-pick-existing",
            )
            if st.button("Open it in the editor", key="authoring-open-existing", disabled=picked is None):
                try:
                    _replace_draft(authoring.source_of(picked), f"{picked}.yaml")
                    st.rerun()
                except UserFacingError as error:
                    st.error(str(error))


def _replace_draft(text: str, name: str) -> None:
    """Put text in the editor (only before the text area is drawn in this run)."""
    st.session_state[TEXT_KEY] = text
    st.session_state[DRAFT_KEY] = text
    st.session_state[NAME_KEY] = name
    st.session_state.pop(RESULT_KEY, None)
    st.session_state.pop(CONFIRM_KEY, None)


def render_editor(authoring: AuthoringService) -> tuple[str, str]:
    st.subheader("Your scenario")
    upload = st.file_uploader(
        f"Upload a scenario file (.yaml or .yml, at most {MAX_SOURCE_BYTES // 1024} KB)",
        type=["yaml", "yml"],
        key=UPLOAD_KEY,
    )
    if upload is not None and st.session_state.get(LOADED_UPLOAD_KEY) != upload.file_id:
        st.session_state[LOADED_UPLOAD_KEY] = upload.file_id
        text, problem = read_upload(upload.getvalue())
        if problem is not None:
            st.error(f"{upload.name}: {problem}")
        else:
            _replace_draft(text, upload.name)
    if TEXT_KEY not in st.session_state:  # back from a preview: restore the draft
        st.session_state[TEXT_KEY] = st.session_state.get(DRAFT_KEY, "")
    text = st.text_area(
        "Or paste the YAML here (uploading a file puts its text here to edit)",
        key=TEXT_KEY,
        height=360,
        placeholder="id: my-new-scenario\ntitle: ...",
    )
    st.session_state[DRAFT_KEY] = text
    name = st.session_state.get(NAME_KEY) or DRAFT_NAME
    # Never disabled: in a browser, typing then clicking commits the text in the same rerun.
    if st.button("Check", type="primary", key="authoring-check"):
        st.session_state.pop(CONFIRM_KEY, None)
        if text.strip():
            st.session_state[RESULT_KEY] = authoring.check(text, name)
        else:
            st.session_state.pop(RESULT_KEY, None)
            st.warning("Paste a scenario or upload a file first.")
    return text, name


# -- check results --------------------------------------------------------------------------------


def render_result(result: CheckResult) -> None:
    errors, warnings = result.errors, result.warnings
    if errors:
        st.error(
            f"{len(errors)} error(s) and {len(warnings)} warning(s): this draft cannot be previewed or "
            "published until the errors are fixed."
        )
    elif warnings:
        st.warning(f"No errors, {len(warnings)} warning(s). You can preview and publish it.")
    else:
        st.success("No errors or warnings. You can preview and publish it.")
    if result.diagnostics:
        st.markdown("**Problems, by line and column**")
        st.dataframe(
            pd.DataFrame(result.diagnostic_rows()),
            hide_index=True,
            key="authoring-problems",
            alt="Table of the problems found: line, column, severity and message of each.",
        )
        st.markdown("**Each problem in its place**")
        st.code(result.excerpts(), language=None)
    with st.expander("Your YAML with line numbers", expanded=bool(errors)):
        st.code(result.text, language="yaml", line_numbers=True, wrap_lines=True)
    if result.draft is None or result.dot is None:
        return
    scenario = result.draft
    st.subheader("Scenario graph")
    alt = (
        f"Graph of '{scenario.title}': {len(scenario.nodes)} nodes. Boxes are decision points, ellipses "
        "narration, double octagons endings; arrows are labelled with choice ids, dashed arrows are "
        "conditional routes, and the start node has a double border."
    )
    st.graphviz_chart(result.dot, alt=alt)
    st.caption(alt)
    with st.expander("Show the graph as a table"):
        st.dataframe(
            pd.DataFrame(
                [
                    {"From": e.source, "Choice": e.choice or "(continue)", "To": e.target,
                     "Conditional": "yes" if e.conditional else "no"}
                    for e in edges(scenario)
                ]
            ),
            hide_index=True,
            key="authoring-edges",
        )
    st.subheader("Coverage")
    st.table(pd.DataFrame(result.summary_rows()).set_index("What"))
    st.markdown("**Zones offered at each decision** (number of choices in each zone)")
    st.dataframe(pd.DataFrame(result.coverage_rows()), hide_index=True, key="authoring-coverage")
    for warning in result.coverage_warnings:
        st.warning(warning)
    st.caption(
        f"Limits: {MAX_SOURCE_BYTES // 1024} KB per file, {MAX_NODES} nodes, {MAX_CHOICES_PER_NODE} choices "
        "per decision point, and a maximum length for each text field (see docs/authoring.md)."
    )


# -- preview -----------------------------------------------------------------------------------


def render_preview_start(authoring: AuthoringService, result: CheckResult) -> None:
    if not result.ok:
        return
    st.subheader("Preview")
    st.markdown(
        "Play the draft exactly as a trainee would. Previews are not published, are kept apart "
        "from every trainee's history and statistics, and do not change the library."
    )
    mode = st.radio(
        "Feedback mode",
        options=list(MODE_LABELS),
        format_func=MODE_LABELS.get,
        horizontal=True,
        key="authoring-preview-mode",
    )
    if st.button("Preview as a trainee", key="authoring-preview-start"):
        start_preview(authoring, result.text, mode or "coached")


def start_preview(authoring: AuthoringService, text: str, mode: str) -> None:
    try:
        state = authoring.start_preview(text, mode, current_user())
    except UserFacingError as error:
        st.error(str(error))
        return
    st.session_state[PREVIEW_KEY] = state.id
    st.session_state[PREVIEW_TEXT_KEY] = text
    st.session_state[PREVIEW_MODE_KEY] = mode
    st.rerun()


def end_preview() -> None:
    st.session_state.pop(PREVIEW_KEY, None)


def render_preview(authoring: AuthoringService, attempt_id: str) -> bool:
    """The preview in place of the editor; False (and the editor instead) if it cannot be loaded."""
    try:
        state = authoring.load_preview(attempt_id)
    except UserFacingError as error:
        end_preview()
        st.error(str(error))
        return False
    with st.container(border=True):
        st.markdown(
            "**Preview of your unpublished draft**, exactly as a trainee sees it. It is not saved to "
            "anyone's history, and nothing is published."
        )
        left, right = st.columns(2)
        if left.button("End the preview and go back to the editor", key="authoring-preview-end"):
            end_preview()
            st.rerun()
        if right.button("Restart the preview", key="authoring-preview-restart"):
            start_preview(
                authoring,
                st.session_state.get(PREVIEW_TEXT_KEY, ""),
                st.session_state.get(PREVIEW_MODE_KEY, state.mode),
            )
    if state.finished:
        render_debrief(state, preview=True)
    else:
        render_play(state)
    return True


def render_play(state: Any) -> None:
    """The play page's layout (ui/play_view.py) for a preview attempt."""
    render_attempt(state)


# -- publishing ----------------------------------------------------------------------------------


def render_publish(authoring: AuthoringService, result: CheckResult, user: Any) -> None:
    if not result.ok or result.scenario is None:
        return
    scenario = result.scenario
    st.subheader("Publish")
    existing = result.existing
    if result.identical_to_existing:
        st.info(f"This is exactly the version of '{scenario.id}' the library already serves; nothing to publish.")
        return
    confirmed = True
    if existing is not None:
        st.warning(
            f"The library already has a scenario with the id **{scenario.id}** ({existing.described}). "
            "Publishing replaces it for new attempts; attempts already started or finished keep the "
            "version they were played on. To publish a separate scenario instead, change the `id`."
        )
        changed = [c for c in result.changes if c.changed]
        if changed:
            st.markdown("**What would change for trainees**")
            st.markdown("\n".join(
                f"- **{c.what}**: {c.before} → {c.after}" if c.before else f"- **{c.what}**: {c.after}"
                for c in changed
            ))
        elif result.changes:
            st.markdown("Only details outside this comparison changed (for example the order of choices or routes).")
        if result.changes:
            with st.expander("Full comparison with the version served now"):
                st.dataframe(
                    pd.DataFrame(
                        [
                            {"What": c.what, "Now": c.before, "After publishing": c.after,
                             "Changed": "yes" if c.changed else ""}
                            for c in result.changes
                        ]
                    ),
                    hide_index=True,
                    key="authoring-changes",
                )
        confirmed = st.checkbox(f"Publish as a new version of '{scenario.id}'", key=CONFIRM_KEY)
    note = st.text_input("Note for other authors (optional): what changed and why", max_chars=500, key=NOTE_KEY)
    if st.button("Publish", type="primary", key="authoring-publish", disabled=not confirmed):
        try:
            record = authoring.publish(
                result.text,
                user,
                replace=existing is not None and confirmed,
                note=note,
                expected_current=existing.content_hash if existing is not None else None,
            )
        except ReplaceRequired as error:
            st.error(str(error))
            return
        except UserFacingError as error:
            st.error(str(error))
            return
        st.session_state[FLASH_KEY] = (
            f"Published '{record.title}' ({record.scenario_id}) as version {record.version_no}. "
            "Trainees find it in the scenario library now."
        )
        st.session_state.pop(RESULT_KEY, None)
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()


def render_published(authoring: AuthoringService) -> None:
    published = authoring.list_published()
    st.subheader("Published from this workspace")
    if not published:
        st.markdown("Nothing has been published from the workspace yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Scenario": p.scenario_id,
                    "Version": p.version_no,
                    "Title": p.title,
                    "Published": p.published_at.strftime("%Y-%m-%d %H:%M UTC") if p.published_at else "",
                    "By": p.published_by or "(no account)",
                    "Note": p.note or "",
                    "Newest": "yes" if p.newest else "",
                }
                for p in published
            ]
        ),
        hide_index=True,
        key="authoring-published",
    )
