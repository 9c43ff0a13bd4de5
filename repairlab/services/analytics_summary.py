"""Keeping the per-attempt analytics summaries (`db/tables_analytics.py`) in step with practice.

Practice code knows nothing about this: the summaries are derived from
``attempts`` and ``attempt_steps`` and brought up to date by `refresh`, which
the analytics service calls before it aggregates (only on an uncached
dashboard rerun, i.e. when the data version changed).

**What a summary may rely on.** Once an attempt is completed its steps,
version, scenario, completion time, score and ending never change (practice
refuses further steps; a group session writes a completed attempt and its
steps in one transaction), so a completed attempt is summarised exactly once.
What can still change: its owner (claiming a guest's practice moves attempts
to an account) and, in principle, its existence (a deleted attempt's summary
goes with it, ON DELETE CASCADE).

**The sync check** (one statement, index-only, a few milliseconds) compares
the completed attempts with the summaries: how many, the sum of their user
ids and the sum of their squares. New completions change the count; moving
attempts from one user to another changes the sums (a move of k attempts from
user g to user a changes the first by k(a - g), never 0). When they differ:

1. the attempts updated since the previous refresh of this process (less an
   hour's margin, for late commits and other servers' clocks) are searched
   for missing summaries, through the index on ``updated_at``: the usual case,
   a few new attempts, costs a few milliseconds whatever the program's size;
2. if the check's numbers plus what was added still differ (a first refresh,
   attempts written with old times, as the demo generator does), every
   completed attempt is compared with the summaries;
3. if they still differ, owners are re-read from ``attempts``, summaries of
   attempts that are gone or no longer completed are removed, and missing
   ones are added again.

Summaries are added in batches of `BATCH` attempts, each batch in its own
short write transaction, so a first refresh over a large existing program
never holds the write lock for long and practice keeps recording. The data
version the caller read is remembered: the same version within
`RECHECK_SECONDS` skips even the check (another filter on the same data).

**Concurrent refreshes** (several app processes, several sessions) are
serialised: on SQLite by the store's write lock (``BEGIN IMMEDIATE``), on
PostgreSQL by a transaction-level advisory lock; each re-reads what is missing
after taking the lock, and every insert is ``ON CONFLICT DO NOTHING``. An
attempt completed while a refresh runs is simply summarised by the next one.

**Paths and zone sets.** An attempt's path is its steps in order (node,
choice, zone) within one scenario version; attempts that took the same path
share one dictionary entry (`PathStep` rows), and likewise for the multiset of
their responses' zones (`ZoneCount` rows). Keys are 60 bits of a SHA-256 of the
content, the same in every process; an existing entry is compared with what
would be written, and a mismatch (a hash collision) raises instead of mixing
two paths' counts. Being content-addressed and immutable, entries are read
once per process (`DICTIONARIES`), like parsed scenario versions.

Only completed attempts with a score (the dashboard's population) are
summarised; every completed attempt has one.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, cast, delete, exists, func, select, text, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import Attempt, AttemptStep, as_utc
from ..db.tables_analytics import AttemptSummary, PathStep, ZoneCount

BATCH = 2000  # attempts summarised per write transaction
ANALYZE_AFTER = 5000  # attempts added by one refresh after which PostgreSQL vacuums and analyses
RECHECK_SECONDS = 60.0  # an unchanged data version skips the sync check for at most this long
WATERMARK_MARGIN = timedelta(hours=1)  # new completions are looked for among attempts updated since
CHUNK = 500  # ids per IN (...) list
LOCK_KEY = 7_140_233_905_118_306  # pg_advisory_xact_lock key for refreshes ("rl-analytics")
COMPLETED = "completed"
# The attempts that have a summary: the dashboard's population, completed attempts with a score
# (every completed attempt has one; an attempt recorded without would be left out of the charts).
SUMMARISED = (Attempt.status == COMPLETED, Attempt.score.is_not(None))


class SummaryCollision(RuntimeError):
    """Two different paths (or zone sets) hashed to the same key; never expected in practice."""


@dataclass(frozen=True)
class SyncState:
    attempts: tuple[int, int, int]  # completed (scored) attempts: count, sum of user ids, of their squares
    summaries: tuple[int, int, int]
    latest_update: datetime | None = None  # max(attempts.updated_at) when this was read

    @property
    def in_sync(self) -> bool:
        return self.attempts == self.summaries

    def plus(self, user_ids: Sequence[int]) -> SyncState:
        """The state once summaries of attempts by `user_ids` are added."""
        n, total, squares = self.summaries
        added = (n + len(user_ids), total + sum(user_ids), squares + sum(u * u for u in user_ids))
        return SyncState(self.attempts, added, self.latest_update)


# -- what one attempt's summary holds (pure functions) ------------------------------------------------


Step = tuple[str, str | None, str | None]  # (node, choice or None for narration, zone)


def key_of(text_: str) -> int:
    """60 bits of the SHA-256 of `text_`: positive and within a signed 64-bit BIGINT."""
    return int.from_bytes(hashlib.sha256(text_.encode("utf-8")).digest()[:8], "big") >> 4


def path_key(content_hash: str, steps: Sequence[Step]) -> int:
    body = "\x1e".join(f"{node}\x1f{choice or ''}\x1f{zone or ''}" for node, choice, zone in steps)
    return key_of(f"path\x1d{content_hash}\x1d{body}")


def zone_multiset(steps: Sequence[Step]) -> Counter[str]:
    """The zones of the responses (narration has none); '' for a response stored without a zone."""
    return Counter(zone or "" for _, choice, zone in steps if choice is not None)


def zones_key(zones: Counter[str]) -> int:
    return key_of("zones\x1d" + "\x1e".join(f"{zone}\x1f{n}" for zone, n in sorted(zones.items())))


def path_rows(path_id: int, content_hash: str, steps: Sequence[Step]) -> list[dict]:
    return [
        {
            "path_id": path_id, "seq": seq, "content_hash": content_hash, "node_id": node, "choice_id": choice,
            "zone": zone, "next_node": steps[seq + 1][0] if seq + 1 < len(steps) else None,
        }
        for seq, (node, choice, zone) in enumerate(steps)
    ]


def month_of(moment: datetime | None) -> str | None:
    """'YYYY-MM-01' of the UTC month, as `analytics_sql.period(..., "month")` computes it in SQL."""
    if moment is None:
        return None
    return f"{as_utc(moment).astimezone(UTC):%Y-%m}-01"


def week_of(moment: datetime | None) -> str | None:
    """The Monday on or before the UTC day, 'YYYY-MM-DD', as `analytics_sql.period(..., "week")`."""
    if moment is None:
        return None
    day = as_utc(moment).astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


# -- the refresher --------------------------------------------------------------------------------


class AnalyticsSummary:
    """Brings ``analytics_attempts`` (and the shared paths and zone sets) up to date."""

    def __init__(self, store: Store, batch: int = BATCH) -> None:
        self.store = store
        self.batch = batch
        self._checked: tuple[tuple, float] | None = None  # (data version, monotonic time) last in sync
        self._watermark: datetime | None = None  # max(attempts.updated_at) at the last refresh

    # -- checking ------------------------------------------------------------------------------------

    def state(self, session: Session | None = None) -> SyncState:
        """The sync check: one statement, index-only on both tables (a few milliseconds)."""
        if session is None:
            with self.store.read() as fresh:
                return self.state(fresh)

        def sums(user_id, *where):  # type: ignore[no-untyped-def]
            return (
                select(func.count().label("n"), func.sum(user_id).label("s"),
                       func.sum(cast(user_id, BigInteger) * user_id).label("q"))
                .select_from(user_id.table)
                .where(*where)
                .subquery()
            )

        attempts, summaries = sums(Attempt.user_id, *SUMMARISED), sums(AttemptSummary.user_id)
        latest = select(func.max(Attempt.updated_at)).scalar_subquery()
        row = session.execute(
            select(*attempts.c, *summaries.c, latest).select_from(attempts.join(summaries, true()))
        ).one()
        values = tuple(int(v or 0) for v in row[:6])
        return SyncState(values[:3], values[3:], row[6])  # type: ignore[arg-type]

    # -- refreshing ----------------------------------------------------------------------------------

    def refresh(self, version: tuple | None = None) -> int:
        """Summarise what is missing (and repair moved or removed attempts); returns attempts added.

        `version` is the analytics data version (`AnalyticsService.data_version`, which changes
        with every completed attempt, new user and deletion) read *before* calling: when the
        summaries were found in sync under the same version less than `RECHECK_SECONDS` ago, even
        the sync check is skipped (a new filter on unchanged data costs nothing here).

        Attempts completed since the last refresh of this process are looked for among those
        updated since then (less `WATERMARK_MARGIN`, for transactions that committed late and
        clocks of other servers), through the index on ``updated_at``; only if the sync check
        still disagrees afterwards are all attempts compared with the summaries.
        """
        now = time.monotonic()
        checked = self._checked
        if version is not None and checked is not None and checked[0] == version and now - checked[1] < RECHECK_SECONDS:
            return 0
        state = self.state()
        added: list[int] = []
        if not state.in_sync:
            if self._watermark is not None:
                added += self._add_missing(since=as_utc(self._watermark) - WATERMARK_MARGIN)
            if not state.plus(added).in_sync:
                added += self._add_missing()
            if not state.plus(added).in_sync:
                # Owners changed (claimed guest practice) or attempts went away, or other processes
                # summarised or completed attempts meanwhile: compare everything once more.
                with self.store.write() as session:
                    self._lock(session)
                    self._repair(session)
                added += self._add_missing()
        self._watermark = state.latest_update
        if len(added) >= ANALYZE_AFTER and not self.store.is_sqlite:
            self._analyze()
        if version is not None:
            self._checked = (version, now)
        return len(added)

    def _analyze(self) -> None:
        """PostgreSQL, after a large backfill: planner statistics and the visibility map (which
        index-only scans need), rather than waiting up to a minute for autovacuum. VACUUM cannot
        run inside a transaction, hence a connection of its own in autocommit mode."""
        with self.store.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) analytics_attempts, analytics_paths, analytics_zone_sets"))

    def rebuild(self) -> int:
        """Forget every summary and summarise everything again (for repairs and tests)."""
        with self.store.write() as session:
            self._lock(session)
            for table in (AttemptSummary, PathStep, ZoneCount):
                session.execute(delete(table))
        self._checked = None
        return len(self._add_missing())

    def _add_missing(self, since: datetime | None = None) -> list[int]:
        """Summarise attempts without a summary (updated since `since`, if given), a batch per
        transaction; returns the user ids of the attempts summarised."""
        added: list[int] = []
        while True:
            with self.store.write() as session:
                self._lock(session)
                found = self._missing(session, since)
                if found:
                    self._summarise(session, found)
            added += [a.user_id for a in found]
            if len(found) < self.batch:
                return added

    def _lock(self, session: Session) -> None:
        if not self.store.is_sqlite:  # SQLite: the write transaction already excludes other writers
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})

    def _missing(self, session: Session, since: datetime | None = None) -> list:
        summarised = exists().where(AttemptSummary.attempt_id == Attempt.id)
        if since is None:
            conditions = [*SUMMARISED]
        else:
            # The recent attempts through the index on updated_at: ``status || ''`` keeps SQLite
            # (no statistics) from preferring the index on status, which holds every completed one.
            conditions = [Attempt.status.concat("") == COMPLETED, Attempt.score.is_not(None), Attempt.updated_at >= since]
        return session.execute(
            select(
                Attempt.id, Attempt.user_id, Attempt.scenario_id, Attempt.content_hash, Attempt.completed_at,
                Attempt.score, Attempt.ending,
            )
            .where(*conditions, ~summarised)
            .limit(self.batch)
        ).all()

    def _repair(self, session: Session) -> None:
        owner = select(Attempt.user_id).where(Attempt.id == AttemptSummary.attempt_id).scalar_subquery()
        session.execute(
            update(AttemptSummary).where(AttemptSummary.user_id != owner).values(user_id=owner),
            execution_options={"synchronize_session": False},
        )
        still_completed = exists().where(Attempt.id == AttemptSummary.attempt_id, *SUMMARISED)
        session.execute(
            delete(AttemptSummary).where(~still_completed), execution_options={"synchronize_session": False}
        )

    def _summarise(self, session: Session, attempts: Sequence) -> None:
        steps: dict[str, list[Step]] = {a.id: [] for a in attempts}
        for chunk in chunks([a.id for a in attempts], CHUNK):
            for attempt_id, node, choice, zone in session.execute(
                select(AttemptStep.attempt_id, AttemptStep.node_id, AttemptStep.choice_id, AttemptStep.zone)
                .where(AttemptStep.attempt_id.in_(chunk))
                .order_by(AttemptStep.attempt_id, AttemptStep.step_no)
            ):
                steps[attempt_id].append((node, choice, zone))
        paths: dict[int, list[dict]] = {}
        zone_sets: dict[int, Counter[str]] = {}
        summaries = []
        for a in attempts:
            taken = steps[a.id]
            path_id = path_key(a.content_hash, taken)
            rows = path_rows(path_id, a.content_hash, taken)
            if paths.setdefault(path_id, rows) != rows:
                raise SummaryCollision(f"path key {path_id} names two paths")
            zones = zone_multiset(taken)
            zones_id = zones_key(zones)
            if zone_sets.setdefault(zones_id, zones) != zones:
                raise SummaryCollision(f"zone set key {zones_id} names two zone sets")
            summaries.append(
                {
                    "attempt_id": a.id, "user_id": a.user_id, "scenario_id": a.scenario_id,
                    "content_hash": a.content_hash, "completed_at": a.completed_at,
                    "month": month_of(a.completed_at), "week": week_of(a.completed_at), "score": a.score,
                    "ending": a.ending, "path_id": path_id, "zones_id": zones_id,
                }
            )
        self._add_paths(session, paths)
        self._add_zone_sets(session, zone_sets)
        self._insert(session, AttemptSummary, summaries)

    def _add_paths(self, session: Session, paths: dict[int, list[dict]]) -> None:
        stored: dict[int, list[tuple]] = {}
        for chunk in chunks(sorted(paths), CHUNK):
            for row in session.execute(
                select(PathStep.path_id, PathStep.seq, PathStep.content_hash, PathStep.node_id, PathStep.choice_id,
                       PathStep.zone, PathStep.next_node)
                .where(PathStep.path_id.in_(chunk))
                .order_by(PathStep.path_id, PathStep.seq)
            ):
                stored.setdefault(row.path_id, []).append(tuple(row))
        new = []
        for path_id, rows in sorted(paths.items()):
            if path_id in stored or not rows:
                wanted = [tuple(r.values()) for r in rows]
                if stored.get(path_id, []) != wanted:
                    raise SummaryCollision(f"path key {path_id} already names another path")
                continue
            new.extend(rows)
        self._insert(session, PathStep, new)

    def _add_zone_sets(self, session: Session, zone_sets: dict[int, Counter[str]]) -> None:
        stored: dict[int, Counter[str]] = {}
        for chunk in chunks(sorted(zone_sets), CHUNK):
            for zones_id, zone, n in session.execute(
                select(ZoneCount.zones_id, ZoneCount.zone, ZoneCount.n).where(ZoneCount.zones_id.in_(chunk))
            ):
                stored.setdefault(zones_id, Counter())[zone] = n
        new = []
        for zones_id, zones in sorted(zone_sets.items()):
            if zones_id in stored or not zones:
                if stored.get(zones_id, Counter()) != zones:
                    raise SummaryCollision(f"zone set key {zones_id} already names another zone set")
                continue
            new.extend({"zones_id": zones_id, "zone": zone, "n": n} for zone, n in sorted(zones.items()))
        self._insert(session, ZoneCount, new)

    def _insert(self, session: Session, table: type, rows: list[dict]) -> None:
        if not rows:
            return
        dialect = sqlite if self.store.is_sqlite else postgresql
        statement = dialect.insert(table).on_conflict_do_nothing()
        for chunk in chunks(rows, CHUNK):
            session.execute(statement, chunk)


# -- reading the shared dictionaries ------------------------------------------------------------------


@dataclass(frozen=True)
class PathInfo:
    content_hash: str
    steps: tuple[tuple[str, str | None, str | None, str | None], ...]  # (node, choice, zone, next node)


class Dictionaries:
    """path id -> `PathInfo`, zone set id -> ((zone, n), ...): read once per process, thread-safe.

    Entries are content-addressed (the key is a hash of the content) and never change, so they
    are cached for the life of the process, like parsed scenario versions, whatever the database.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paths: dict[int, PathInfo] = {}
        self._zone_sets: dict[int, tuple[tuple[str, int], ...]] = {}

    def paths(self, session: Session, ids: Iterable[int]) -> dict[int, PathInfo]:
        found, missing = self._known(self._paths, ids)
        if missing:
            read: dict[int, list] = {}
            for chunk in chunks(missing, CHUNK):
                for row in session.connection().execute(
                    select(PathStep.path_id, PathStep.content_hash, PathStep.node_id, PathStep.choice_id,
                           PathStep.zone, PathStep.next_node)
                    .where(PathStep.path_id.in_(chunk))
                    .order_by(PathStep.path_id, PathStep.seq)
                ).all():
                    read.setdefault(row.path_id, []).append(row)
            parsed = {
                path_id: PathInfo(rows[0].content_hash, tuple((r.node_id, r.choice_id, r.zone, r.next_node) for r in rows))
                for path_id, rows in read.items()
            }
            with self._lock:
                self._paths.update(parsed)
            found.update(parsed)
        return found

    def zone_sets(self, session: Session, ids: Iterable[int]) -> dict[int, tuple[tuple[str, int], ...]]:
        found, missing = self._known(self._zone_sets, ids)
        if missing:
            read: dict[int, list[tuple[str, int]]] = {}
            for chunk in chunks(missing, CHUNK):
                for zones_id, zone, n in session.connection().execute(
                    select(ZoneCount.zones_id, ZoneCount.zone, ZoneCount.n)
                    .where(ZoneCount.zones_id.in_(chunk))
                    .order_by(ZoneCount.zones_id, ZoneCount.zone)
                ).all():
                    read.setdefault(zones_id, []).append((zone, int(n)))
            parsed = {zones_id: tuple(pairs) for zones_id, pairs in read.items()}
            with self._lock:
                self._zone_sets.update(parsed)
            found.update(parsed)
        return found

    def _known(self, cache: dict, ids: Iterable[int]) -> tuple[dict, list[int]]:
        wanted = set(ids)
        with self._lock:
            found = {i: cache[i] for i in wanted if i in cache}
        return found, sorted(wanted - set(found))

    def clear(self) -> None:
        with self._lock:
            self._paths.clear()
            self._zone_sets.clear()


DICTIONARIES = Dictionaries()


def chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    """Consecutive slices of at most `size` items (IN lists stay within the drivers' limits)."""
    for index in range(0, len(items), size):
        yield items[index : index + size]


__all__ = ["DICTIONARIES", "AnalyticsSummary", "Dictionaries", "PathInfo", "SummaryCollision", "SyncState", "chunks"]
