"""Accounts, cohorts and privacy through the real app script, with AppTest (no browser).

Preconditions a test does not exercise (an admin, a cohort, a trainee) are made
with the services on the same temporary database; everything under test goes
through the pages: setup, admin, cohorts, account, signin and play.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import load_library
from repairlab.services.access import Viewer
from repairlab.services.accounts import Account
from repairlab.services.container import Services, build_services
from tests.pages import switch_page

from .paths import path_to_ending
from .test_practice_app import answer, finish

SCENARIO = "lisa-interrupted"
PASSWORD = "correct horse battery staple"
OTHER_PASSWORD = "violet umbrella teapot river"
GOOD_ROSTER = (
    "username,display_name,email,role\n"
    "amy.adams,Amy Adams,amy.adams@uni.example,\n"
    "ben.brown,Ben Brown,ben.brown@uni.example,trainee\n"
)
BAD_ROSTER = (
    "username,display_name,email\n"
    "amy.adams,Amy Adams,amy.adams@uni.example\n"
    "ben brown,Ben Brown,not-an-email\n"
)


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def services(app_env: Path) -> Services:
    """The services on the app's database, for preconditions and for checking what was stored."""
    return build_services()


def texts(app: AppTest) -> str:
    """Everything the page shows as text, with Markdown escapes removed."""
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption] + [t.value for t in app.text]
    parts += [h.value for h in app.title] + [h.value for h in app.header] + [h.value for h in app.subheader]
    for alerts in (app.info, app.error, app.warning, app.success):
        parts += [str(a.value) for a in alerts]
    return "\n".join(parts).replace("\\", "")


def errors(app: AppTest) -> str:
    return "\n".join(str(e.value) for e in app.error)


def successes(app: AppTest) -> str:
    return "\n".join(str(s.value) for s in app.success)


def field(app: AppTest, label: str):
    matches = [t for t in app.text_input if t.label == label]
    assert matches, f"no text input {label!r}; inputs: {[t.label for t in app.text_input]}"
    return matches[0]


def press(app: AppTest, label: str) -> AppTest:
    matches = [b for b in app.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in app.button]}"
    matches[0].click()
    app.run()
    assert not app.exception, app.exception
    return app


def open_page(app: AppTest, name: str, **params: str) -> AppTest:
    """Go to the page at URL path <name> in this browser session (keeping the sign-in), with extra URL parameters."""
    app.query_params.update(params)
    switch_page(app, name)
    app.run()
    assert not app.exception, app.exception
    return app


def browser(new_app: Callable[..., AppTest]) -> AppTest:
    """A new browser session that has loaded the app once (pages register on the first run)."""
    app = new_app()
    app.run()
    return app


def sign_in(new_app: Callable[..., AppTest], username: str, password: str = PASSWORD) -> AppTest:
    """A new browser session, signed in through the sign-in page's form."""
    app = open_page(browser(new_app), "signin")
    try_sign_in(app, username, password)
    assert "s" in app.query_params, f"sign-in failed: {errors(app)}"
    return app


def try_sign_in(app: AppTest, username: str, password: str) -> AppTest:
    field(app, "Username").input(username)
    field(app, "Password").input(password)
    return press(app, "Sign in")


def make_admin(services: Services) -> Account:
    return services.accounts.create_admin("ada", "Ada Admin", PASSWORD)


def make_user(services: Services, admin: Account, username: str, name: str, role: str, password=PASSWORD):
    return services.accounts.create_user(admin.viewer, username, name, role, password)


def play_to_the_end(app: AppTest, app_env: Path) -> str:
    """Start the scenario from the library in this session and play it to a repaired ending."""
    library = load_library(app_env)
    scenario = library.scenarios[SCENARIO]
    open_page(app, "library")
    app.button(key=f"start-{SCENARIO}").click()
    app.run()
    assert not app.exception, app.exception
    attempt = app.query_params["attempt"]
    open_page(app, "play")  # AppTest keeps asking for the page last switched to; follow the app's switch
    for choice_id in path_to_ending(scenario, library.rubric, "repaired"):
        answer(app, scenario, choice_id)
    finish(app)
    assert "Debrief" in texts(app)
    return attempt


