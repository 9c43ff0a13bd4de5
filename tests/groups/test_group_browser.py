"""Group sessions in real browsers: one supervisor and two trainees in separate browser contexts.

The second test starts TWO app processes on one PostgreSQL database (as two
replicas behind a load balancer would be) and puts trainees on both.

Pages update on their own (the live fragments read the database every
1.5 s), so the tests wait for text to appear, never reload to see it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select

from repairlab.db import Store
from repairlab.db.tables import Attempt
from repairlab.db.tables_groups import GroupAnswer, GroupSession
from tests.browser.conftest import RunningApp, start_app

from .conftest import EXAMPLE, make_user

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
OWN_IT = "I started fifteen minutes late today and I didn't say anything about it."
GROVEL = "I'm so sorry, I feel terrible, I'm usually never late."
LIVE = 20_000  # ms: a live fragment (1.5 s) plus a rerun, with room for a busy machine


def launch(workdir: Path, database_url: str) -> RunningApp:
    """The real app on a library of the bundled rubric and the small example scenario."""
    library = workdir / "library"
    if not library.exists():
        library.mkdir(parents=True)
        shutil.copyfile(ROOT / "scenarios" / "rubric.yaml", library / "rubric.yaml")
        shutil.copyfile(ROOT / "docs" / "format-example.yaml", library / f"{EXAMPLE}.yaml")
    return start_app(workdir, database_url=database_url)


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []

    def new() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        opened.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        return page

    yield new  # type: ignore[misc]
    for context in opened:
        context.close()


def wait_idle(page: Page) -> None:
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)


def prepare(database_url: str) -> tuple[Store, str]:
    store = Store(database_url)
    store.upgrade()
    supervisor = make_user(store, "Dr Host", "supervisor")
    from repairlab.services.signin import SignInService

    return store, SignInService(store).open_session(supervisor.user_id).token


def host_starts(page: Page, app_url: str, token: str, store: Store) -> str:
    page.goto(f"{app_url}/group_host?s={token}")  # signed in as the supervisor
    page.get_by_role("button", name="Start the session").click()
    expect(page.get_by_text(re.compile(r"Join code: \w( \w){5}"))).to_be_visible(timeout=LIVE)
    with store.read() as session:
        return session.scalars(select(GroupSession.code).order_by(GroupSession.created_at.desc())).first()


def trainee_joins(page: Page, app_url: str, code: str, name: str) -> None:
    page.goto(f"{app_url}/group_join?code={code}")
    page.get_by_role("textbox", name="Your name or a nickname").fill(name)
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_text("It's fine. I don't really have much to talk about today anyway.")).to_be_visible(
        timeout=LIVE
    )


def trainee_answers(page: Page, text: str) -> None:
    page.get_by_text(text, exact=False).first.click()
    page.get_by_role("button", name="Submit my answer").click()
    expect(page.get_by_text("Your answer is saved")).to_be_visible(timeout=LIVE)


def run_session(host: Page, trainees: list[Page], answers: list[str]) -> None:
    """From everyone answering to the debriefs, each page updating on its own."""
    for page, text in zip(trainees, answers, strict=True):
        trainee_answers(page, text)
    expect(host.get_by_text(f"{len(trainees)} of {len(trainees)}")).to_be_visible(timeout=LIVE)
    host.get_by_role("button", name="Reveal the answers").click()
    expect(host.get_by_role("button", name="Advance")).to_be_visible(timeout=LIVE)
    for page in trainees:
        expect(page.get_by_text("Results are in")).to_be_visible(timeout=LIVE)
    host.get_by_role("button", name="Advance").click()
    for page in trainees:
        expect(page.get_by_text("your supervisor will continue")).to_be_visible(timeout=LIVE)
    host.get_by_role("button", name="Continue").click()
    expect(host.get_by_text("The group's debrief")).to_be_visible(timeout=LIVE)
    for page in trainees:
        expect(page.get_by_text("Your own debrief")).to_be_visible(timeout=LIVE)


def test_a_supervisor_and_two_trainees_run_a_supervisor_paced_session_in_separate_browsers(
    contexts, tmp_path: Path
):
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    store, host_id = prepare(database_url)
    app = launch(tmp_path, database_url)
    try:
        host, ana, bo = contexts(), contexts(), contexts()
        code = host_starts(host, app.url, host_id, store)
        expect(host.get_by_role("img", name=re.compile("QR code of the join link")).first).to_be_visible(
            timeout=LIVE
        )
        trainee_joins(ana, app.url, code, "Ana")
        trainee_joins(bo, app.url, code, "Bo")
        expect(host.get_by_text("0 of 2")).to_be_visible(timeout=LIVE)

        # A half-made choice survives the live updates: the fragment never reruns the form.
        bo.get_by_text(GROVEL, exact=False).first.click()
        trainee_answers(ana, OWN_IT)
        expect(host.get_by_text("1 of 2")).to_be_visible(timeout=LIVE)
        bo.wait_for_timeout(4_000)  # let the watcher fragment run a few times
        expect(bo.get_by_role("radio", name=re.compile(re.escape(GROVEL[:30]))).first).to_be_checked(
            timeout=LIVE
        )
        bo.get_by_role("button", name="Submit my answer").click()
        expect(bo.get_by_text("Your answer is saved")).to_be_visible(timeout=LIVE)

        # A trainee's refresh keeps the answer.
        ana.reload()
        expect(ana.get_by_text("Your answer is saved")).to_be_visible(timeout=LIVE)

        run_session(host, [ana, bo], [OWN_IT, GROVEL])
        expect(bo.get_by_text("Decisions answered")).to_be_visible(timeout=LIVE)
        assert "Ana" not in bo.inner_text("body").replace("Bo", "")
        with store.read() as session:
            assert session.scalar(select(func.count()).select_from(GroupAnswer)) == 2
            assert (
                session.scalar(select(func.count()).select_from(Attempt).where(Attempt.mode == "group")) == 2
            )
    finally:
        app.stop()
        store.dispose()


@pytest.mark.postgres
def test_two_app_processes_on_one_postgresql_database_serve_one_session(
    contexts, tmp_path: Path, pg_url: str
):
    store, host_id = prepare(pg_url)  # the schema is migrated once, as a release step would
    first = launch(tmp_path / "a", pg_url)
    second = launch(tmp_path / "b", pg_url)
    try:
        host, on_first, on_second = contexts(), contexts(), contexts()
        code = host_starts(host, first.url, host_id, store)
        trainee_joins(on_first, first.url, code, "Ana on A")
        trainee_joins(on_second, second.url, code, "Bo on B")
        expect(host.get_by_text("0 of 2")).to_be_visible(timeout=LIVE)
        run_session(host, [on_first, on_second], [GROVEL, GROVEL])
        with store.read() as session:
            answers = session.scalars(select(GroupAnswer.choice_id)).all()
            assert answers == ["grovel", "grovel"]
            assert (
                session.scalar(select(func.count()).select_from(Attempt).where(Attempt.mode == "group")) == 2
            )
    finally:
        first.stop()
        second.stop()
        store.dispose()
