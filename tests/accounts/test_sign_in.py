"""Signing in: no user enumeration, throttling per account and per client, sessions that expire."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from accounttools import PASSWORD, START, Clock
from argon2 import PasswordHasher
from sqlalchemy import select

from repairlab.db import Store
from repairlab.db.tables import AuthSession, LoginFailure
from repairlab.services.accounts import Account, AccountService
from repairlab.services.errors import Forbidden
from repairlab.services.signin import (
    WRONG_CREDENTIALS,
    SignInFailed,
    SignInPolicy,
    SignInService,
    TooManyAttempts,
)


@pytest.fixture
def admin(accounts: AccountService) -> Account:
    return accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)


@pytest.fixture
def ann(accounts: AccountService, admin: Account) -> Account:
    return accounts.create_user(admin.viewer, "ann", "Ann Lee", password=PASSWORD)


def test_signing_in_gives_an_opaque_token_of_which_only_the_hash_is_stored(
    store: Store, signin: SignInService, ann, clock: Clock
) -> None:
    signed = signin.authenticate(" ANN ", PASSWORD, client_key="203.0.113.9", client="Firefox")
    assert signed.account.id == ann.id and len(signed.token) >= 40
    assert signed.expires_at == clock() + SignInPolicy().absolute_timeout
    with store.read() as session:
        row = session.scalar(select(AuthSession))
    assert row.token_hash == hashlib.sha256(signed.token.encode()).hexdigest()
    assert row.client == "Firefox"
    assert signin.resolve(signed.token).id == ann.id
    assert signin.viewer(signed.token).user_id == ann.id
    assert signin.resolve("made-up-token") is None and signin.resolve(None) is None


def test_an_unknown_username_and_a_wrong_password_get_the_same_message(
    signin: SignInService, accounts: AccountService, admin: Account, ann: Account
) -> None:
    messages = set()
    for username, password in (("nobody", PASSWORD), ("ann", "not the password!"), ("", "")):
        with pytest.raises(SignInFailed) as failed:
            signin.authenticate(username, password)
        messages.add(str(failed.value))
    # an account made without a password cannot be signed into, and says so no differently
    accounts.create_user(admin.viewer, "nopass", "No Password")
    with pytest.raises(SignInFailed) as failed:
        signin.authenticate("nopass", "")
    messages.add(str(failed.value))
    assert messages == {WRONG_CREDENTIALS}


def test_five_failures_for_an_account_refuse_even_the_right_password_until_fifteen_minutes_pass(
    store: Store, signin: SignInService, clock: Clock, ann: Account
) -> None:
    for minute in range(5):
        clock.advance(minutes=1)
        with pytest.raises(SignInFailed):
            signin.authenticate("ann", f"wrong guess {minute}", client_key=f"client-{minute}")
    message = r"Too many failed sign-in attempts for this account\. Please try again in 11 minutes \(after 09:16 UTC\)"
    with pytest.raises(TooManyAttempts, match=message) as throttled:
        signin.authenticate("ann", PASSWORD, client_key="a fresh client")
    assert throttled.value.retry_at == START + timedelta(minutes=16)  # the first failure + 15 minutes
    assert signin.retry_after("ANN") == throttled.value.retry_at

    clock.advance(minutes=10, seconds=59)
    with pytest.raises(TooManyAttempts, match="try again in 1 minute "):
        signin.authenticate("ann", PASSWORD)
    clock.advance(seconds=1)  # the oldest failure has left the 15-minute window
    assert signin.authenticate("ann", PASSWORD).account.id == ann.id
    with store.read() as session:  # success clears the account's count
        assert session.scalars(select(LoginFailure.account_key)).all() == []


def test_unknown_usernames_are_throttled_exactly_like_real_ones(
    signin: SignInService, clock: Clock, ann: Account
) -> None:
    for username in ("ann", "nobody"):
        for _ in range(5):
            with pytest.raises(SignInFailed):
                signin.authenticate(username, "wrong guess!!")
    messages = []
    for username in ("ann", "nobody"):
        with pytest.raises(TooManyAttempts) as throttled:
            signin.authenticate(username, "wrong guess!!")
        messages.append(str(throttled.value))
    assert messages[0] == messages[1]


def test_twenty_failures_from_one_client_refuse_that_client_for_every_account(
    signin: SignInService, accounts: AccountService, clock: Clock, ann: Account
) -> None:
    for attempt in range(20):
        with pytest.raises(SignInFailed):
            signin.authenticate(f"user{attempt}", "wrong guess!!", client_key="198.51.100.7")
    with pytest.raises(TooManyAttempts, match="for this device"):
        signin.authenticate("ann", PASSWORD, client_key="198.51.100.7")
    assert signin.authenticate("ann", PASSWORD, client_key="192.0.2.1").account.id == ann.id
    clock.advance(minutes=15)
    assert signin.authenticate("ann", PASSWORD, client_key="198.51.100.7").account.id == ann.id


def test_client_keys_and_typed_usernames_are_stored_only_as_hashes(
    store: Store, signin: SignInService, ann: Account
) -> None:
    with pytest.raises(SignInFailed):
        signin.authenticate("my secret password typed in the wrong box", "x", client_key="203.0.113.9")
    with store.read() as session:
        row = session.scalar(select(LoginFailure))
    assert "secret" not in row.account_key and "203.0.113" not in row.client_key
    assert len(row.account_key) == len(row.client_key) == 64


def test_a_disabled_account_is_told_so_only_after_the_right_password(
    signin: SignInService, accounts: AccountService, admin: Account, ann: Account
) -> None:
    accounts.set_disabled(admin.viewer, ann.id)
    with pytest.raises(SignInFailed):
        signin.authenticate("ann", "not the password!")
    with pytest.raises(Forbidden, match="disabled"):
        signin.authenticate("ann", PASSWORD)


def test_sessions_end_after_twelve_idle_hours(signin: SignInService, clock: Clock, ann: Account) -> None:
    token = signin.authenticate("ann", PASSWORD).token
    clock.advance(hours=11, minutes=59)
    assert signin.resolve(token) is not None  # use keeps it alive...
    clock.advance(hours=11, minutes=59)
    assert signin.resolve(token) is not None
    clock.advance(hours=12)
    assert signin.resolve(token) is None  # ...but not 12 hours of silence
    clock.advance(minutes=1)
    assert signin.resolve(token) is None  # and it is gone for good


def test_sessions_end_after_seven_days_however_busy(
    signin: SignInService, clock: Clock, ann: Account
) -> None:
    token = signin.authenticate("ann", PASSWORD).token
    week_end = START + timedelta(days=7)
    while clock.now + timedelta(hours=11) < week_end:  # used twice a day all week
        clock.advance(hours=11)
        assert signin.resolve(token) is not None
    clock.now = week_end - timedelta(minutes=1)
    assert signin.resolve(token) is not None
    clock.now = week_end
    assert signin.resolve(token) is None


def test_the_session_lifetimes_can_be_configured_from_the_environment(
    store: Store, hasher: PasswordHasher, clock: Clock, ann: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPAIRLAB_SESSION_IDLE_HOURS", "0.5")
    monkeypatch.setenv("REPAIRLAB_SESSION_MAX_DAYS", "1")
    policy = SignInPolicy.from_env()
    assert policy.idle_timeout.total_seconds() == 1800 and policy.absolute_timeout.days == 1
    short = SignInService(store, hasher=hasher, clock=clock, policy=policy)
    token = short.authenticate("ann", PASSWORD).token
    clock.advance(minutes=31)
    assert short.resolve(token) is None
    monkeypatch.setenv("REPAIRLAB_SESSION_IDLE_HOURS", "soon")
    with pytest.raises(ValueError, match="REPAIRLAB_SESSION_IDLE_HOURS must be a positive number"):
        SignInPolicy.from_env()


def test_signing_out_ends_one_session_and_signing_out_everywhere_ends_all(
    signin: SignInService, ann: Account
) -> None:
    laptop, phone, tablet = (signin.authenticate("ann", PASSWORD).token for _ in range(3))
    signin.sign_out(laptop)
    assert signin.resolve(laptop) is None and signin.resolve(phone) is not None
    assert signin.sign_out_everywhere(ann.id) == 2
    assert signin.resolve(phone) is None and signin.resolve(tablet) is None
