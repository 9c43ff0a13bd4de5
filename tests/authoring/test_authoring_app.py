"""The authoring page through AppTest: check, graph, coverage, preview and publish (no browser).

The page is run by a test router (tests/authoring/router.py) that registers it
beside the practice pages, as the app's router does once it lists the page;
`test_the_app_router_serves_the_authoring_page` runs the real router when it
registers the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import Playthrough, load_library
from repairlab.services.authoring import starter_template
from tests.pages import switch_page

from .conftest import ROOT

DRAFT = "my-new-scenario"


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [h.value for h in app.title] + [h.value for h in app.header] + [h.value for h in app.subheader]
    for kind in ("info", "error", "warning", "success"):
        parts += [str(e.value) for e in getattr(app, kind)]
    parts += [str(c.value) for c in app.code]
    return "\n".join(parts)


def button(app: AppTest, label: str):
    matches = [b for b in app.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in app.button]}"
    return matches[0]


def run(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    return app


def click(app: AppTest, label: str) -> AppTest:
    button(app, label).click()
    return run(app)


def paste_and_check(app: AppTest, text: str) -> AppTest:
    app.text_area(key="authoring_text").input(text)
    return click(app, "Check")


def frames(app: AppTest) -> list:
    return [frame.value for frame in app.dataframe]


def open_page(authoring_app) -> AppTest:
    app = run(authoring_app())
    assert "Authoring workspace" in [t.value for t in app.title]
    return app


def test_check_shows_each_error_with_its_line_and_column(authoring_app) -> None:
    app = open_page(authoring_app)
    broken = starter_template().replace("next: softens", "next: sofftens")
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "next: sofftens" in text)

    paste_and_check(app, broken)

    assert "1 error(s) and 0 warning(s)" in texts(app)
    problems = frames(app)[0]
    assert list(problems.columns) == ["Line", "Column", "Severity", "Message"]
    assert problems.iloc[0]["Line"] == line and "unknown node 'sofftens'" in problems.iloc[0]["Message"]
    assert f"draft.yaml:{line}:" in texts(app)
    assert f"{line} |         next: sofftens" in texts(app)  # the problem shown in its place
    yaml_views = [c for c in app.code if c.language == "yaml"]
    assert yaml_views and yaml_views[0].value == broken.rstrip("\n")  # st.code strips the final newline
    assert not [b for b in app.button if b.label in ("Publish", "Preview as a trainee")]


def test_an_uploaded_file_fills_the_editor_and_its_name_is_used_in_the_errors(authoring_app) -> None:
    app = open_page(authoring_app)
    broken = starter_template().replace("start: opening", "start: openning")
    app.file_uploader(key="authoring_upload").set_value(("wrong-name.yaml", broken.encode(), "application/x-yaml"))
    run(app)
    assert app.text_area(key="authoring_text").value == broken

    click(app, "Check")
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if text.startswith("start: openning"))
    assert f"wrong-name.yaml:{line}:8: error: start names unknown node 'openning'" in texts(app)


def test_an_upload_that_is_not_utf8_is_refused_with_a_clear_message(authoring_app) -> None:
    app = open_page(authoring_app)
    app.file_uploader(key="authoring_upload").set_value(("latin1.yaml", b"title: caf\xe9\n", "application/x-yaml"))
    run(app)
    assert "latin1.yaml: the file is not UTF-8 text" in texts(app)
    assert app.text_area(key="authoring_text").value == ""


def test_a_valid_draft_shows_its_graph_and_coverage_table(authoring_app) -> None:
    app = paste_and_check(open_page(authoring_app), starter_template())

    assert "No errors or warnings" in texts(app)
    graphs = app.get("graphviz_chart")
    assert len(graphs) == 1
    assert f'digraph "{DRAFT}"' in graphs[0].proto.spec
    coverage = next(f for f in frames(app) if "Missing zones" in f.columns)
    assert list(coverage["Decision"]) == ["opening", "second-chance"]
    assert list(coverage["Missing zones"]) == ["none", "none"]
    summary = app.table[0].value
    assert summary.loc["Playable paths (as trainees can play)", "Value"] == "16"
    edges = next(f for f in frames(app) if "Conditional" in f.columns)
    assert ("opening", "own-it", "softens") in set(zip(edges["From"], edges["Choice"], edges["To"], strict=True))


def test_the_template_and_schema_downloads_are_offered(authoring_app) -> None:
    app = open_page(authoring_app)
    labels = [d.proto.label for d in app.get("download_button")]
    assert labels == ["Download the starter template", "Download the JSON Schema"]
    assert "$schema=scenario.v1.schema.json" in texts(app)
    click(app, "Open the template in the editor")
    assert app.text_area(key="authoring_text").value == starter_template()


def test_preview_plays_the_draft_as_a_trainee_would_and_returns_to_the_editor(authoring_app, app_env: Path) -> None:
    app = paste_and_check(open_page(authoring_app), starter_template())
    click(app, "Preview as a trainee")

    assert "Preview of your unpublished draft" in texts(app)
    assert "The wrong name" in [t.value for t in app.title]
    assert "**Nonverbal cue:** His arms are folded and he looks straight at you." in texts(app)
    # Always take the best response, through narration, to the debrief.
    rubric = load_library(app_env).rubric
    from engine import load_scenario_text

    scenario = load_scenario_text(starter_template(), rubric, "t.yaml").scenario
    play = Playthrough.start(scenario, rubric)
    for _ in range(20):
        continues = [b for b in app.button if b.label == "Continue"]
        if continues:
            continues[0].click()
            run(app)
            play.proceed()
            continue
        if play.finished:
            break
        best = max(play.offered_choices(), key=lambda c: rubric.score(c.scores))
        app.radio[-1].set_value(best.id)
        click(app, "Respond")
        play.choose(best.id)
        if not play.finished:  # coached mode: feedback before the next node
            assert "Feedback on your last response" in texts(app)
    assert "Debrief: The wrong name" in [t.value for t in app.title]
    assert "The rupture was repaired" in [h.value for h in app.header]

    click(app, "End the preview and go back to the editor")
    assert app.text_area(key="authoring_text").value == starter_template()
    from ui.context import get_services

    assert DRAFT not in {e.scenario.id for e in get_services().catalog.entries()}


def test_publishing_a_new_scenario_adds_it_to_the_library(authoring_app) -> None:
    app = paste_and_check(open_page(authoring_app), starter_template())
    app.text_input(key="authoring_note").input("first draft")
    click(app, "Publish")

    assert "Published 'The wrong name' (my-new-scenario) as version 1" in texts(app)
    published = next(f for f in frames(app) if "Newest" in f.columns)
    assert list(published["Scenario"]) == [DRAFT] and list(published["Note"]) == ["first draft"]
    from ui.context import get_services

    assert get_services().catalog.entry(DRAFT).published_version == 1


def test_replacing_an_existing_scenario_needs_an_explicit_confirmation_and_shows_what_changes(
    authoring_app, app_library: Path
) -> None:
    original = (app_library / "sarah-missed-session.yaml").read_text()
    edited = original.replace("title: The empty room", "title: The empty waiting room", 1)
    app = paste_and_check(open_page(authoring_app), edited)

    assert "already has a scenario with the id **sarah-missed-session**" in texts(app)
    assert "- **Title**: The empty room → The empty waiting room" in texts(app)
    changes = next(f for f in frames(app) if "After publishing" in f.columns)
    changed = changes[changes["Changed"] == "yes"]
    assert list(changed["What"]) == ["Title"]
    assert list(changed["After publishing"]) == ["The empty waiting room"]
    assert button(app, "Publish").disabled

    app.checkbox(key="authoring_confirm").check()
    run(app)
    assert not button(app, "Publish").disabled
    click(app, "Publish")
    assert "as version 1" in texts(app)
    from ui.context import get_services

    assert get_services().catalog.entry("sarah-missed-session").scenario.title == "The empty waiting room"


def test_the_page_is_closed_when_authoring_is_off_and_nobody_is_a_supervisor(
    authoring_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPAIRLAB_AUTHORING", "0")
    from ui.context import get_services

    get_services.clear()
    app = open_page(authoring_app)
    assert "The authoring workspace is for supervisors and administrators" in texts(app)
    assert not app.text_area


def test_the_app_router_serves_the_authoring_page(app_env: Path) -> None:
    app = AppTest.from_file(str(ROOT / "app_script.py"), default_timeout=30)
    run(app)
    switch_page(app, "authoring")
    run(app)
    assert "Authoring workspace" in [t.value for t in app.title]
