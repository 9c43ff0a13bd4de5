"""Per-attempt analytics summaries (migration 0005), kept by `services/analytics_summary.py`.

The cohort dashboard aggregates every completed attempt of a program (about
20,000 for 500 trainees x 40 attempts, with 70,000+ responses). Joining the
responses to their attempts on every uncached rerun cost most of a second, so
each completed attempt is summarised once, in one narrow row:

* `AttemptSummary` (``analytics_attempts``): who, which scenario version,
  when (with the UTC month and week precomputed, as `analytics_sql.period`
  would compute them), score and ending, plus two keys into small shared
  dictionaries: the attempt's **path** and the multiset of its responses'
  **zones**;
* `PathStep` (``analytics_paths``): a path is the attempt's steps in order
  (node, choice, zone, the next step's node), for one scenario version; the
  thousands of attempts that took the same path share one entry, so "which
  response was picked at each decision", the strategies, the dimension means
  and the Sankey are GROUP BYs over a few hundred (path, count) rows;
* `ZoneCount` (``analytics_zone_sets``): how many responses of each zone a
  zone multiset holds, so the zones per period are a GROUP BY over (period,
  zone multiset) joined to it.

Dictionary keys are the first 60 bits of a SHA-256 of the entry's content, so
every writer computes the same key without coordination; a refresh checks
that an existing entry holds what it would have written (a collision is
refused, never silently merged).

Nothing here is a source of truth: the rows are derived from ``attempts`` and
``attempt_steps`` and can be rebuilt at any time (`AnalyticsSummary.rebuild`).
The summary of an attempt is removed with it (ON DELETE CASCADE). The module
also declares indexes on ``attempts`` that make the dashboard's per-rerun
data-version query and the summary's sync check index-only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .tables import Attempt, Base


class AttemptSummary(Base):
    """One completed attempt with a score (the dashboard's population), as the dashboard aggregates it."""

    __tablename__ = "analytics_attempts"
    __table_args__ = (
        # Covering indexes, so no dashboard query reads the table itself. For a whole program
        # each query scans the index that has its GROUP BY order (the scope condition on user_id
        # is answered from the index entry): per trainee and month or week (means, latest and
        # first attempt, medians), per path, per zone multiset and period, per scenario.
        Index("ix_analytics_attempts_user_month", "user_id", "month", "completed_at", "score", "attempt_id"),
        Index("ix_analytics_attempts_user_week", "user_id", "week", "completed_at", "score", "attempt_id"),
        Index("ix_analytics_attempts_path", "path_id", "user_id", "scenario_id", "ending"),
        Index("ix_analytics_attempts_month_zones", "month", "zones_id", "user_id"),
        Index("ix_analytics_attempts_week_zones", "week", "zones_id", "user_id"),
        Index("ix_analytics_attempts_scenario", "scenario_id", "user_id", "score", "ending"),
        # For one cohort (a tenth of the rows, or less) the trainees' rows are looked up by user_id
        # instead; this index has every column those lookups need.
        Index(
            "ix_analytics_attempts_user_all",
            "user_id", "path_id", "zones_id", "month", "week", "scenario_id", "score", "ending",
        ),
    )

    attempt_id: Mapped[str] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    scenario_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    month: Mapped[str | None] = mapped_column(String(10), nullable=True)  # 'YYYY-MM-01', UTC
    week: Mapped[str | None] = mapped_column(String(10), nullable=True)  # its Monday, 'YYYY-MM-DD', UTC
    score: Mapped[float | None] = mapped_column(Float, nullable=True)  # as on the attempt
    ending: Mapped[str | None] = mapped_column(String(16), nullable=True)
    path_id: Mapped[int] = mapped_column(BigInteger)
    zones_id: Mapped[int] = mapped_column(BigInteger)


class PathStep(Base):
    """One step of a shared path: (path, seq) in step order; narration steps have no choice."""

    __tablename__ = "analytics_paths"

    path_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    content_hash: Mapped[str] = mapped_column(String(64))
    node_id: Mapped[str] = mapped_column(String(64))
    choice_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    next_node: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: the last step


class ZoneCount(Base):
    """How many responses of `zone` the zone multiset `zones_id` holds ('' stands for no zone)."""

    __tablename__ = "analytics_zone_sets"

    zones_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    zone: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


# Indexes on `attempts` (owned by tables.py): the dashboard's data version reads
# max(updated_at) and max(reflection_at) on every rerun, and the summary's sync check
# counts and sums the user ids of completed attempts with a score; all become index-only.
ATTEMPT_INDEXES = (
    Index("ix_attempts_updated_at", Attempt.updated_at),
    Index("ix_attempts_reflection_at", Attempt.reflection_at),
    Index("ix_attempts_status_score_user", Attempt.status, Attempt.score, Attempt.user_id),
)