# -- first administrator ----------------------------------------------------------------------


def fill_setup(app: AppTest, username: str, name: str, password: str, again: str | None = None) -> AppTest:
    field(app, "Username").input(username)
    field(app, "Your name").input(name)
    field(app, "Password").input(password)
    field(app, "Password again").input(password if again is None else again)
    return press(app, "Create the administrator")


def test_first_admin_setup_works_once_and_then_the_page_refuses(new_app, services: Services):
    app = open_page(browser(new_app), "setup")
    late = open_page(browser(new_app), "setup")  # a second browser with the setup form open too
    assert "Set up Repair Lab" in texts(app)

    fill_setup(app, "ada", "Ada Admin", "short")
    assert "Passwords need at least 12 characters" in errors(app)
    fill_setup(app, "ada", "Ada Admin", PASSWORD, again=PASSWORD + "!")
    assert "not the same" in errors(app)
    assert not services.accounts.admin_exists()

    fill_setup(app, "Ada", "Ada Admin", PASSWORD)
    assert "you are the administrator" in successes(app)
    assert "s" in app.query_params  # signed in at once
    open_page(app, "admin")
    assert "Administration" in [t.value for t in app.title]
    assert not app.warning

    fill_setup(late, "eve", "Eve Intruder", PASSWORD)  # the other browser submits afterwards
    assert "s" not in late.query_params
    assert [u.username for u in services.accounts.list_users(Viewer(1, "admin"))] == ["ada"]
    for someone in (late, browser(new_app)):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            open_page(someone, "setup")  # no longer offered to anyone


# -- administration ---------------------------------------------------------------------------


def create_account(app: AppTest, username: str, name: str, role: str, password: str = "") -> AppTest:
    app.text_input(key="new-user-username").input(username)
    app.text_input(key="new-user-name").input(name)
    app.selectbox(key="new-user-role").set_value(role)
    app.text_input(key="new-user-password").input(password)
    return press(app, "Create the account")


def test_an_admin_creates_a_supervisor_and_a_cohort_and_assigns_the_supervisor(new_app, services: Services):
    admin = make_admin(services)
    app = open_page(sign_in(new_app, "ada"), "admin")

    create_account(app, "sam", "Sam Super", "supervisor", "short")
    assert "Passwords need at least 12 characters" in errors(app)
    create_account(app, "x" * 65, "Sam Super", "supervisor")
    assert "Usernames can be at most 64 characters" in errors(app)
    create_account(app, "sam", "S" * 101, "supervisor")
    assert "Display names can be at most 100 characters" in errors(app)
    create_account(app, "sam", "Sam Super", "supervisor", PASSWORD)
    assert "Created the account of Sam Super (sam) as supervisor." in successes(app)
    assert app.text_input(key="new-user-username").value == ""  # the form is empty again
    create_account(app, "SAM", "Sam Again", "trainee")
    assert "The username 'sam' is already taken." in errors(app)

    app.text_input(key="new-cohort-name").input("MFT 2026")
    app.text_input(key="new-cohort-program").input("MFT")
    app.number_input(key="new-cohort-year").set_value(2026)
    press(app, "Create the cohort")
    assert "Created the cohort MFT 2026; its invite code is" in successes(app)
    app.text_input(key="new-cohort-name").input("mft 2026")
    press(app, "Create the cohort")
    assert "A cohort called 'mft 2026' already exists" in errors(app)

    cohort = services.cohorts.list_cohorts(admin.viewer)[0]
    sam = next(u for u in services.accounts.list_users(admin.viewer) if u.username == "sam")
    app.selectbox(key="admin-cohort").set_value(cohort.id)
    app.run()
    app.selectbox(key=f"assign-pick-{cohort.id}").set_value(sam.id)
    press(app, "Assign")
    assert "Sam Super now supervises MFT 2026." in successes(app)
    roster = services.cohorts.roster(admin.viewer, cohort.id)
    assert [(m.display_name, m.role) for m in roster] == [("Sam Super", "supervisor")]
    assert not app.exception


