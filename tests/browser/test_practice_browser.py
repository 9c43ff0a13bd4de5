"""A trainee's practice session in a real browser: click through, reload, debrief."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine import load_library
from tests.app.paths import path_to_ending

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
SCENARIO = "sarah-missed-session"


def wait_idle(page: Page) -> None:
    """Wait until Streamlit has finished the current rerun."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=20_000)


def continue_narration(page: Page) -> None:
    """Press Continue until the page shows a decision or the debrief."""
    continue_button = page.get_by_role("button", name="Continue", exact=True)
    respond_button = page.get_by_role("button", name="Respond", exact=True)
    debrief = page.get_by_role("heading", name=re.compile("^Debrief"))
    for _ in range(20):
        expect(continue_button.or_(respond_button).or_(debrief).first).to_be_visible()
        if continue_button.count() == 0:
            return
        pressed = continue_button.element_handle()
        pressed.click()
        pressed.wait_for_element_state("hidden")  # replaced by the next step's content


def respond(page: Page, choice_text: str) -> None:
    continue_narration(page)
    option = page.get_by_role("radio", name=choice_text, exact=True)
    page.get_by_text(choice_text, exact=True).click()
    page.get_by_role("button", name="Respond").click()
    expect(option).to_have_count(0)  # the page moved on to the next step
    wait_idle(page)


def choice_texts(choice_ids: list[str], library_dir: Path) -> list[str]:
    library = load_library(library_dir)
    scenario = library.scenarios[SCENARIO]
    play_texts = []
    from engine import Playthrough

    play = Playthrough.start(scenario, library.rubric)
    for choice_id in choice_ids:
        play.proceed_through_narration()
        play_texts.append(next(c.text for c in play.offered_choices() if c.id == choice_id))
        play.choose(choice_id)
    return play_texts


def test_a_trainee_plays_to_the_debrief_surviving_a_reload_and_sees_the_balance_chart(page: Page, running_app):
    library = load_library(running_app.library)
    choices = path_to_ending(library.scenarios[SCENARIO], library.rubric, "repaired")
    texts = choice_texts(choices, running_app.library)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(running_app.url)
    page.get_by_label("Your name or a nickname").fill("Ana")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_text("Practising as", exact=False).first).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("Account · Ana", exact=True)).to_be_visible()
    title = library.scenarios[SCENARIO].title
    page.get_by_role("button", name=f"Start {title}", disabled=False).click()
    expect(page).to_have_url(re.compile(r"/play\?.*attempt="))
    brief = page.get_by_test_id("stExpander").filter(has_text="Case summary and objectives")
    expect(brief.get_by_text("The mistake:")).to_be_visible()  # the case brief comes first, open
    respond(page, texts[0])
    expect(page.get_by_text("Feedback on your last response")).to_be_visible()
    continue_narration(page)
    expect(brief).to_have_count(0)
    # Later, the brief is one Tab away: the title's help icon shows it when focused.
    page.get_by_test_id("stHeading").get_by_role("button", name="Help").focus()
    expect(page.get_by_role("tooltip").first).to_contain_text("The mistake:")
    page.get_by_role("button", name="Respond").focus()
    expect(page.get_by_role("tooltip")).to_have_count(0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 1300})
    page.screenshot(path=str(SCREENSHOTS / "play.png"))

    # A reload mid-attempt resumes at the same decision with the same answer recorded.
    url_before = page.url
    page.reload()
    wait_idle(page)
    assert page.url == url_before
    expect(page.get_by_text("Feedback on your last response")).to_be_visible()
    for text in texts[1:]:
        respond(page, text)
    continue_narration(page)

    expect(page.get_by_role("heading", name=re.compile("Debrief"))).to_be_visible()
    expect(page.get_by_text("The rupture was repaired")).to_be_visible()
    chart = page.locator(".js-plotly-plot").first
    expect(chart).to_be_visible()
    expect(chart.locator("text", has_text="Balanced repair").first).to_be_attached()
    expect(chart.locator(".scatterlayer .point").first).to_be_attached()
    page.set_viewport_size({"width": 1280, "height": 2000})
    page.get_by_role("heading", name=re.compile("Debrief")).scroll_into_view_if_needed()
    wait_idle(page)
    page.screenshot(path=str(SCREENSHOTS / "debrief.png"))

    # Nothing is fetched from the internet: every request the page made went to the app itself
    # (a Material icon favicon, for one, would come from fonts.gstatic.com).
    origin = running_app.url.rstrip("/")
    elsewhere = sorted({url for url in requested if not url.startswith((origin + "/", "data:", "blob:"))})
    assert len(requested) > 10 and elsewhere == []


def test_scenario_html_is_displayed_as_text_not_executed(page: Page, running_app):
    payload = "<script>window.__pwned = 1</script><iframe src='about:blank'></iframe><form action='/x'><input name='q'></form>"
    example = (ROOT / "docs" / "format-example.yaml").read_text(encoding="utf-8")
    probe = running_app.library / "xss-probe.yaml"
    probe.write_text(
        example.replace("id: example-late-start", "id: xss-probe").replace(
            "title: The late start", f"title: {payload!r}"
        ),
        encoding="utf-8",
    )
    try:
        shown = page.get_by_text("<script>window.__pwned = 1</script>", exact=False).first
        for _ in range(10):  # the running app notices new library files within a couple of seconds
            page.goto(running_app.url)
            try:
                expect(shown).to_be_visible(timeout=5_000)
                break
            except AssertionError:
                continue
        expect(shown).to_be_visible()
        assert page.evaluate("window.__pwned") is None
        assert page.locator("iframe[src='about:blank']").count() == 0
        assert page.locator("form[action='/x']").count() == 0
    finally:
        probe.unlink()


def test_killing_the_server_mid_attempt_loses_no_choice_and_the_trainee_resumes(page: Page, tmp_path: Path):
    from urllib.parse import urlsplit

    from tests.browser.conftest import start_app

    app = start_app(tmp_path)
    try:
        library = load_library(app.library)
        choices = path_to_ending(library.scenarios[SCENARIO], library.rubric, "repaired")
        texts = choice_texts(choices, app.library)
        page.goto(app.url)
        page.get_by_label("Your name or a nickname").fill("Kim")
        page.get_by_role("button", name="Save name").click()
        page.get_by_role("button", name=f"Start {library.scenarios[SCENARIO].title}", disabled=False).click()
        expect(page).to_have_url(re.compile(r"/play\?.*attempt="))
        respond(page, texts[0])
        expect(page.get_by_text("Feedback on your last response")).to_be_visible()
        address = urlsplit(page.url)
    finally:
        app.process.kill()  # SIGKILL: no shutdown hooks, no flushing
        app.process.wait(10)

    restarted = start_app(tmp_path)  # same database file and library, new port
    try:
        page.goto(f"{restarted.url}{address.path}?{address.query}")
        # The first page of a fresh process imports and warms everything; allow for a loaded CI machine.
        expect(page.get_by_text("Feedback on your last response")).to_be_visible(timeout=60_000)
        expect(page.get_by_text(texts[0], exact=True).first).to_be_visible()
        for text in texts[1:]:
            respond(page, text)
        continue_narration(page)
        expect(page.get_by_text("The rupture was repaired")).to_be_visible()
    finally:
        restarted.stop()
