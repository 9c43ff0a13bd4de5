"""Local accounts: usernames, password rules, Argon2 hashes, the first admin and the CLI."""

from __future__ import annotations

import io
import threading

import pytest
from accounttools import PASSWORD
from sqlalchemy import select

from repairlab.__main__ import main
from repairlab.db import Store
from repairlab.db.tables import AuditEntry, User
from repairlab.services.access import Viewer
from repairlab.services.accounts import (
    PASSWORD_MIN,
    USERNAME_MAX,
    AccountService,
    check_password,
    clean_username,
)
from repairlab.services.errors import Conflict, Forbidden, UserFacingError
from repairlab.services.signin import SignInService


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Please choose a username"),
        ("x" * (USERNAME_MAX + 1), f"at most {USERNAME_MAX} characters; 'xxxxxxxxxxxxxxxxxxxx…' has 65"),
        ("ab", "at least 3 characters; 'ab' has 2"),
        ("ann lee", "only letters a-z, digits, dots, hyphens and underscores.*' '"),
        ("ann@uni", "'@'"),
        ("-ann", "must start with a letter or digit; '-ann' has '-' at the start"),
        ("zoë", "'ë'"),
    ],
)
def test_unusable_usernames_are_refused_with_a_message_naming_the_problem(raw: str, message: str) -> None:
    with pytest.raises(UserFacingError, match=message):
        clean_username(raw)


def test_usernames_are_trimmed_and_lower_cased_so_uniqueness_ignores_case() -> None:
    assert clean_username("  Ann.Lee_2 ") == "ann.lee_2"
    assert clean_username("x" * USERNAME_MAX) == "x" * USERNAME_MAX


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", f"at least {PASSWORD_MIN} characters; this one has 0"),
        ("x" * (PASSWORD_MIN - 1), f"at least {PASSWORD_MIN} characters; this one has {PASSWORD_MIN - 1}"),
        (" " * 20, "only spaces"),
        ("Ann.Lee.2026", "cannot be your username"),
        ("y" * 2000, "at most 1024"),
    ],
)
def test_passwords_must_be_at_least_twelve_characters_and_not_the_username(
    password: str, message: str
) -> None:
    with pytest.raises(UserFacingError, match=message):
        check_password(password, "ann.lee.2026")


def test_a_twelve_character_password_is_enough() -> None:
    assert check_password("x" * PASSWORD_MIN, "ann") == "x" * PASSWORD_MIN


def test_creating_an_account_with_a_bad_username_or_password_stores_nothing(
    store: Store, accounts: AccountService
) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    with pytest.raises(UserFacingError, match="at most 64"):
        accounts.create_user(admin.viewer, "u" * 65, "Long Name")
    with pytest.raises(UserFacingError, match="at least 12"):
        accounts.create_user(admin.viewer, "shorty", "Short Password", password="tiny")
    with pytest.raises(UserFacingError, match="at most 100 characters"):
        accounts.create_user(admin.viewer, "longname", "N" * 101)
    with pytest.raises(UserFacingError, match="not a valid email"):
        accounts.create_user(admin.viewer, "bademail", "Bad Email", email="not-an-email")
    with pytest.raises(UserFacingError, match="not a role"):
        accounts.create_user(admin.viewer, "badrole", "Bad Role", role="owner")
    with store.read() as session:
        assert session.scalars(select(User.username)).all() == ["admin"]


def test_duplicate_usernames_are_refused_whatever_their_case(store: Store, accounts: AccountService) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    first = accounts.create_user(admin.viewer, "Ann.Lee", "Ann Lee")
    assert first.username == "ann.lee"
    with pytest.raises(Conflict, match="The username 'ann.lee' is already taken"):
        accounts.create_user(admin.viewer, "ANN.LEE", "Another Ann")
    with store.read() as session:
        assert session.scalars(select(User.display_name).where(User.username == "ann.lee")).all() == [
            "Ann Lee"
        ]


def test_passwords_are_stored_only_as_argon2id_hashes(store: Store, accounts: AccountService) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    with store.read() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == admin.id))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert accounts.verify(stored, PASSWORD) and not accounts.verify(stored, PASSWORD + "!")


def test_the_first_admin_can_be_set_up_only_while_no_admin_exists(
    store: Store, accounts: AccountService
) -> None:
    assert not accounts.admin_exists()
    admin = accounts.setup_first_admin("Boss", "The Boss", PASSWORD, email="boss@example.org")
    assert (admin.role, admin.username, admin.is_guest) == ("admin", "boss", False)
    assert accounts.admin_exists()
    with pytest.raises(Forbidden, match="Setup is already done"):
        accounts.setup_first_admin("intruder", "Intruder", PASSWORD)
    with store.read() as session:
        assert session.scalars(select(User.username).where(User.role == "admin")).all() == ["boss"]
        assert session.scalars(select(AuditEntry.action)).all() == ["setup_first_admin"]