def test_a_supervisor_or_trainee_cannot_reach_the_administration_page(new_app, services: Services):
    admin = make_admin(services)
    make_user(services, admin, "sam", "Sam Super", "supervisor")
    make_user(services, admin, "tia", "Tia Trainee", "trainee")
    for username in ("sam", "tia"):
        app = sign_in(new_app, username)
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            open_page(app, "admin")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        open_page(sign_in(new_app, "tia"), "cohorts")


# -- enrolment and supervision ----------------------------------------------------------------


def upload_roster(app: AppTest, cohort_id: int, data: str) -> AppTest:
    app.file_uploader(key=f"roster-{cohort_id}").set_value(("roster.csv", data.encode("utf-8"), "text/csv"))
    app.run()
    return press(app, "Import the roster")


def test_a_supervisor_uploads_a_bad_roster_then_a_good_one(new_app, services: Services):
    admin = make_admin(services)
    sam = make_user(services, admin, "sam", "Sam Super", "supervisor")
    cohort = services.cohorts.create_cohort(admin.viewer, "MFT 2026", "MFT", 2026)
    services.cohorts.assign_supervisor(admin.viewer, cohort.id, sam.id)
    app = open_page(sign_in(new_app, "sam"), "cohorts")
    assert cohort.invite_code in texts(app)

    upload_roster(app, cohort.id, BAD_ROSTER)
    assert "Nothing was imported: 1 row has problems" in errors(app)
    problems = app.dataframe[0].value
    assert list(problems["Row"]) == ["3", "3"]
    assert any("ben brown" in message for message in problems["Problem"])
    assert any("not-an-email" in message for message in problems["Problem"])
    assert [m.display_name for m in services.cohorts.roster(sam.viewer, cohort.id)] == ["Sam Super"]

    upload_roster(app, cohort.id, GOOD_ROSTER)
    assert "Roster imported into MFT 2026: 2 new account(s) created and enrolled." in successes(app)
    page = texts(app)
    assert "Amy Adams" in page and "Ben Brown" in page
    assert "trainee · cannot sign in yet" in page
    assert sorted(m.display_name for m in services.cohorts.roster(sam.viewer, cohort.id)) == [
        "Amy Adams", "Ben Brown", "Sam Super"
    ]

    old = cohort.invite_code
    press(app, "Make a new invite code")
    assert "the old one no longer works" in successes(app)
    assert old not in texts(app)


def test_a_supervisor_cannot_leave_their_last_cohort_and_may_remove_a_trainee(new_app, services: Services):
    admin = make_admin(services)
    sam = make_user(services, admin, "sam", "Sam Super", "supervisor")
    cohort = services.cohorts.create_cohort(admin.viewer, "MFT 2026")
    services.cohorts.assign_supervisor(admin.viewer, cohort.id, sam.id)
    services.cohorts.import_roster(sam.viewer, cohort.id, GOOD_ROSTER)
    amy = next(m for m in services.cohorts.roster(sam.viewer, cohort.id) if m.username == "amy.adams")
    app = open_page(sign_in(new_app, "sam"), "cohorts")

    app.button(key=f"remove-{cohort.id}-{sam.id}").click()
    app.run()
    assert "You cannot leave MFT 2026: it is the last cohort you supervise" in errors(app)
    app.button(key=f"remove-{cohort.id}-{amy.user_id}").click()
    app.run()
    assert "Amy Adams was removed from MFT 2026." in successes(app)
    assert "amy.adams" not in [m.username for m in services.cohorts.roster(sam.viewer, cohort.id)]


