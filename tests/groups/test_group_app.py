"""The group pages' logic through AppTest: separate AppTest instances are separate people.

Every simulated person has their own AppTest (their own browser session);
they share nothing but the database, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from repairlab.db import Store
from repairlab.db.tables import Attempt, User
from repairlab.db.tables_groups import GroupAnswer, GroupSession
from tests.pages import switch_page

from .conftest import EXAMPLE, make_user

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("app_harness.py")
ROUTER = ROOT / "app_script.py"


@pytest.fixture
def shared_db(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The one database every simulated person's app uses (plus a Store for the test to look with)."""
    library = tmp_path / "library"
    shutil.copytree(ROOT / "scenarios", library)
    shutil.copyfile(ROOT / "docs" / "format-example.yaml", library / f"{EXAMPLE}.yaml")
    monkeypatch.setenv("REPAIRLAB_DATABASE_URL", database_url)
    monkeypatch.setenv("REPAIRLAB_SCENARIOS", str(library))
    monkeypatch.setenv("REPAIRLAB_GUEST_PRACTICE", "1")
    from ui.context import get_services

    get_services.clear()
    store = Store(database_url)
    store.upgrade()
    try:
        yield store
    finally:
        get_services.clear()
        store.dispose()


@pytest.fixture
def person(shared_db: Store) -> Callable[..., AppTest]:
    """A new browser session on a page (`group_host` or `group_join`), optionally signed in as `user`."""

    def open_page(page: str, token: str | None = None, harness: bool = False, **params: str) -> AppTest:
        """`token`: a sign-in session token (`?s=`), as the sign-in page puts in the URL.

        The real router (`app_script.py`) is used, switching to the page as a
        click in the menu would; `harness=True` runs the page through the test
        router instead, which shows every page to everyone (to test the page's
        own access checks).
        """
        real = not harness
        app = AppTest.from_file(str(ROUTER if real else HARNESS), default_timeout=30)
        if token:
            app.query_params["s"] = token
        app.query_params.update(params)
        if real:
            app.run()
            assert not app.exception, app.exception
            switch_page(app, page)
        else:
            app.query_params["_page"] = page
        app.run()
        assert not app.exception, app.exception
        return app

    return open_page


def signed_in(store: Store, user_id: int) -> str:
    """A sign-in session token for an account (what signing in with a password gives)."""
    from repairlab.services.signin import SignInService

    return SignInService(store).open_session(user_id).token


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [h.value for h in app.title] + [h.value for h in app.header] + [h.value for h in app.subheader]
    for kind in (app.info, app.error, app.warning, app.success):
        parts += [str(e.value) for e in kind]
    parts += [f"{m.label}: {m.value}" for m in app.metric]
    return "\n".join(parts)


def click(app: AppTest, label: str) -> AppTest:
    matches = [b for b in app.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in app.button]}"
    matches[0].click()
    app.run()
    assert not app.exception, app.exception
    return app


def start_session(host: AppTest, scenario_id: str, mode: str = "supervisor") -> GroupSession:
    host.selectbox(key="group-scenario").set_value(scenario_id)
    host.radio(key="group-mode").set_value(mode)
    click(host, "Start the session")
    session_id = host.query_params["session"]
    assert session_id, texts(host)
    return session_id


def session_row(store: Store, session_id: str) -> GroupSession:
    with store.read() as session:
        return session.get(GroupSession, session_id)


def join_as_guest(person, code: str, name: str) -> AppTest:
    trainee = person("group_join", code=code)
    assert trainee.text_input[0].value == code  # the code from the QR link is filled in
    trainee.text_input[1].input(name)
    click(trainee, "Join")
    assert trainee.query_params["group"], texts(trainee)
    return trainee


def choice_ids() -> dict[str, str]:
    """Choice text -> id for every scenario the tests play (radios show texts, keep ids)."""
    from engine import load_library

    library = load_library(ROOT / "scenarios")
    scenarios = [*library.scenarios.values()]
    from engine import load_scenario

    scenarios.append(load_scenario(ROOT / "docs" / "format-example.yaml", library.rubric).scenario)
    return {c.text: c.id for sc in scenarios for node in sc.nodes.values() for c in node.choices or []}


def answer(app: AppTest, text_start: str, button: str = "Submit my answer") -> AppTest:
    radio = app.radio[-1]
    label = next(o for o in radio.options if o.startswith(text_start))
    radio.set_value(choice_ids()[label])
    return click(app, button)


