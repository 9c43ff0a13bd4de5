"""The few SQL expressions that differ between SQLite and PostgreSQL.

* **Periods.** A timestamp's week (starting Monday) or month, as the text
  ``YYYY-MM-DD`` of the period's first day, in UTC, identical on both
  backends so results compare and cache the same way. The dashboard reads
  them precomputed from the per-attempt summaries
  (`analytics_summary.month_of` / `week_of`, tested to equal `period` on both
  backends); `period` remains the definition, and what the tests compare the
  summaries with.
* **Medians.** PostgreSQL has ``percentile_cont(0.5) WITHIN GROUP (ORDER BY
  x)``; SQLite has no median at all. The portable way used on SQLite (and
  available on PostgreSQL for comparison) ranks the rows of each group with
  window functions and averages the middle one or two:
  ``row_number() OVER (PARTITION BY g ORDER BY x)`` as *rn* and ``count(*)
  OVER (PARTITION BY g)`` as *n*; the middle rows are those with
  ``n <= 2*rn <= n + 2``. Both give the same value (the mean of the two
  middle values for an even count); `bench/bench_analytics.py` times them.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import ColumnElement, and_, case, func

Grain = Literal["week", "month"]
GRAINS: tuple[Grain, ...] = ("week", "month")


def period(column: ColumnElement, grain: Grain, dialect: str) -> ColumnElement[str]:
    """The first day (``YYYY-MM-DD``, UTC) of the week or month `column` falls in."""
    if grain not in GRAINS:
        raise ValueError(f"unknown period grain {grain!r}")
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC (the app writes UTC only).
        if grain == "month":
            return func.strftime("%Y-%m-01", column)
        return func.date(column, "-6 days", "weekday 1")  # the Monday on or before
    utc = func.timezone("UTC", column)
    return func.to_char(func.date_trunc(grain, utc), "YYYY-MM-DD")


def middle_rows(rank: ColumnElement[int], total: ColumnElement[int]) -> ColumnElement[bool]:
    """True for the one or two middle rows of a group (rank 1-based, total rows)."""
    return and_(rank * 2 >= total, rank * 2 <= total + 2)


def median_of_ranked(value: ColumnElement, rank: ColumnElement[int], total: ColumnElement[int]) -> ColumnElement:
    """``avg`` over the middle rows only: the median of a ranked group."""
    return func.avg(case((middle_rows(rank, total), value)))


def percentile_median(value: ColumnElement) -> ColumnElement:
    """PostgreSQL's exact median (``percentile_cont(0.5)``)."""
    return func.percentile_cont(0.5).within_group(value)

