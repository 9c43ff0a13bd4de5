"""Scenarios published from the authoring workspace (migration 0003).

A published scenario is stored as the author's YAML text, so every app
replica sharing the database serves it and it is re-validated exactly as a
file in the library folder would be. Rows are never updated or deleted:
publishing again adds a row with the next `version_no` for that scenario id,
and the catalog serves the newest. `(scenario_id, version_no)` is unique, so
two authors publishing the same id at the same moment cannot both become
"version 1" (the second is refused and asked to check again).

`published_by` is nullable: before accounts exist (authoring behind the
`REPAIRLAB_AUTHORING` setting) nobody may be signed in, and a deleted user's
publications stay in the library.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Base, utcnow


class PublishedScenario(Base):
    """One published version of a scenario: its YAML source, who published it, when."""

    __tablename__ = "published_scenarios"
    __table_args__ = (UniqueConstraint("scenario_id", "version_no", name="uq_published_scenarios_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    # The version that was being served when the author confirmed replacing it (None: a new id).
    replaced_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    published_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
