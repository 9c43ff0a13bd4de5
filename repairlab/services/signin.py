"""Signing in with a password: throttling, opaque session tokens, expiry, signing out.

Kept apart from `accounts.py` because it is the attack surface: everything
here assumes the caller is a stranger.

* **No user enumeration.** An unknown username, a wrong password and an
  account without a password get the same message, take about the same time
  (a dummy Argon2 verification runs when there is no hash to check) and count
  toward the same throttle. Only someone who knows the right password learns
  that an account is disabled.
* **Throttling.** Failures are counted per account (the username as typed,
  hashed) and per client key (whatever the UI can tell about the browser,
  hashed): after 5 failures in 15 minutes for an account, or 20 for a client
  key, further attempts are refused, right password or not, with the time
  to try again. Success clears the account's count, never the client's.
* **Sessions.** A token is 32 random bytes shown once to the browser; the
  database keeps only its SHA-256, so a database leak does not sign anyone
  in. Sessions end after 12 hours idle or 7 days in all (settable with
  REPAIRLAB_SESSION_IDLE_HOURS and REPAIRLAB_SESSION_MAX_DAYS). `last_seen_at`
  is written at most once a minute, so Streamlit's many reruns do not each
  take the SQLite write lock.
"""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import AuthSession, LoginFailure, User, as_utc, utcnow
from .access import Viewer
from .accounts import Account, account_of, make_password_hasher
from .errors import Forbidden, UserFacingError

WRONG_CREDENTIALS = "That username and password do not match an account. Please check both and try again."
CLIENT_MAX = 200
TOUCH_EVERY = timedelta(minutes=1)


class SignInFailed(UserFacingError):
    """Wrong username or password (deliberately not saying which)."""