def test_two_simultaneous_first_admin_setups_create_exactly_one_admin(
    store: Store, accounts: AccountService
) -> None:
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def setup(n: int) -> None:
        barrier.wait()
        try:
            accounts.setup_first_admin(f"admin{n}", f"Admin {n}", PASSWORD)
            outcomes.append("created")
        except Forbidden:
            outcomes.append("refused")

    threads = [threading.Thread(target=setup, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["created", "refused", "refused", "refused"]
    with store.read() as session:
        assert len(session.scalars(select(User.id).where(User.role == "admin")).all()) == 1


def test_an_admin_manages_roles_passwords_and_disabling_but_never_removes_the_last_admin(
    store: Store, accounts: AccountService, signin: SignInService
) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    sam = accounts.create_user(admin.viewer, "sam", "Sam Smith")
    assert not sam.has_password
    accounts.set_password(admin.viewer, sam.id, "sam's brand new password")
    token = signin.authenticate("sam", "sam's brand new password").token
    assert accounts.set_role(admin.viewer, sam.id, "supervisor").role == "supervisor"

    with pytest.raises(Conflict, match="only administrator"):
        accounts.set_role(admin.viewer, admin.id, "trainee")
    with pytest.raises(Conflict, match="cannot disable your own account"):
        accounts.set_disabled(admin.viewer, admin.id)

    assert accounts.set_disabled(admin.viewer, sam.id).disabled
    assert signin.resolve(token) is None  # a disabled account's sessions end at once
    with pytest.raises(Forbidden, match="not active"):
        accounts.list_users(sam.viewer)
    assert accounts.set_disabled(admin.viewer, sam.id, disabled=False).disabled is False
    assert [a.username for a in accounts.list_users(admin.viewer)] == ["admin", "sam"]


def test_a_stale_viewer_role_gives_no_extra_rights(accounts: AccountService) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    sam = accounts.create_user(admin.viewer, "sam", "Sam Smith")
    with pytest.raises(Forbidden, match="Only an administrator"):
        accounts.list_users(Viewer(sam.id, "admin"))  # the role the database holds is what counts


def test_people_change_their_own_password_only_with_the_current_one(
    accounts: AccountService, signin: SignInService
) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    with pytest.raises(Forbidden, match="current password is not right"):
        accounts.change_password(admin.viewer, "wrong password!", "a different long password")
    accounts.change_password(admin.viewer, PASSWORD, "a different long password")
    assert signin.authenticate("admin", "a different long password").account.id == admin.id


# -- the CLI --------------------------------------------------------------------------


@pytest.fixture
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.delenv("REPAIRLAB_ADMIN_PASSWORD", raising=False)


def test_admin_create_takes_the_password_from_the_environment_and_never_prompts_without_a_terminal(
    store: Store, no_tty: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["--database-url", store.url, "admin", "create", "--username", "Root", "--name", "Ro Ot"]) == 2
    )
    assert "No password given" in capsys.readouterr().err

    monkeypatch.setenv("REPAIRLAB_ADMIN_PASSWORD", PASSWORD)
    assert (
        main(["--database-url", store.url, "admin", "create", "--username", "Root", "--name", "Ro Ot"]) == 0
    )
    assert "Created administrator 'root'" in capsys.readouterr().out
    assert AccountService(store).admin_exists()

    assert (
        main(["--database-url", store.url, "admin", "create", "--username", "root", "--name", "Again"]) == 1
    )
    assert "already taken" in capsys.readouterr().err
    assert (
        main(
            [
                "--database-url",
                store.url,
                "admin",
                "create",
                "--username",
                "x y",
                "--name",
                "N",
                "--password",
                "short",
            ]
        )
        == 1
    )
    assert "Usernames can use only" in capsys.readouterr().err


def test_admin_set_password_resets_an_account_from_the_server(
    store: Store, no_tty: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "--database-url",
                store.url,
                "admin",
                "create",
                "--username",
                "root",
                "--name",
                "Ro Ot",
                "--password",
                PASSWORD,
            ]
        )
        == 0
    )
    new = "another long enough passphrase"
    assert (
        main(["--database-url", store.url, "admin", "set-password", "--username", "ROOT", "--password", new])
        == 0
    )
    assert SignInService(store).authenticate("root", new).account.username == "root"
    assert (
        main(
            ["--database-url", store.url, "admin", "set-password", "--username", "nobody", "--password", new]
        )
        == 1
    )
    assert "no account with the username 'nobody'" in capsys.readouterr().err


def test_db_upgrade_creates_the_schema_on_an_empty_database(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--database-url", database_url, "db", "upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out
    fresh = Store(database_url)
    try:
        assert not AccountService(fresh).admin_exists()
    finally:
        fresh.dispose()
