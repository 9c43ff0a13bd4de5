"""The tables: people, practice records, cohorts, sign-in state and the audit log.

A trainee's record is an `Attempt` bound to the exact `ScenarioVersion` it was
played on, plus one `AttemptStep` per action (a choice, or continuing past
narration) written the moment it is made. Per-dimension scores live in
`StepScore` rows so cohort statistics can be aggregated in SQL whatever the
rubric's dimensions are.

Accounts (migration 0002) extend `User` in place, so a guest's attempts need
no data migration to become an account's; cohorts, sign-in sessions, failed
sign-ins and the audit log are tables of their own.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """A stored datetime with its zone: SQLite hands them back naive, and all are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    """A person: a guest with only a display name, or an account.

    Accounts are guests grown up: the same row gains a username and password
    (local sign-in) or an `oidc_subject` (the identity provider's stable `sub`,
    never the email). `pseudonym` is what shared boards show instead of the
    name. A deleted trainee keeps the row (so anonymised scores still count in
    cohort statistics) with every personal field cleared and `deleted_at` set.

    `username`, `oidc_subject` and `pseudonym` are unique through unique
    *indexes* (which allow many NULLs on both backends) rather than table
    constraints: SQLite can add an index in place, whereas adding a constraint
    or a NOT NULL would rebuild `users`, which other tables reference.
    `pseudonym` is therefore nullable in the schema, but always set: by the
    migration for existing rows and by `_give_pseudonym` below for new ones.
    """

    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_username", "username", unique=True),
        Index("uq_users_oidc_subject", "oidc_subject", unique=True),
        Index("uq_users_pseudonym", "pseudonym", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    is_guest: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[str] = mapped_column(String(16), default="trainee")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Accounts (0002). Usernames are stored lower-case, so uniqueness is case-insensitive.
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    pseudonym: Mapped[str | None] = mapped_column(String(32), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    attempts: Mapped[list[Attempt]] = relationship(back_populates="user")


# Letters and digits that cannot be misread for one another (no 0/O, 1/I/L).
UNAMBIGUOUS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(length: int) -> str:
    return "".join(secrets.choice(UNAMBIGUOUS) for _ in range(length))


def new_pseudonym(length: int = 4) -> str:
    """A name for shared boards that says nothing about the person: "Trainee 4F7K"."""
    return f"Trainee {random_code(length)}"


@event.listens_for(User, "before_insert")
def _give_pseudonym(_mapper, connection, target: User) -> None:  # type: ignore[no-untyped-def]
    """Every new user gets a pseudonym not yet taken (longer codes if 4 chars run short)."""
    if target.pseudonym:
        return
    table = User.__table__
    for attempt in range(50):
        candidate = new_pseudonym(4 if attempt < 20 else 6)
        taken = connection.execute(select(table.c.id).where(table.c.pseudonym == candidate)).first()
        if taken is None:
            target.pseudonym = candidate
            return
    raise RuntimeError("could not find a free pseudonym")  # pragma: no cover - 1 in 32**6 per try


class ScenarioVersion(Base):
    """One exact version of a scenario (with its rubric), stored once."""

    __tablename__ = "scenario_versions"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    snapshot: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    content_hash: Mapped[str] = mapped_column(ForeignKey("scenario_versions.content_hash"))
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="in_progress", index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ending: Mapped[str | None] = mapped_column(String(16), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    zone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reflection: Mapped[str | None] = mapped_column(Text, nullable=True)
    reflection_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    user: Mapped[User] = relationship(back_populates="attempts")
    steps: Mapped[list[AttemptStep]] = relationship(
        back_populates="attempt", order_by="AttemptStep.step_no", cascade="all, delete-orphan"
    )


class AttemptStep(Base):
    """One action in an attempt; (attempt, step) is unique so recording is idempotent."""

    __tablename__ = "attempt_steps"

    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True)
    step_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64))
    choice_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: continued narration
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    best_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    zone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="steps")
    dimension_scores: Mapped[list[StepScore]] = relationship(cascade="all, delete-orphan")


class StepScore(Base):
    __tablename__ = "step_scores"
    __table_args__ = (
        ForeignKeyConstraint(
            ["attempt_id", "step_no"],
            ["attempt_steps.attempt_id", "attempt_steps.step_no"],
            ondelete="CASCADE",
        ),
    )  # the primary key (attempt, step, dimension) makes each score unique

    attempt_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    step_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


# -- cohorts, sign-in and the audit log (0002) --------------------------------------


class Cohort(Base):
    """A group of trainees with their supervisors, e.g. "MFT 2026" of a program."""

    __tablename__ = "cohorts"
    __table_args__ = (
        UniqueConstraint("name", name="uq_cohorts_name"),
        UniqueConstraint("invite_code", name="uq_cohorts_invite_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    program: Mapped[str | None] = mapped_column(String(100), nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    invite_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class CohortMember(Base):
    """One person in one cohort, as a trainee or as a supervisor."""

    __tablename__ = "cohort_members"
    __table_args__ = (CheckConstraint("role IN ('trainee', 'supervisor')", name="ck_cohort_members_role"),)

    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuthSession(Base):
    """A signed-in browser: only the SHA-256 of its token is stored, never the token."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    client: Mapped[str | None] = mapped_column(String(200), nullable=True)


class LoginFailure(Base):
    """One failed sign-in, for throttling. Keys are SHA-256 hashes, so a password
    typed into the username box, or a client's address, is never stored as typed."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_at", "account_key", "at"),
        Index("ix_login_failures_client_at", "client_key", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    account_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client_key: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditEntry(Base):
    """Who did what to whose records, when. Append-only.

    The user ids are deliberately not foreign keys: the log must outlive any
    change to the people it mentions. `detail` is JSON text holding ids and
    counts only, never names, so deleting a trainee's personal data leaves no
    copy of it here.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    subject_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")