def test_a_trainee_joins_plays_and_only_their_own_supervisor_opens_the_read_only_debrief(
    new_app, app_env: Path, services: Services
):
    admin = make_admin(services)
    sam = make_user(services, admin, "sam", "Sam Super", "supervisor")
    sue = make_user(services, admin, "sue", "Sue Other", "supervisor")
    mft = services.cohorts.create_cohort(admin.viewer, "MFT 2026")
    other = services.cohorts.create_cohort(admin.viewer, "PSY 2026")
    services.cohorts.assign_supervisor(admin.viewer, mft.id, sam.id)
    services.cohorts.assign_supervisor(admin.viewer, other.id, sue.id)
    services.cohorts.import_roster(sam.viewer, mft.id, GOOD_ROSTER)
    services.cohorts.import_roster(sue.viewer, other.id, "username,display_name,email\ntia,Tia Trainee,tia@uni.example\n")
    tia = next(m for m in services.cohorts.roster(sue.viewer, other.id) if m.username == "tia")

    # Roster accounts have no password: the administrator sets one.
    admin_app = open_page(sign_in(new_app, "ada"), "admin")
    admin_app.selectbox(key="admin-user").set_value(tia.user_id)
    admin_app.run()
    admin_app.text_input(key=f"password-of-{tia.user_id}").input(PASSWORD)
    press(admin_app, "Set password")
    assert "The password of Tia Trainee is set" in successes(admin_app)

    # Tia leaves PSY 2026 (Sue removes her), then joins MFT 2026 with its invite code.
    services.cohorts.remove_member(sue.viewer, other.id, tia.user_id)
    trainee = open_page(sign_in(new_app, "tia"), "account")
    field(trainee, "Invite code").input("ZZZZ-ZZZZ")
    press(trainee, "Join the cohort")
    assert "There is no cohort with the invite code 'ZZZZ-ZZZZ'" in errors(trainee)
    field(trainee, "Invite code").input(f"  {mft.invite_code.lower()} ")
    press(trainee, "Join the cohort")
    assert "You are in MFT 2026 now." in successes(trainee)
    assert "- MFT 2026" in texts(trainee)
    attempt = play_to_the_end(trainee, app_env)

    # Her supervisor sees the attempt and opens its read-only debrief.
    supervisor = open_page(sign_in(new_app, "sam"), "cohorts")
    supervisor.selectbox(key=f"trainee-{mft.id}").set_value(tia.user_id)
    supervisor.run()
    assert "finished · score" in texts(supervisor)
    links = supervisor.get("page_link")
    assert any(link.proto.label == "Open debrief" and attempt in link.proto.query_string for link in links)
    open_page(supervisor, "play", attempt=attempt)
    page = texts(supervisor)
    assert "Debrief:" in page and "The trainee's reflection:" in page
    assert "What would you try next time?" not in [t.label for t in supervisor.text_area]

    # A supervisor of another cohort sees nothing of her, not even by URL.
    stranger = open_page(sign_in(new_app, "sue"), "cohorts")
    assert "Tia Trainee" not in texts(stranger)
    assert "No trainees in this cohort yet." in texts(stranger)
    open_page(stranger, "play", attempt=attempt)
    assert "There is no attempt with that id among the records you can see." in errors(stranger)
    assert "Debrief:" not in texts(stranger)


def test_names_with_html_or_markdown_are_shown_as_plain_text(new_app, services: Services):
    admin = make_admin(services)
    sam = make_user(services, admin, "sam", "Sam Super", "supervisor")
    payload = "<script>alert(1)</script> **Amy** [x](javascript:alert(1))"
    amy = make_user(services, admin, "amy", payload, "trainee")
    cohort = services.cohorts.create_cohort(admin.viewer, "MFT 2026")
    services.cohorts.assign_supervisor(admin.viewer, cohort.id, sam.id)
    services.cohorts.add_trainee(admin.viewer, cohort.id, amy.id)
    app = open_page(sign_in(new_app, "sam"), "cohorts")
    assert f"**{payload}**" in texts(app)  # bold, with the payload's own Markdown escaped
    assert all(not m.proto.allow_html for m in app.markdown)
    assert not app.get("html")


# -- signing in -------------------------------------------------------------------------------


def test_repeated_wrong_passwords_bring_the_throttling_message(new_app, services: Services):
    make_admin(services)
    app = open_page(browser(new_app), "signin")
    for _ in range(5):
        try_sign_in(app, "ada", "not the password at all")
        assert "do not match an account" in errors(app)
    try_sign_in(app, "ada", PASSWORD)  # even the right password is refused for a while
    assert "Too many failed sign-in attempts for this account. Please try again in 15 minutes" in errors(app)
    assert "s" not in app.query_params


# -- the account page -------------------------------------------------------------------------


