"""Accounts: who a person is, how their account is made, and what an admin changes.

An account is the same `users` row a guest has, grown up: local accounts get
a lower-cased unique username and an Argon2 password hash; single sign-on
accounts get the identity provider's `sub` (never the email, which people
change and providers reassign). Signing in with a password, sessions and
throttling live in `signin.py`; this module creates and manages accounts:

* validation with messages a person can act on (usernames, passwords, names,
  emails), shared by the admin forms, self-registration and roster import;
* `setup_first_admin` for the one-time setup page (works only while no admin
  exists) and `create_admin` for the trusted `python -m repairlab admin` CLI;
* `sign_in_oidc`, `claim_guest_attempts`, and an admin's user management
  (create, change role, reset password, disable), each audited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import Attempt, AuthSession, Cohort, CohortMember, User, utcnow
from . import audit
from .access import ADMIN, ROLES, SUPERVISOR, TRAINEE, Viewer, actor, require_admin
from .errors import Conflict, Forbidden, NotFound, UserFacingError
from .practice import UserRef, new_token

USERNAME_MIN = 3
USERNAME_MAX = 64
PASSWORD_MIN = 12
PASSWORD_MAX = 1024  # Argon2 takes any length; this only stops absurd inputs
NAME_MAX = 100
EMAIL_MAX = 254
DELETED_NAME = "Deleted trainee"

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
_USERNAME_CHAR = re.compile(r"[a-z0-9._-]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_FIRST_ADMIN_LOCK = 4_242_004  # PostgreSQL advisory lock key for setup_first_admin


# -- validation ----------------------------------------------------------------------


def clean_username(raw: str | None) -> str:
    """The canonical (lower-case) form of a username, or a readable error."""
    name = unicodedata.normalize("NFKC", raw or "").strip().lower()
    if not name:
        raise UserFacingError("Please choose a username.")
    if len(name) > USERNAME_MAX:
        raise UserFacingError(
            f"Usernames can be at most {USERNAME_MAX} characters; '{name[:20]}…' has {len(name)}."
        )
    if len(name) < USERNAME_MIN:
        raise UserFacingError(f"Usernames need at least {USERNAME_MIN} characters; '{name}' has {len(name)}.")
    if not _USERNAME.fullmatch(name):
        bad = sorted({ch for ch in name if not _USERNAME_CHAR.fullmatch(ch)})
        shown = ", ".join(repr(ch) for ch in bad) if bad else f"'{name[0]}' at the start"
        raise UserFacingError(
            f"Usernames can use only letters a-z, digits, dots, hyphens and underscores, and must start "
            f"with a letter or digit; '{name}' has {shown}."
        )
    return name


def check_password(password: str | None, username: str | None = None) -> str:
    """The password unchanged if it meets the rules, else a readable error."""
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise UserFacingError(
            f"Passwords need at least {PASSWORD_MIN} characters; this one has {len(password)}. "
            "A few unrelated words make a long password that is easy to remember."
        )
    if len(password) > PASSWORD_MAX:
        raise UserFacingError(f"Passwords can be at most {PASSWORD_MAX} characters.")
    if not password.strip():
        raise UserFacingError("A password cannot be only spaces.")
    if username and password.strip().lower() == username.lower():
        raise UserFacingError("Your password cannot be your username.")
    return password


def clean_name(raw: str | None, what: str = "Display names") -> str:
    """A person's display name, whitespace collapsed; readable errors when unusable."""
    name = " ".join((raw or "").split())
    if not name:
        raise UserFacingError(f"{what} cannot be empty.")
    if len(name) > NAME_MAX:
        raise UserFacingError(f"{what} can be at most {NAME_MAX} characters; '{name[:20]}…' has {len(name)}.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise UserFacingError(f"{what} cannot contain control characters.")
    return name


def clean_email(raw: str | None, required: bool = False) -> str | None:
    email = (raw or "").strip()
    if not email:
        if required:
            raise UserFacingError("An email address is needed.")
        return None
    if len(email) > EMAIL_MAX:
        raise UserFacingError(f"Email addresses can be at most {EMAIL_MAX} characters.")
    if not _EMAIL.fullmatch(email) or any(unicodedata.category(ch).startswith("C") for ch in email):
        raise UserFacingError(f"'{email}' is not a valid email address.")
    return email


def clean_role(raw: str | None) -> str:
    role = (raw or "").strip().lower()
    if role not in ROLES:
        raise UserFacingError(f"'{raw}' is not a role; use one of: {', '.join(ROLES)}.")
    return role


def make_password_hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile)."""
    return PasswordHasher()


# -- what callers get back ------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: int
    public_id: str
    display_name: str
    role: str
    is_guest: bool
    username: str | None
    email: str | None
    pseudonym: str | None
    has_password: bool
    uses_sso: bool
    disabled: bool
    deleted: bool
    created_at: datetime

    @property
    def viewer(self) -> Viewer:
        return Viewer(self.id, self.role)

    @property
    def ref(self) -> UserRef:
        """The identity the practice service works with."""
        return UserRef(self.id, self.public_id, self.display_name, self.is_guest, self.role)


def account_of(user: User) -> Account:
    return Account(
        id=user.id,
        public_id=user.public_id,
        display_name=user.display_name,
        role=user.role,
        is_guest=user.is_guest,
        username=user.username,
        email=user.email,
        pseudonym=user.pseudonym,
        has_password=user.password_hash is not None,
        uses_sso=user.oidc_subject is not None,
        disabled=bool(user.disabled),
        deleted=user.deleted_at is not None,
        created_at=user.created_at,
    )


def username_taken(session: Session, username: str) -> bool:
    return session.scalar(select(User.id).where(User.username == username)) is not None


def new_account(
    session: Session,
    *,
    username: str | None,
    display_name: str,
    role: str,
    password_hash: str | None = None,
    email: str | None = None,
    oidc_subject: str | None = None,
) -> User:
    """Insert an account row (values already validated) and flush it."""
    user = User(
        public_id=new_token(),
        display_name=display_name,
        is_guest=False,
        role=role,
        username=username,
        password_hash=password_hash,
        email=email,
        oidc_subject=oidc_subject,
        disabled=False,
    )
    session.add(user)
    session.flush()
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == ADMIN, User.deleted_at.is_(None), User.disabled.is_(False))
    )


class AccountService:
    def __init__(
        self,
        store: Store,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.hasher = hasher or make_password_hasher()
        self.clock = clock

    # -- looking people up ------------------------------------------------------------

    def account(self, user_id: int) -> Account | None:
        with self.store.read() as session:
            user = session.get(User, user_id)
            return account_of(user) if user else None

    def account_by_public_id(self, public_id: str | None) -> Account | None:
        if not public_id:
            return None
        with self.store.read() as session:
            user = session.scalar(select(User).where(User.public_id == public_id))
            return account_of(user) if user else None

    def list_users(
        self, viewer: Viewer, include_guests: bool = False, include_deleted: bool = False
    ) -> list[Account]:
        """Every account, for an admin's user management."""
        with self.store.read() as session:
            require_admin(session, viewer, "manage users")
            query = select(User).order_by(User.role, func.lower(User.display_name), User.id)
            if not include_guests:
                query = query.where(User.is_guest.is_(False))
            if not include_deleted:
                query = query.where(User.deleted_at.is_(None))
            return [account_of(user) for user in session.scalars(query)]

    # -- the first admin ------------------------------------------------------------------

    def admin_exists(self) -> bool:
        """Whether the one-time setup page must stay closed."""
        with self.store.read() as session:
            return (
                session.scalar(select(User.id).where(User.role == ADMIN, User.deleted_at.is_(None)).limit(1))
                is not None
            )

    def setup_first_admin(
        self, username: str, display_name: str, password: str, email: str | None = None
    ) -> Account:
        """Create the first administrator; refused once any administrator exists."""
        values = self.check_new_account(username, display_name, password, email)
        with self.store.write() as session:
            if not self.store.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises this
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_ADMIN_LOCK})
            if session.scalar(select(User.id).where(User.role == ADMIN, User.deleted_at.is_(None)).limit(1)):
                raise Forbidden(
                    "Setup is already done: an administrator exists. Ask them for an account, or use "
                    "`python -m repairlab admin create` on the server."
                )
            user = self.insert_account(session, values, ADMIN)
            audit.record(session, user.id, audit.FIRST_ADMIN, user.id, at=self.clock())
            return account_of(user)

    def create_admin(
        self, username: str, display_name: str, password: str, email: str | None = None
    ) -> Account:
        """Create an administrator without asking anyone: for the server's own CLI only."""
        values = self.check_new_account(username, display_name, password, email)
        with self.store.write() as session:
            user = self.insert_account(session, values, ADMIN)
            audit.record(session, None, audit.CREATE_USER, user.id, at=self.clock(), role=ADMIN, via="cli")
            return account_of(user)

    def set_password_by_username(self, username: str, password: str) -> Account:
        """Reset a password without asking anyone: for the server's own CLI only."""
        name = clean_username(username)
        check_password(password, name)
        hashed = self.hasher.hash(password)
        with self.store.write() as session:
            user = session.scalar(select(User).where(User.username == name, User.deleted_at.is_(None)))
            if user is None:
                raise NotFound(f"There is no account with the username '{name}'.")
            user.password_hash = hashed
            session.execute(AuthSession.__table__.delete().where(AuthSession.user_id == user.id))
            audit.record(session, None, audit.SET_PASSWORD, user.id, at=self.clock(), via="cli")
            return account_of(user)

    # -- admin's user management ----------------------------------------------------------

    def create_user(
        self,
        viewer: Viewer,
        username: str,
        display_name: str,
        role: str = TRAINEE,
        password: str | None = None,
        email: str | None = None,
    ) -> Account:
        """An admin creates an account; without a password it can be used once one is set or via SSO."""
        role = clean_role(role)
        values = self.check_new_account(username, display_name, password, email)
        with self.store.write() as session:
            who = require_admin(session, viewer, "create accounts")
            user = self.insert_account(session, values, role)
            audit.record(session, who.user_id, audit.CREATE_USER, user.id, at=self.clock(), role=role)
            return account_of(user)

    def set_role(self, viewer: Viewer, user_id: int, role: str) -> Account:
        role = clean_role(role)
        with self.store.write() as session:
            who = require_admin(session, viewer, "change roles")
            user = self._live_account(session, user_id)
            if user.role == role:
                return account_of(user)
            if user.role == ADMIN and _active_admins(session) <= 1:
                raise Conflict(
                    f"{user.display_name} is the only administrator; make someone else an administrator first."
                )
            memberships = session.execute(
                select(Cohort.name, CohortMember.role)
                .join(CohortMember, CohortMember.cohort_id == Cohort.id)
                .where(CohortMember.user_id == user.id)
                .order_by(Cohort.name)
            ).all()
            clash = [name for name, as_role in memberships if (as_role == TRAINEE) != (role == TRAINEE)]
            if clash:
                as_what = "supervises" if role == TRAINEE else "is enrolled as a trainee in"
                raise Conflict(
                    f"{user.display_name} {as_what} {', '.join(clash)}; remove them from "
                    f"{'that cohort' if len(clash) == 1 else 'those cohorts'} before making them {_a(role)}."
                )
            before, user.role = user.role, role
            audit.record(
                session, who.user_id, audit.SET_ROLE, user.id, at=self.clock(), role=role, was=before
            )
            return account_of(user)

    def set_password(self, viewer: Viewer, user_id: int, password: str) -> None:
        """An admin sets or resets someone's password; their sessions end."""
        with self.store.read() as session:
            require_admin(session, viewer, "set other people's passwords")
            username = self._live_account(session, user_id).username
        check_password(password, username)
        hashed = self.hasher.hash(password)
        with self.store.write() as session:
            who = require_admin(session, viewer, "set other people's passwords")
            user = self._live_account(session, user_id)
            if user.username is None:
                raise Conflict(
                    f"{user.display_name} has no username, so a password would be of no use; "
                    "they sign in with single sign-on."
                )
            user.password_hash = hashed
            session.execute(AuthSession.__table__.delete().where(AuthSession.user_id == user.id))
            audit.record(session, who.user_id, audit.SET_PASSWORD, user.id, at=self.clock())

    def change_password(self, viewer: Viewer, current_password: str, new_password: str) -> None:
        """A signed-in person changes their own password (the current one is checked if set)."""
        with self.store.read() as session:
            who = actor(session, viewer)
            user = session.get(User, who.user_id)
            username, old_hash = user.username, user.password_hash
        if username is None:
            raise Conflict("Your account signs in with single sign-on and has no password here.")
        if old_hash is not None and not self.verify(old_hash, current_password or ""):
            raise Forbidden("Your current password is not right; the password was not changed.")
        check_password(new_password, username)
        hashed = self.hasher.hash(new_password)
        with self.store.write() as session:
            user = session.get(User, who.user_id)
            user.password_hash = hashed
            audit.record(session, who.user_id, audit.SET_PASSWORD, who.user_id, at=self.clock(), via="self")

    def set_disabled(self, viewer: Viewer, user_id: int, disabled: bool = True) -> Account:
        """Disable (or re-enable) an account; a disabled account's sessions end at once."""
        with self.store.write() as session:
            who = require_admin(session, viewer, "disable accounts")
            user = self._live_account(session, user_id)
            if disabled and user.id == who.user_id:
                raise Conflict("You cannot disable your own account.")
            if disabled and user.role == ADMIN and not user.disabled and _active_admins(session) <= 1:
                raise Conflict(f"{user.display_name} is the only active administrator.")
            user.disabled = disabled
            if disabled:
                session.execute(AuthSession.__table__.delete().where(AuthSession.user_id == user.id))
            audit.record(
                session, who.user_id, audit.SET_DISABLED, user.id, at=self.clock(), disabled=disabled
            )
            return account_of(user)

    # -- single sign-on -------------------------------------------------------------------

    def sign_in_oidc(
        self, sub: str, email: str | None = None, name: str | None = None, email_verified: bool = False
    ) -> Account:
        """The account of an identity-provider user, found by `sub` or created as a trainee.

        The email only ever helps once: an account made beforehand by an admin
        or a roster upload (no password, no SSO link yet) with the same email
        is linked to this `sub` on first sign-in, and only if the provider
        says the email is verified. From then on only `sub` counts, so a
        changed email keeps the account and a new `sub` with an old email
        never gets it.
        """
        subject = (sub or "").strip()
        if not subject or len(subject) > 255:
            raise UserFacingError("The sign-in provider did not give a usable user id; please try again.")
        try:
            email = clean_email(email)
        except UserFacingError:
            email = None
        try:
            display = clean_name(name) if name and name.strip() else None
        except UserFacingError:
            display = None
        display = display or (email.split("@")[0][:NAME_MAX] if email else "Trainee")
        for _ in range(2):
            try:
                return self._sign_in_oidc_once(subject, email, display, email_verified)
            except IntegrityError:
                continue  # the same person signed in twice at once: the second finds the first's row
        raise Conflict("Signing in did not complete; please try again.")

    def _sign_in_oidc_once(self, subject: str, email: str | None, display: str, verified: bool) -> Account:
        with self.store.write() as session:
            user = session.scalar(select(User).where(User.oidc_subject == subject))
            if user is None and email and verified:
                candidates = list(
                    session.scalars(
                        select(User).where(
                            func.lower(User.email) == email.lower(),
                            User.oidc_subject.is_(None),
                            User.password_hash.is_(None),
                            User.is_guest.is_(False),
                            User.deleted_at.is_(None),
                            User.role != ADMIN,
                        )
                    )
                )
                if len(candidates) == 1:
                    user = candidates[0]
                    user.oidc_subject = subject
            if user is None:
                user = new_account(
                    session,
                    username=None,
                    display_name=display,
                    role=TRAINEE,
                    email=email,
                    oidc_subject=subject,
                )
                audit.record(
                    session, user.id, audit.CREATE_USER, user.id, at=self.clock(), role=TRAINEE, via="sso"
                )
            elif email and user.email != email:
                user.email = email
            if user.disabled:
                raise Forbidden("This account is disabled. Please ask an administrator.")
            return account_of(user)

    # -- guests -------------------------------------------------------------------------

    def claim_guest_attempts(self, guest_user_id: int, account_user_id: int) -> int:
        """Move every attempt of a guest to an account, in one transaction; returns how many.

        The guest identity is removed afterwards, so the old guest link in the
        browser no longer opens anything. The UI must pass only the guest of
        the current browser session (its id came from that session's own
        guest link): the service cannot tell who is holding the browser.
        """
        with self.store.write() as session:
            guest = session.get(User, guest_user_id, with_for_update=not self.store.is_sqlite)
            if guest is None or not guest.is_guest:
                raise NotFound("There is no guest practice to claim (it may have been claimed already).")
            account = session.get(User, account_user_id)
            if account is None or account.is_guest or account.deleted_at is not None or account.disabled:
                raise Forbidden("Guest practice can only be claimed by an active account.")
            moved = session.execute(
                update(Attempt).where(Attempt.user_id == guest.id).values(user_id=account.id)
            ).rowcount
            from .groups import move_participations  # group sessions the guest joined follow them

            move_participations(session, guest.id, account.id)
            session.execute(AuthSession.__table__.delete().where(AuthSession.user_id == guest.id))
            session.execute(CohortMember.__table__.delete().where(CohortMember.user_id == guest.id))
            try:
                with session.begin_nested():
                    session.delete(guest)
            except IntegrityError:
                # Something else still names the guest (e.g. a group session they hosted):
                # retire the row instead, so the old guest link opens nothing either.
                guest = session.get(User, guest_user_id)
                guest.public_id = new_token()
                guest.display_name = "Claimed guest"
                guest.disabled = True
                guest.deleted_at = self.clock()
            audit.record(
                session,
                account.id,
                audit.CLAIM_GUEST,
                account.id,
                at=self.clock(),
                guest_id=guest_user_id,
                attempts=moved,
            )
            return moved

    # -- helpers -----------------------------------------------------------------------

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def check_new_account(
        self, username: str, display_name: str, password: str | None, email: str | None
    ) -> dict:
        """Validated column values for a new account (the password hashed), or a readable error."""
        name = clean_username(username)
        values = {
            "username": name,
            "display_name": clean_name(display_name),
            "email": clean_email(email),
            "password_hash": None,
        }
        if password is not None and password != "":
            values["password_hash"] = self.hasher.hash(check_password(password, name))
        return values

    def insert_account(self, session: Session, values: dict, role: str) -> User:
        """Insert `check_new_account`'s values in the caller's transaction; duplicate usernames are a Conflict."""
        if username_taken(session, values["username"]):
            raise Conflict(f"The username '{values['username']}' is already taken.")
        try:
            with session.begin_nested():
                return new_account(session, role=role, **values)
        except IntegrityError:
            if username_taken(session, values["username"]):  # taken by a concurrent request
                raise Conflict(f"The username '{values['username']}' is already taken.") from None
            raise

    def _live_account(self, session: Session, user_id: int) -> User:
        user = session.get(User, user_id)
        if user is None or user.deleted_at is not None:
            raise NotFound("There is no such account.")
        if user.is_guest:
            raise Conflict("That is a guest, not an account.")
        return user


def _a(role: str) -> str:
    return {ADMIN: "an administrator", SUPERVISOR: "a supervisor", TRAINEE: "a trainee"}[role]