class TooManyAttempts(UserFacingError):
    """Throttled; `retry_at` says when signing in may be tried again."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


@dataclass(frozen=True)
class SignInPolicy:
    idle_timeout: timedelta = timedelta(hours=12)
    absolute_timeout: timedelta = timedelta(days=7)
    failure_window: timedelta = timedelta(minutes=15)
    account_failure_limit: int = 5
    client_failure_limit: int = 20

    @classmethod
    def from_env(cls) -> SignInPolicy:
        return cls(
            idle_timeout=timedelta(hours=_positive_float("REPAIRLAB_SESSION_IDLE_HOURS", 12)),
            absolute_timeout=timedelta(days=_positive_float("REPAIRLAB_SESSION_MAX_DAYS", 7)),
        )


def _positive_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, not {raw!r}.")
    return value


@dataclass(frozen=True)
class SignedIn:
    token: str  # give to the browser; it is never stored
    account: Account
    expires_at: datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def account_key(username: str) -> str:
    return _digest("account:" + (username or "").strip().lower())


def client_key_hash(client_key: str) -> str:
    return _digest("client:" + client_key)


class SignInService:
    def __init__(
        self,
        store: Store,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = utcnow,
        policy: SignInPolicy | None = None,
    ) -> None:
        self.store = store
        self.hasher = hasher or make_password_hasher()
        self.clock = clock
        self.policy = policy or SignInPolicy()
        self._dummy_hash: str | None = None

    # -- password sign-in ---------------------------------------------------------------

    def authenticate(
        self, username: str, password: str, client_key: str | None = None, client: str | None = None
    ) -> SignedIn:
        """Check a username and password; on success open a session.

        `client_key` identifies the browser for throttling (for example the
        address the proxy reports, or a value kept in the browser); `client`
        is a short description kept with the session (e.g. the user agent).
        """
        now = self.clock()
        key = account_key(username)
        ckey = client_key_hash(client_key) if client_key else None
        with self.store.read() as session:
            self._refuse_if_throttled(session, key, ckey, now)
            name = (username or "").strip().lower()
            user = session.scalar(select(User).where(User.username == name, User.deleted_at.is_(None)))
            user_id, stored = (user.id, user.password_hash) if user else (None, None)
        ok = self._verify(stored, password or "")
        with self.store.write() as session:
            if not ok or user_id is None:
                session.add(LoginFailure(at=now, account_key=key, client_key=ckey))
                session.execute(
                    delete(LoginFailure).where(LoginFailure.at < now - 4 * self.policy.failure_window)
                )
            else:
                user = session.get(User, user_id)
                if user is None or user.deleted_at is not None:  # deleted in the meantime
                    raise SignInFailed(WRONG_CREDENTIALS)
                if user.disabled:
                    raise Forbidden("This account is disabled. Please ask an administrator.")
                self._refuse_if_throttled(session, key, ckey, now)  # failures may have landed meanwhile
                if self.hasher.check_needs_rehash(stored):
                    user.password_hash = self.hasher.hash(password)
                session.execute(delete(LoginFailure).where(LoginFailure.account_key == key))
                session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
                return self._open(session, user, now, client)
        raise SignInFailed(WRONG_CREDENTIALS)  # after the failure above is committed

    def open_session(self, user_id: int, client: str | None = None) -> SignedIn:
        """A session for someone who has just proved who they are another way (e.g. registered)."""
        now = self.clock()
        with self.store.write() as session:
            user = session.get(User, user_id)
            if user is None or user.deleted_at is not None or user.disabled or user.is_guest:
                raise Forbidden("That account cannot sign in.")
            return self._open(session, user, now, client)

    def retry_after(self, username: str, client_key: str | None = None) -> datetime | None:
        """When a throttled username/client may try again (None: not throttled now)."""
        now = self.clock()
        with self.store.read() as session:
            try:
                self._refuse_if_throttled(
                    session, account_key(username), client_key_hash(client_key) if client_key else None, now
                )
            except TooManyAttempts as throttled:
                return throttled.retry_at
        return None

    # -- sessions -----------------------------------------------------------------------

    def resolve(self, token: str | None) -> Account | None:
        """The account a session token belongs to, or None if unknown, expired or disabled."""
        if not token:
            return None
        now = self.clock()
        digest = _digest(token)
        with self.store.read() as session:
            row = session.get(AuthSession, digest)
            if row is None:
                return None
            user = session.get(User, row.user_id)
            expired = (
                now >= as_utc(row.expires_at)
                or now - as_utc(row.last_seen_at) >= self.policy.idle_timeout
                or user is None
                or user.disabled
                or user.deleted_at is not None
            )
            stale = now - as_utc(row.last_seen_at) >= TOUCH_EVERY
            account = None if expired else account_of(user)
        if expired:
            with self.store.write() as session:
                session.execute(delete(AuthSession).where(AuthSession.token_hash == digest))
            return None
        if stale:
            with self.store.write() as session:
                row = session.get(AuthSession, digest)
                if row is not None:
                    row.last_seen_at = now
        return account

    def viewer(self, token: str | None) -> Viewer | None:
        account = self.resolve(token)
        return account.viewer if account else None

    def sign_out(self, token: str | None) -> None:
        if token:
            with self.store.write() as session:
                session.execute(delete(AuthSession).where(AuthSession.token_hash == _digest(token)))

    def sign_out_everywhere(self, user_id: int) -> int:
        with self.store.write() as session:
            return session.execute(delete(AuthSession).where(AuthSession.user_id == user_id)).rowcount

    # -- helpers ------------------------------------------------------------------------

    def _open(self, session: Session, user: User, now: datetime, client: str | None) -> SignedIn:
        token = secrets.token_urlsafe(32)
        expires = now + self.policy.absolute_timeout
        session.add(
            AuthSession(
                token_hash=_digest(token),
                user_id=user.id,
                created_at=now,
                expires_at=expires,
                last_seen_at=now,
                client=(client or "")[:CLIENT_MAX] or None,
            )
        )
        session.flush()
        return SignedIn(token, account_of(user), expires)

    def _verify(self, stored: str | None, password: str) -> bool:
        if stored is None:
            # Spend the same time as a real check, so timing does not tell whether the account exists.
            if self._dummy_hash is None:
                self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
            self._check(self._dummy_hash, password)
            return False
        return self._check(stored, password)

    def _check(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except Exception:  # noqa: BLE001 - a mismatch or an unreadable hash are both "no"
            return False

    def _refuse_if_throttled(self, session: Session, key: str, ckey: str | None, now: datetime) -> None:
        since = now - self.policy.failure_window
        checks = [(LoginFailure.account_key == key, self.policy.account_failure_limit, "this account")]
        if ckey is not None:
            checks.append((LoginFailure.client_key == ckey, self.policy.client_failure_limit, "this device"))
        latest: datetime | None = None
        for condition, limit, what in checks:
            count = session.scalar(
                select(func.count()).select_from(LoginFailure).where(condition, LoginFailure.at > since)
            )
            if count < limit:
                continue
            # Allowed again once the limit-th most recent failure leaves the window.
            limit_th = session.scalar(
                select(LoginFailure.at)
                .where(condition, LoginFailure.at > since)
                .order_by(LoginFailure.at.desc())
                .offset(limit - 1)
                .limit(1)
            )
            retry_at = as_utc(limit_th) + self.policy.failure_window
            if latest is None or retry_at > latest:
                latest, reason = retry_at, what
        if latest is not None:
            minutes = max(1, math.ceil((latest - now).total_seconds() / 60))
            raise TooManyAttempts(
                f"Too many failed sign-in attempts for {reason}. Please try again in {minutes} "
                f"minute{'s' if minutes != 1 else ''} (after {latest:%H:%M} UTC).",
                latest,
            )
