"""The WebSocket protocol client of bench/st_client.py against a real `streamlit run` of the app.

No browser: the client speaks Streamlit's browser protocol itself. Each test
module starts one app process (tests/browser/conftest.py `start_app`) on a
temporary SQLite database and a copy of the bundled library, and checks what
the client does in the database, not only on the page. Slow-ish (a server
start and its first imports), but needs neither Chromium nor Playwright.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from bench.st_client import StreamlitError, StreamlitSession
from tests.browser.conftest import RunningApp, start_app

SCENARIO = "distracted-clock-watching"  # starts with a decision


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    running = start_app(tmp_path_factory.mktemp("st-client"))
    yield running
    running.stop()


def run(coroutine):  # type: ignore[no-untyped-def]
    """Run on a fresh event loop in its own thread.

    The test session's Playwright (sync API) keeps an event loop running on the
    main thread once a browser test has run, where asyncio.run() would refuse.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, asyncio.wait_for(coroutine, 120)).result()


def choice_ids(library: Path, scenario_id: str, node_id: str) -> dict[str, str]:
    """Choice text -> choice id at one node of a library scenario file."""
    data = yaml.safe_load((library / f"{scenario_id}.yaml").read_text())
    return {choice["text"]: choice["id"] for choice in data["nodes"][node_id]["choices"]}


def db_rows(database: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, params).fetchall()


async def guest_on_library(app: RunningApp, name: str) -> StreamlitSession:
    session = StreamlitSession(app.url, "library", name=name)
    await session.connect()
    await session.fill_text("Your name or a nickname", name)
    await session.submit_form("Save name")
    return session


def test_guest_starts_a_scenario_and_answers_a_choice(app: RunningApp) -> None:
    async def scenario() -> tuple[StreamlitSession, str, str]:
        session = await guest_on_library(app, "Ada Protocol")
        assert "Practising as **Ada Protocol**." in session.texts("markdown")
        assert "u" in session.query_params()  # set_current_user put the guest in the URL
        await session.click_key(f"start-{SCENARIO}")
        assert session.page_url_path == "play"  # st.switch_page, followed through navigation
        attempt_id = session.query_params()["attempt"]
        radio = session.find("radio", "How do you respond?")
        picked = radio.options[2]
        assert await session.set_radio("How do you respond?", 2) is None  # in a form: nothing sent yet
        timing = await session.submit_form("Respond")
        assert timing.action == "submit" and timing.status == "ok" and timing.seconds > 0
        feedback = [t for t in session.texts("alert") if t.startswith("**Feedback on your last response**")]
        assert len(feedback) == 1 and f"> {picked}" in feedback[0]
        await session.close()
        return session, attempt_id, picked

    session, attempt_id, picked = run(scenario())

    assert session._xsrf, "the app enables XSRF protection: the cookie came from /_stcore/health"
    assert [t.action for t in session.timings] == ["connect", "submit", "click", "submit"]
    steps = db_rows(
        app.database,
        "SELECT a.scenario_id, u.display_name, s.step_no, s.node_id, s.choice_id FROM attempt_steps s "
        "JOIN attempts a ON a.id = s.attempt_id JOIN users u ON u.id = a.user_id WHERE a.id = ?",
        attempt_id,
    )
    expected = choice_ids(app.library, SCENARIO, "opening")[picked]
    assert steps == [(SCENARIO, "Ada Protocol", 0, "opening", expected)]


def test_a_refreshed_page_and_a_resumed_session_keep_their_state(app: RunningApp) -> None:
    async def scenario() -> None:
        session = await guest_on_library(app, "Bo Protocol")
        await session.click_key(f"start-{SCENARIO}")
        first_id = session.session_id
        query = session.query_string

        # a network blip: the same server session is resumed by its id
        await session.reconnect()
        assert session.session_id == first_id
        assert session.has("radio", "How do you respond?")

        # a refresh: a new session opening the same URL lands on the same attempt
        again = StreamlitSession(app.url, "play", query, name="refresh")
        await again.connect()
        assert again.session_id != first_id
        assert again.query_params()["attempt"] == session.query_params()["attempt"]
        assert again.find("radio", "How do you respond?").options
        await again.close()
        await session.close()

    run(scenario())