def test_a_trainee_changes_their_password_and_exports_their_own_data(new_app, services: Services):
    admin = make_admin(services)
    make_user(services, admin, "tia", "Tia Trainee", "trainee")
    app = open_page(sign_in(new_app, "tia"), "account")
    assert "Tia Trainee" in texts(app)

    field(app, "Current password").input("wrong password here")
    field(app, "New password").input(OTHER_PASSWORD)
    field(app, "New password again").input(OTHER_PASSWORD)
    press(app, "Change password")
    assert "Your current password is not right" in errors(app)
    field(app, "Current password").input(PASSWORD)
    field(app, "New password").input("tia")
    field(app, "New password again").input("tia")
    press(app, "Change password")
    assert "Passwords need at least 12 characters" in errors(app)
    field(app, "Current password").input(PASSWORD)
    field(app, "New password").input(OTHER_PASSWORD)
    field(app, "New password again").input(OTHER_PASSWORD)
    press(app, "Change password")
    assert "Your password is changed." in successes(app)
    sign_in(new_app, "tia", OTHER_PASSWORD)

    assert not app.download_button
    press(app, "Prepare my data")
    assert [d.label for d in app.download_button] == ["Download my data (JSON)"]


def test_a_guest_sees_how_to_sign_in_and_can_register_with_an_invite_code(
    new_app, app_env: Path, services: Services
):
    admin = make_admin(services)
    cohort = services.cohorts.create_cohort(admin.viewer, "MFT 2026")
    guest = browser(new_app)
    field(guest, "Your name or a nickname").input("Gus")
    press(guest, "Save name")
    play_to_the_end(guest, app_env)
    open_page(guest, "account")
    assert "You are practising as the guest **Gus**" in texts(guest)

    field(guest, "Invite code").input("NOPE-NOPE")
    field(guest, "Username").input("gus")
    field(guest, "Your name").input("Gus Guest")
    field(guest, "Password").input(PASSWORD)
    field(guest, "Password again").input(PASSWORD)
    press(guest, "Create my account")
    assert "There is no cohort with the invite code" in errors(guest)
    field(guest, "Invite code").input(cohort.invite_code)
    field(guest, "Password").input(PASSWORD)
    field(guest, "Password again").input(PASSWORD)
    press(guest, "Create my account")
    assert "Welcome, Gus Guest. Your account is ready. Your 1 guest attempt(s) are now part of it." in successes(
        guest
    )
    assert "s" in guest.query_params and "u" not in guest.query_params
    assert [m.display_name for m in services.cohorts.roster(admin.viewer, cohort.id)] == ["Gus Guest"]


# -- privacy ----------------------------------------------------------------------------------


def test_the_admin_exports_a_trainees_data_and_deleting_it_needs_the_typed_confirmation(
    new_app, services: Services
):
    admin = make_admin(services)
    tia = make_user(services, admin, "tia", "Tia Trainee", "trainee")
    app = open_page(sign_in(new_app, "ada"), "admin")
    app.selectbox(key="privacy-user").set_value(tia.id)
    app.run()

    press(app, "Prepare the data of Tia Trainee")
    assert [d.label for d in app.download_button] == ["Download the data of Tia Trainee (JSON)"]
    exports = [e for e in services.audit.entries(admin.viewer, tia.id) if e.action == "export_personal_data"]
    assert len(exports) == 1

    press(app, "Delete personal data")
    assert "Type 'tia' exactly in the box to confirm; nothing was deleted." in errors(app)
    app.text_input(key=f"delete-confirm-{tia.id}").input("Tia")
    press(app, "Delete personal data")
    assert "nothing was deleted" in errors(app)
    assert not services.accounts.account(tia.id).deleted

    app.text_input(key=f"delete-confirm-{tia.id}").input("tia")
    press(app, "Delete personal data")
    assert "Deleted the personal data of account" in successes(app)
    gone = services.accounts.account(tia.id)
    assert gone.deleted and gone.display_name == "Deleted trainee" and gone.username is None
    actions = [row["Action"] for row in app.dataframe[-1].value.to_dict("records")]
    assert "delete personal data" in actions and "export personal data" in actions
