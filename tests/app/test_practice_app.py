"""The practice flow through the real app script, with AppTest (no browser)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import Playthrough, load_library
from tests.pages import switch_page

from .paths import path_to_ending

SCENARIO = "lisa-interrupted"


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [h.value for h in app.title] + [h.value for h in app.header] + [h.value for h in app.subheader]
    parts += [str(i.value) for i in app.info] + [str(e.value) for e in app.error] + [str(w.value) for w in app.warning]
    return "\n".join(parts)


def button(app: AppTest, label: str):
    matches = [b for b in app.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in app.button]}"
    return matches[0]


def sign_in_and_start(new_app, scenario_id: str = SCENARIO, mode: str = "coached") -> AppTest:
    app = new_app()
    app.run()
    app.text_input[0].input("Ana")
    button(app, "Save name").click()
    app.run()
    assert "Practising as **Ana**" in texts(app)
    app.radio(key="mode").set_value(mode)
    app.run()
    app.button(key=f"start-{scenario_id}").click()
    app.run()
    assert not app.exception, app.exception
    return app


def test_a_name_written_in_markdown_is_shown_as_typed(new_app):
    app = new_app()
    app.run()
    app.text_input[0].input("**Ana** [site](https://example.org)")
    button(app, "Save name").click()
    app.run()
    shown = next(m.value for m in app.markdown if m.value.startswith("Practising as"))
    # Every Markdown character is escaped, so the browser shows the name as text, not bold or a link.
    assert shown == r"Practising as **\*\*Ana\*\* \[site\]\(https\://example.org\)**."


def answer(app: AppTest, scenario, choice_id: str) -> None:
    """Continue through narration, then pick `choice_id` and press Respond."""
    for _ in range(20):
        continues = [b for b in app.button if b.label == "Continue"]
        if not continues:
            break
        continues[0].click()
        app.run()
    radio = app.radio[-1]
    texts_with_id = [c.text for n in scenario.nodes.values() for c in n.choices or [] if c.id == choice_id]
    assert set(texts_with_id) & set(radio.options), f"{choice_id} not offered; offered: {radio.options}"
    radio.set_value(choice_id)
    button(app, "Respond").click()
    app.run()
    assert not app.exception, app.exception


def finish(app: AppTest) -> None:
    """Press Continue until the page shows a decision or the debrief."""
    for _ in range(20):
        continues = [b for b in app.button if b.label == "Continue"]
        if not continues:
            return
        continues[0].click()
        app.run()


def open_play_page(app: AppTest) -> AppTest:
    app.run()
    switch_page(app, "play")
    app.run()
    return app


def attempt_id(app: AppTest) -> str:
    return app.query_params["attempt"]


@pytest.mark.parametrize("ending", ["repaired", "partial", "unrepaired"])
def test_a_trainee_can_play_to_each_kind_of_ending_and_see_its_debrief(new_app, app_env: Path, ending: str):
    library = load_library(app_env)
    scenario = library.scenarios[SCENARIO]
    choices = path_to_ending(scenario, library.rubric, ending)
    assert choices, f"{SCENARIO} has no path to a {ending} ending"
    app = sign_in_and_start(new_app)
    for choice_id in choices:
        answer(app, scenario, choice_id)
    finish(app)
    page = texts(app)
    assert f"Debrief: {scenario.title}" in page
    expected = {"repaired": "was repaired", "partial": "partly repaired", "unrepaired": "was not repaired"}[ending]
    assert expected in page
    assert [m.label for m in app.metric][:2] == ["Attempt score", "Overall zone"]
    assert "Show this chart as a table" in [e.label for e in app.expander]


def test_coached_mode_shows_feedback_score_zone_and_rubric_levels_after_each_choice(new_app, app_env: Path):
    library = load_library(app_env)
    scenario = library.scenarios[SCENARIO]
    first = scenario.nodes[scenario.start]
    while first.choices is None:
        first = scenario.nodes[first.next]
    choice = first.choices[0]
    app = sign_in_and_start(new_app, mode="coached")
    answer(app, scenario, choice.id)
    page = texts(app)
    assert "Feedback on your last response" in page
    assert choice.feedback in page
    play = Playthrough.resume(scenario, library.rubric, [])
    while play.kind == "narration":
        play.proceed()
    outcome = play.choose(choice.id)
    assert f"Score {outcome.score:.0f} / 100" in page
    assert f"Zone: **{library.rubric.zone_label(outcome.zone)}**" in page
    assert f"Best score on offer: {outcome.best_score:.0f} / 100" in page
    level = library.rubric.dimensions["accountability"].levels[choice.scores["accountability"]]
    assert level in page


def test_the_case_brief_comes_first_and_stays_behind_the_titles_help_icon(new_app, app_env: Path):
    library = load_library(app_env)
    scenario = library.scenarios[SCENARIO]
    app = sign_in_and_start(new_app)
    assert [e.label for e in app.expander] == ["Case summary and objectives"]
    brief = "\n".join(m.value for m in app.expander[0].markdown)
    for part in (scenario.mistake, scenario.summary, *scenario.objectives):
        assert part.strip() in brief
    assert app.title[0].proto.help.strip() in brief  # the same brief, one hover or Tab away

    answer(app, scenario, path_to_ending(scenario, library.rubric, "repaired")[0])
    assert "Case summary and objectives" not in [e.label for e in app.expander]
    help_text = app.title[0].proto.help
    assert app.title[0].value == scenario.title
    for part in (scenario.mistake, scenario.summary, *scenario.objectives):
        assert part.strip() in help_text


def test_assessment_mode_gives_no_feedback_until_the_debrief(new_app, app_env: Path):
    library = load_library(app_env)
    scenario = library.scenarios[SCENARIO]
    choices = path_to_ending(scenario, library.rubric, "repaired")
    app = sign_in_and_start(new_app, mode="assessment")
    answer(app, scenario, choices[0])
    assert "Feedback on your last response" not in texts(app)
    for choice_id in choices[1:]:
        answer(app, scenario, choice_id)
        if "Debrief" not in texts(app):
            assert "Feedback on your last response" not in texts(app)
    finish(app)
    assert "Debrief" in texts(app)


def test_an_attempt_resumes_at_the_next_decision_after_a_reconnect(new_app, app_env: Path):
    library = load_library(app_env)
    scenario = library.scenarios[SCENARIO]
    choices = path_to_ending(scenario, library.rubric, "repaired")
    app = sign_in_and_start(new_app)
    answer(app, scenario, choices[0])
    finish(app)  # continue through any narration to the next decision
    options_before = app.radio[-1].options
    attempt = attempt_id(app)

    reconnected = open_play_page(new_app(attempt=attempt))  # a new browser session with only the URL
    assert not reconnected.exception
    assert reconnected.radio[-1].options == options_before  # same node, same shuffled order
    for choice_id in choices[1:]:
        answer(reconnected, scenario, choice_id)
    finish(reconnected)
    assert "was repaired" in texts(reconnected)


def test_answering_a_step_already_answered_in_another_tab_says_so_and_shows_where_the_attempt_is(
    new_app, app_env: Path
):
    library = load_library(app_env)
    scenario = library.scenarios[SCENARIO]
    choices = path_to_ending(scenario, library.rubric, "repaired")
    first_tab = sign_in_and_start(new_app)
    finish(first_tab)  # at the first decision
    second_tab = open_play_page(new_app(attempt=attempt_id(first_tab)))  # the same attempt, drawn at the same step
    answer(first_tab, scenario, choices[0])

    first_decision = Playthrough.start(scenario, library.rubric)
    first_decision.proceed_through_narration()
    other = next(c.id for c in first_decision.offered_choices() if c.id != choices[0])
    answer(second_tab, scenario, other)
    assert any("already answered" in str(i.value) for i in second_tab.info)
    finish(second_tab)
    finish(first_tab)
    assert second_tab.radio[-1].options == first_tab.radio[-1].options  # both show the attempt's next decision
    for choice_id in choices[1:]:
        answer(second_tab, scenario, choice_id)
    finish(second_tab)
    assert "was repaired" in texts(second_tab)


def test_choice_order_is_shuffled_per_attempt_but_stable_across_reruns(new_app, app_env: Path):
    orders = set()
    for _ in range(6):
        app = sign_in_and_start(new_app)
        first = app.radio[-1].options
        app.run()
        assert app.radio[-1].options == first
        orders.add(tuple(first))
    assert len(orders) > 1


def test_a_library_with_a_broken_file_still_plays_and_lists_the_error_for_authors(new_app, app_env: Path):
    (app_env / "broken.yaml").write_text("id: broken\ntitle: [unclosed\n", encoding="utf-8")
    app = new_app()
    app.run()
    assert "1 scenario file(s) have errors" in texts(app)
    assert app.button(key=f"start-{SCENARIO}") is not None
    switch_page(app, "authors")
    app.run()
    codes = "\n".join(c.value for c in app.code)
    assert "broken.yaml:3:1: error: YAML syntax error" in codes or "broken.yaml:2:" in codes
    assert not app.exception


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", "<iframe src='x'></iframe>", "<form action='x'><input></form>"])
def test_html_in_scenario_text_and_reflections_is_shown_as_text(new_app, app_env: Path, payload: str):
    path = app_env / f"{SCENARIO}.yaml"
    source = path.read_text(encoding="utf-8")
    source = source.replace("\nsummary: ", f"\nsummary: {payload!r} ", 1) if "\nsummary: |" not in source else (
        source.replace("\nsummary: |\n", f"\nsummary: |\n  {payload}\n", 1)
    )
    path.write_text(source, encoding="utf-8")
    app = sign_in_and_start(new_app)
    shown = [m for m in app.markdown if payload in m.value]
    assert shown, "the payload should be displayed, as text"
    assert all(not m.proto.allow_html for m in app.markdown)
    assert not app.get("html")