def test_lookups_say_what_is_on_the_page(app: RunningApp) -> None:
    async def scenario() -> None:
        session = StreamlitSession(app.url, "library", name="lookups")
        await session.connect()
        with pytest.raises(LookupError, match="no button labelled 'Nope'"):
            await session.click_button("Nope")
        start = session.find_key(f"start-{SCENARIO}")
        assert start.disabled  # no name yet
        with pytest.raises(StreamlitError, match="disabled"):
            await session.click_key(f"start-{SCENARIO}")
        with pytest.raises(StreamlitError, match="not a form submit button"):
            await session._submit(start)
        # the default page (the library) has the empty URL path in the navigation message
        assert session.pages["play"] and session.pages[""] == session.page_script_hash
        await session.switch_page("play")
        assert "No attempt is open. Start one from the scenario library." in session.texts()
        assert not session.has("button", "Save name")  # the library's elements were cleared as stale
        await session.close()

    run(scenario())


def test_query_string_reaches_the_script(app: RunningApp) -> None:
    async def scenario() -> None:
        session = StreamlitSession(app.url, "play", urllib.parse.urlencode({"attempt": "nope"}), name="q")
        await session.connect()
        assert any("attempt" in t.lower() for t in session.texts("alert")), session.texts()
        await session.close()

    run(scenario())


def test_a_small_group_session_through_the_load_test_steps(app: RunningApp) -> None:
    """bench/bench_group_load.py's steps with three trainees: live fragments, counts, the database."""
    from bench import bench_group_load as load

    database_url = app.env["REPAIRLAB_DATABASE_URL"]
    data = load.scenario_file(app.library, SCENARIO)
    choices = {
        node: {c["text"]: c["id"] for c in spec.get("choices") or []} for node, spec in data["nodes"].items()
    }
    token = load.signed_in_supervisor(database_url)

    async def scenario() -> tuple[load.Host, list[load.Trainee]]:
        host = await load.host_starts_session(app.url, token, data["title"])
        assert len(host.code) == 6 and host.session.has("button", "Reveal the answers")
        assert host.session._auto, "the host's live fragment asked for timed reruns"
        trainees = [
            load.Trainee(
                i, f"Smoke {i}", StreamlitSession(app.url, "group_join", f"code={host.code}", name=f"t{i}")
            )
            for i in range(3)
        ]
        await asyncio.gather(*(load.trainee_joins(t, 0.0) for t in trainees))
        assert all(t.joined_at and not t.error for t in trainees), [t.error for t in trainees]
        # the host's page learns of the joins through its fragment, with no action on its side
        await host.session.wait_for(lambda s: s.metric("Joined") == "3", timeout=20)
        rng = random.Random(1)
        await asyncio.gather(*(load.trainee_answers(t, 0.0, rng) for t in trainees))
        assert all(t.answers and not t.error for t in trainees), [t.error for t in trainees]
        await host.session.wait_for(lambda s: load.answered_count(s) == 3, timeout=20)
        # a changed answer replaces the first one
        await load.trainee_answers(trainees[0], 0.0, rng, burst=True)
        assert len(trainees[0].answers) == 2 and trainees[0].answers[0] != trainees[0].answers[1]
        await host.session.click_button("Reveal the answers")
        for t in trainees:  # each trainee's own fragment notices the reveal and reruns the page
            await t.session.wait_for(lambda s: any(load.RESULTS_TEXT in x for x in s.texts("alert")), 20)
        await asyncio.gather(host.session.close(), *(t.session.close() for t in trainees))
        return host, trainees

    host, trainees = run(scenario())

    check = load.check_database(
        database_url, host.group_id, 0, {t.name: {t.answers[-1]} for t in trainees}, choices
    )
    assert (check.participants, check.answers, check.lost, check.wrong) == (3, 3, 0, 0)
    assert check.ok
    assert load.service_counts(database_url, app.library, host.group_id) == (3, 3)