def test_a_supervisor_runs_a_session_with_two_trainees_on_their_own_devices(person, shared_db):
    store = shared_db
    sup = make_user(store, "Dr Host", "supervisor")
    host = person("group_host", signed_in(store, sup.user_id))
    assert "Host a group session" in texts(host)
    session_id = start_session(host, EXAMPLE)
    code = session_row(store, session_id).code
    assert f"Join code: {' '.join(code)}" in texts(host)
    assert host.get("image"), "the QR code is shown"

    ana = join_as_guest(person, code, "Ana")
    account = make_user(store, "Bo Account")
    bo = person("group_join", signed_in(store, account.user_id), code=code)
    assert "Joining as **Bo Account**" in texts(bo)
    click(bo, "Join")

    # Each trainee sees the client's words and a private choice form.
    for trainee in (ana, bo):
        assert "It's fine. I don't really have much to talk about today anyway." in texts(trainee)
        assert len(trainee.radio[-1].options) == 4
    host.run()
    assert "Answered: 0 of 2" in texts(host)

    answer(ana, "I started fifteen minutes late")
    assert "Your answer is saved" in texts(ana)
    answer(bo, "I'm so sorry, I feel terrible")
    host.run()
    assert "Answered: 2 of 2" in texts(host)

    click(host, "Reveal the answers")
    assert "1 of 2 · score 100 · Balanced repair · best on offer" in texts(host)
    ana.run()
    assert "Results are in" in texts(ana)
    assert "**your answer**" in texts(ana) and "Bo Account" not in texts(ana)  # anonymous results
    assert not [b for b in ana.button if b.label == "Submit my answer"]

    # A tie (1 and 1): the default branch is the higher-scoring response.
    branch = host.radio(key=f"branch-{session_id}-0")
    assert branch.value == "own-it"
    click(host, "Advance")
    assert "I guess I did wonder if you'd forgotten about me." in texts(host)
    ana.run()
    assert "your supervisor will continue" in texts(ana)
    click(host, "Continue")
    assert "The rupture was repaired" in texts(host)
    assert "The group's debrief" in texts(host)

    bo.run()
    shown = texts(bo)
    assert "The rupture was repaired" in shown and "Your own debrief" in shown
    assert "Decisions answered: 1 of 1" in shown and "Over-apology" in shown
    with store.read() as session:
        modes = session.scalars(select(Attempt.mode).where(Attempt.user_id == account.user_id)).all()
    assert modes == ["group"]


def test_a_refresh_or_another_device_restores_the_trainees_answer_and_the_hosts_screen(person, shared_db):
    store = shared_db
    sup = make_user(store, "Dr Host", "supervisor")
    host = person("group_host", signed_in(store, sup.user_id))
    session_id = start_session(host, EXAMPLE)
    code = session_row(store, session_id).code
    ana = join_as_guest(person, code, "Ana")
    answer(ana, "Let's just get going")
    order = list(ana.radio[-1].options)

    # The same link opened again (a refresh, or the guest link on another device).
    again = person("group_join", **{k: ana.query_params[k] for k in ("u", "group", "code")})
    assert "Your answer is saved" in texts(again)
    assert again.radio[-1].value == "move-on" and list(again.radio[-1].options) == order
    with store.read() as session:
        assert len(session.scalars(select(GroupAnswer)).all()) == 1

    click(host, "Reveal the answers")
    refreshed = person("group_host", signed_in(store, sup.user_id), session=session_id)
    assert "1 of 1 · score" in texts(refreshed) and [b for b in refreshed.button if b.label == "Advance"]


def test_a_late_joiner_lands_on_the_current_node(person, shared_db):
    store = shared_db
    sup = make_user(store, "Dr Host", "supervisor")
    host = person("group_host", signed_in(store, sup.user_id))
    session_id = start_session(host, EXAMPLE)
    click(host, "Reveal the answers")
    click(host, "Advance")  # nobody answered: the best-scoring response is followed
    late = join_as_guest(person, session_row(store, session_id).code, "Late Lou")
    assert "I guess I did wonder if you'd forgotten about me." in texts(late)
    assert "your supervisor will continue" in texts(late)


def test_unknown_and_closed_codes_are_explained_on_the_join_page(person, shared_db):
    store = shared_db
    trainee = person("group_join", code="ABCDEF")
    trainee.text_input[1].input("Zed")
    click(trainee, "Join")
    assert "There is no open group session with the code ABCDEF" in texts(trainee)

    sup = make_user(store, "Dr Host", "supervisor")
    host = person("group_host", signed_in(store, sup.user_id))
    session_id = start_session(host, EXAMPLE)
    click(host, "Close the session")
    assert "This session is closed" in texts(host)
    code = session_row(store, session_id).code
    closed = person("group_join", code=code)
    closed.text_input[1].input("Zed")
    click(closed, "Join")
    assert f"The group session with the code {code} has been closed" in texts(closed)
    click(host, "Reopen the session")
    assert session_row(store, session_id).status == "open"


def test_only_supervisors_and_admins_may_host_once_an_administrator_exists(person, shared_db):
    store = shared_db
    make_user(store, "Root", "admin")
    trainee = make_user(store, "Tia")
    page = person("group_host", signed_in(store, trainee.user_id), harness=True)  # the menu hides it
    assert "Only supervisors and administrators can host group sessions" in texts(page)
    assert not [b for b in page.button if b.label == "Start the session"]


def test_a_self_paced_session_shows_the_host_a_board_of_pseudonyms_and_zones(person, shared_db):
    store = shared_db
    sup = make_user(store, "Dr Host", "supervisor")
    host = person("group_host", signed_in(store, sup.user_id))
    session_id = start_session(host, EXAMPLE, mode="self")
    code = session_row(store, session_id).code
    cam = join_as_guest(person, code, "Cam Realname")
    assert "It's fine. I don't really have much to talk about today anyway." in texts(cam)
    answer(cam, "I'm so sorry, I feel terrible", button="Respond")
    assert "Feedback on your last response" in texts(cam)  # coached by default
    host.run()
    board = host.dataframe[-1].value
    with store.read() as session:
        pseudonym = session.scalar(select(User.pseudonym).where(User.display_name == "Cam Realname"))
    assert list(board["Trainee"]) == [pseudonym]
    assert list(board["Last response's zone"]) == ["Over-apology"]
    assert "Cam Realname" not in texts(host) + board.to_string()
    # Finishing the attempt shows the trainee's ordinary debrief.
    click(cam, "Continue")
    assert "Debrief: The late start" in texts(cam)
    host.run()
    assert "Finished: 1" in texts(host)
