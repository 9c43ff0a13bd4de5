"""The tables behind practice: who played which scenario version, and every step.

A trainee's record is an `Attempt` bound to the exact `ScenarioVersion` it was
played on, plus one `AttemptStep` per action (a choice, or continuing past
narration) written the moment it is made. Per-dimension scores live in
`StepScore` rows so cohort statistics can be aggregated in SQL whatever the
rubric's dimensions are.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    """A person: a guest with only a display name, or an account (accounts issue)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    is_guest: Mapped[bool] = mapped_column(Boolean, default=True)
    role: Mapped[str] = mapped_column(String(16), default="trainee")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    attempts: Mapped[list[Attempt]] = relationship(back_populates="user")


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
        UniqueConstraint("attempt_id", "step_no", "dimension"),
    )

    attempt_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    step_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    dimension: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
