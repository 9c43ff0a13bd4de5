"""Live group sessions (migration 0004): every bit of live state is a row here.

Nothing about a running group session lives in one process's memory, so any
number of app processes sharing one database serve the same session (see
docs/deployment.md). A session is one scenario version played by a room:

* `GroupSession`: the join code, mode, status, host, optional cohort and,
  for supervisor-paced sessions, the group's position (`position` = number of
  group actions taken so far) and whether the current decision is revealed.
  `open_code` repeats `code` while the session is open and is NULL once it is
  closed: a unique index on it keeps codes unique among *open* sessions on
  both backends (unique indexes allow many NULLs) without partial indexes.
* `GroupStep`: the group's path, one row per action the supervisor took
  (a branch at a decision, or continuing narration). (session, step) is the
  primary key, so a double click on Advance can never advance twice.
* `GroupParticipant`: one person in one session (unique per session and
  user); guests join as guest users, and shared boards show only pseudonyms.
* `GroupAnswer`: a participant's private answer at one group step; the
  primary key (session, participant, step) makes answering idempotent.
* `GroupAttempt`: links a session to practice `attempts`: in self-paced
  mode each participant's own attempt; in supervisor-paced mode the attempt
  recorded for each participant when the group reaches an ending (so the
  results join the trainee's and the cohort's records).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, utcnow

SUPERVISOR_PACED = "supervisor"
SELF_PACED = "self"
OPEN = "open"
CLOSED = "closed"


class GroupSession(Base):
    __tablename__ = "group_sessions"
    __table_args__ = (
        CheckConstraint("mode IN ('supervisor', 'self')", name="ck_group_sessions_mode"),
        CheckConstraint("status IN ('open', 'closed')", name="ck_group_sessions_status"),
        Index("uq_group_sessions_open_code", "open_code", unique=True),
        Index("ix_group_sessions_host_created", "host_user_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(12), index=True)
    open_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    content_hash: Mapped[str] = mapped_column(ForeignKey("scenario_versions.content_hash"))
    scenario_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    feedback_mode: Mapped[str] = mapped_column(String(16), default="coached")
    status: Mapped[str] = mapped_column(String(16), default=OPEN)
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    host_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    revealed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class GroupStep(Base):
    """One action of the group's path; `choice_id` None means narration was continued."""

    __tablename__ = "group_steps"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("group_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    step_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64))
    choice_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupParticipant(Base):
    __tablename__ = "group_participants"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_group_participants_session_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("group_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupAnswer(Base):
    """A participant's private answer at one group step (changeable until the reveal)."""

    __tablename__ = "group_answers"
    __table_args__ = (
        ForeignKeyConstraint(["session_id"], ["group_sessions.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["participant_id"], ["group_participants.id"], ondelete="CASCADE"),
        Index("ix_group_answers_session_step", "session_id", "step_no"),
    )  # the primary key (session, participant, step) makes each answer unique

    session_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    participant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    step_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[str] = mapped_column(String(64))
    choice_id: Mapped[str] = mapped_column(String(64))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GroupAttempt(Base):
    """A practice attempt that belongs to a group session (one per participant)."""

    __tablename__ = "group_attempts"
    __table_args__ = (
        UniqueConstraint("session_id", "participant_id", name="uq_group_attempts_session_participant"),
    )

    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("group_sessions.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("group_participants.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
