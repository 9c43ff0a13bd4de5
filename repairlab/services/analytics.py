"""Cohort analytics: what a program tracks over years, aggregated in SQL and scoped.

Who sees what (the rules of `access.py`, applied in every WHERE clause):

* a **supervisor** sees the trainees enrolled in the cohorts they supervise,
  with their real names; an **admin** sees every cohort;
* a **trainee** gets no dashboard, only `trainee_trend`: their own scores
  against the *anonymous* median of their cohorts, shown only for periods in
  which at least `MIN_PEERS` trainees took part, so no single person's score
  can be read off it;
* trainees whose personal data was deleted keep counting, anonymously, in
  every cohort aggregate (medians, zones, dimension means, choices, paths,
  strategies); they never appear as a person (no line, no growth row, no
  reflection, no link to an attempt).

The population of every aggregate is the **completed** attempts of trainees
enrolled in a visible cohort (optionally one cohort, one scenario, and a
range of completion dates). Nothing here loads every row: each aggregate is
one ``SELECT ... GROUP BY`` over the per-attempt summaries
(`analytics_summary`, table ``analytics_attempts``: one narrow row per
completed attempt with its periods precomputed and keys to the path it took
and to the multiset of its responses' zones), brought up to date before the
queries run. The largest result has one row per (trainee, period). Response
counts are attempts grouped by path (a few hundred groups) times the
responses on each path; zones per period likewise through the zone
multisets; no query joins the tens of thousands of steps to their attempts.
What a choice *means* (its repair strategies, zone and per-dimension scores)
comes from the scenario version it was played on (`analytics_versions`), so
per-dimension means are weighted sums over those grouped counts: exactly the
mean of the stored step scores, which the tests check against a direct
``AVG`` over ``step_scores``, and every aggregate is checked against the same
aggregate computed straight from ``attempts`` and ``attempt_steps``.

On PostgreSQL every query of one dashboard reads one REPEATABLE READ snapshot;
for a large population (`PARALLEL_FROM` trainees or more) the per-trainee
aggregates run on worker connections that import that snapshot, beside the
other queries (`Concurrent`), so the server's time overlaps the Python work.
"""

from __future__ import annotations

import operator
import re
import statistics
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, NamedTuple, TypeVar

import pandas as pd
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.orm import Session

from engine import Rubric

from ..db import Store
from ..db.tables import Attempt, Cohort, CohortMember, ScenarioVersion, User, as_utc, utcnow
from ..db.tables_analytics import AttemptSummary as S
from ..db.tables_analytics import PathStep, ZoneCount
from . import audit
from .access import TRAINEE, Actor, Viewer, actor, cohort_scope, record_scope
from .analytics_sql import GRAINS, Grain, median_of_ranked, middle_rows, percentile_median
from .analytics_summary import DICTIONARIES, AnalyticsSummary, chunks
from .analytics_versions import VERSIONS, VersionCache, VersionInfo
from .errors import Forbidden, NotFound, UserFacingError

MIN_PEERS = 3  # a cohort median is shown to a trainee only over at least this many trainees
DELETED_LABEL = "Deleted trainee"
VIEW_REFLECTIONS = "view_reflections"
NO_COHORT = "There is no such cohort among the cohorts you can see."
REFLECTIONS_LIMIT = 200
T = TypeVar("T")


# -- what callers ask for and get back ------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the dashboard is looking at; every field optional. Dates are inclusive, in UTC."""

    cohort_id: int | None = None
    scenario_id: str | None = None
    start: date | None = None
    end: date | None = None
    grain: Grain = "month"

    def __post_init__(self) -> None:
        if self.grain not in GRAINS:
            raise UserFacingError(f"Periods are weeks or months, not '{self.grain}'.")
        if self.start and self.end and self.start > self.end:
            raise UserFacingError("The start date is after the end date; swap them to see anything.")


@dataclass(frozen=True)
class CohortOption:
    id: int
    name: str
    year: int | None
    trainees: int


@dataclass
class Dashboard:
    """Everything the dashboard draws, as small frames (picklable, so Streamlit can cache it).

    Frames and their columns (one row per ...):

    * ``trainee_periods`` (trainee, period): trainee_key, trainee, period, mean_score,
      attempts, attempt_id (the latest attempt of that trainee in that period);
    * ``cohort_periods`` (period): period, median_score, attempts, trainees;
    * ``growth`` (trainee with 2+ attempts): trainee_key, trainee, attempts, first_score,
      first_at, first_attempt, latest_score, latest_at, latest_attempt, change;
    * ``zone_periods`` (period, zone of the response): period, zone, zone_label, responses;
    * ``dimensions`` (rubric dimension): dimension, label, min, max, ideal, mean, choices;
    * ``choices`` (decision, choice; one scenario only): node, node_label, decision,
      position, choice, choice_text, zone, zone_label, choice_score, best, picks, share;
    * ``transitions`` (source, target; one scenario only): source, target, source_label,
      target_label, attempts, choices (e.g. "own-it 12, grovel 3");
    * ``strategies`` (strategy): strategy, label, choices, share;
    * ``scenarios`` (scenario): scenario_id, title, attempts, trainees, mean_score,
      repaired_share.
    """

    filters: Filters
    summary: dict[str, float | int | None]
    trainee_periods: pd.DataFrame
    cohort_periods: pd.DataFrame
    growth: pd.DataFrame
    zone_periods: pd.DataFrame
    dimensions: pd.DataFrame
    choices: pd.DataFrame
    transitions: pd.DataFrame
    strategies: pd.DataFrame
    scenarios: pd.DataFrame
    zones: list[tuple[str, str]] = field(default_factory=list)  # (id, label) in rubric order
    scenario_title: str | None = None
    pseudonymous: bool = False


@dataclass
class Trend:
    """A trainee's own trend against their cohorts' anonymous median.

    * ``own`` (period): period, mean_score, attempts, attempt_id;
    * ``cohort`` (period, only periods with at least MIN_PEERS trainees): period,
      median_score, attempts, trainees.
    """

    own: pd.DataFrame
    cohort: pd.DataFrame
    cohorts: list[str]
    grain: Grain


@dataclass(frozen=True)
class Reflection:
    attempt_id: str
    trainee: str
    scenario_id: str
    title: str
    completed_at: datetime | None
    score: float | None
    zone: str | None
    text: str
    written_at: datetime | None


@dataclass
class TraineePeriods:
    """Per (trainee, period), as columns (a few thousand rows: no object per row)."""

    user_ids: Sequence[int]
    periods: Sequence[str]
    attempts: Sequence[int]
    means: Sequence[float]
    attempt_ids: Sequence[str]  # the latest attempt of the trainee in the period

    @classmethod
    def of(cls, rows: Iterable[tuple[int, str, int, float, str]]) -> TraineePeriods:
        return cls(*_columns(list(rows), 5))

    def summary(self) -> dict[str, float | int | None]:
        """The dashboard's trainee and attempt figures (anonymous deleted trainees included)."""
        attempts = sum(self.attempts)
        total = sum(map(operator.mul, self.means, self.attempts))
        return {
            "trainees": len(set(self.user_ids)),
            "attempts": attempts,
            "choices": 0,
            "in_progress": 0,
            "mean_score": (total / attempts) if attempts else None,
        }


class GrowthRow(NamedTuple):
    user_id: int
    attempts: int
    first_id: str
    first_score: float
    first_at: datetime
    latest_id: str
    latest_score: float
    latest_at: datetime


TRAINEE_PERIOD_COLUMNS = ["trainee_key", "trainee", "period", "mean_score", "attempts", "attempt_id"]
COHORT_PERIOD_COLUMNS = ["period", "median_score", "attempts", "trainees"]
GROWTH_COLUMNS = [
    "trainee_key", "trainee", "attempts", "first_score", "first_at", "first_attempt",
    "latest_score", "latest_at", "latest_attempt", "change",
]
ZONE_COLUMNS = ["period", "zone", "zone_label", "responses"]
DIMENSION_COLUMNS = ["dimension", "label", "min", "max", "ideal", "mean", "choices"]
CHOICE_COLUMNS = [
    "node", "node_label", "decision", "position", "choice", "choice_text", "zone", "zone_label",
    "choice_score", "best", "picks", "share",
]
TRANSITION_COLUMNS = ["source", "target", "source_label", "target_label", "attempts", "choices"]
STRATEGY_COLUMNS = ["strategy", "label", "choices", "share"]
SCENARIO_COLUMNS = ["scenario_id", "title", "attempts", "trainees", "mean_score", "repaired_share"]
OWN_COLUMNS = ["period", "mean_score", "attempts", "attempt_id"]


# -- the population: scoped, filtered attempts ----------------------------------------------------------


def day_bounds(filters: Filters) -> tuple[datetime | None, datetime | None]:
    start = datetime.combine(filters.start, time.min, UTC) if filters.start else None
    end = datetime.combine(filters.end + timedelta(days=1), time.min, UTC) if filters.end else None
    return start, end


def _people_in_scope(who: Actor, filters: Filters, user_id: ColumnElement[int]) -> list[ColumnElement[bool]]:
    """Supervisors and admins: trainees enrolled in a cohort within `cohort_scope` (one cohort if
    filtered), who are also within `record_scope`, or whose personal data was deleted (anonymous,
    aggregate only). Trainees: themselves (`record_scope`)."""
    if who.is_admin or who.is_supervisor:
        enrolled = select(CohortMember.user_id).where(
            CohortMember.role == TRAINEE, cohort_scope(who, CohortMember.cohort_id)
        )
        if filters.cohort_id is not None:
            enrolled = enrolled.where(CohortMember.cohort_id == filters.cohort_id)
        deleted = select(User.id).where(User.deleted_at.is_not(None))
        return [user_id.in_(enrolled), or_(record_scope(who, user_id), user_id.in_(deleted))]
    return [record_scope(who, user_id)]


def population(
    who: Actor, filters: Filters, completed: bool = True, user_id: ColumnElement[int] = Attempt.user_id
) -> list[ColumnElement[bool]]:
    """WHERE conditions on `Attempt` for what `who` may analyse under `filters`.

    Supervisors and admins: attempts of trainees enrolled in a cohort within
    `cohort_scope` (one cohort if filtered), who are also within
    `record_scope`, or whose personal data was deleted (anonymous, aggregate
    only). Trainees: their own attempts (`record_scope`). `completed=False`:
    every attempt, by when it started. `user_id`: the expression the scope is
    written on (``Attempt.user_id + 0`` keeps SQLite off that index).
    """
    conditions = _people_in_scope(who, filters, user_id)
    if completed:
        conditions += [Attempt.status == "completed", Attempt.score.is_not(None)]
    moment = Attempt.completed_at if completed else Attempt.started_at
    return conditions + _scenario_and_days(filters, Attempt.scenario_id, moment)


def _scenario_and_days(
    filters: Filters, scenario_id: ColumnElement[str], moment: ColumnElement[datetime]
) -> list[ColumnElement[bool]]:
    """The filters' scenario and date range as conditions on these columns."""
    conditions = [scenario_id == filters.scenario_id] if filters.scenario_id else []
    start, end = day_bounds(filters)
    if start is not None:
        conditions.append(moment >= start)
    if end is not None:
        conditions.append(moment < end)
    return conditions


def summary_population(
    who: Actor, filters: Filters, dialect: str = "sqlite", session: Session | None = None
) -> list[ColumnElement[bool]]:
    """`population(who, filters)` as WHERE conditions on the summaries (`AttemptSummary`: one row per
    completed attempt with a score; see `analytics_summary`).

    An administrator's whole program is nearly every row, so two things keep it cheap:

    * given a `session`, it first checks (one pass over ~500 trainee ids) whether *every* trainee
      with a summary is in scope; if so the scope condition holds for every row and is left out,
      instead of being evaluated for each of the 20,000 rows by each query;
    * otherwise, on SQLite, the condition is written on ``user_id + 0`` (same value, no index):
      SQLite, which has no statistics, would look the trainees up one by one through an index on
      ``user_id``, whereas scanning the index that already has each query's GROUP BY order and
      every column it reads is several times faster.

    A supervisor's or one cohort's trainees are few: given a `session`, their ids are read first
    and written into the queries (`_ids_in_scope`).
    """
    return _summary_scope(who, filters, dialect, session)[0]


def _summary_scope(
    who: Actor, filters: Filters, dialect: str = "sqlite", session: Session | None = None
) -> tuple[list[ColumnElement[bool]], int | None]:
    """`summary_population`, and how many trainees are in scope when their ids were read (None:
    not counted, e.g. a whole program)."""
    everyone = who.is_admin and filters.cohort_id is None
    analyst_view = who.is_admin or who.is_supervisor
    trainees = None
    if everyone and session is not None and _all_in_scope(session, who, filters):
        conditions = []
    elif not everyone and analyst_view and session is not None and (ids := _ids_in_scope(session, who, filters)) is not None:
        conditions = [S.user_id.in_(ids)]
        trainees = len(ids)
    else:
        user_id = S.user_id + 0 if everyone and dialect == "sqlite" else S.user_id
        conditions = _people_in_scope(who, filters, user_id)
    return conditions + _scenario_and_days(filters, S.scenario_id, S.completed_at), trainees


def _ids_in_scope(session: Session, who: Actor, filters: Filters, limit: int = 2000) -> list[int] | None:
    """The trainees in scope of a supervisor or of one cohort, as a list of ids (None if more than
    `limit`): with the ids written out, both databases know how few rows qualify and read just
    theirs through the summaries' index on ``user_id`` (PostgreSQL cannot estimate the nested
    scope subqueries and would scan every summary for each query)."""
    ids = session.connection().execute(
        select(CohortMember.user_id)
        .where(*_people_in_scope(who, filters, CohortMember.user_id))
        .group_by(CohortMember.user_id)
        .order_by(CohortMember.user_id)
        .limit(limit + 1)
    ).scalars().all()
    return None if len(ids) > limit else list(ids)


def _all_in_scope(session: Session, who: Actor, filters: Filters) -> bool:
    """True if every trainee who has a summary is within `_people_in_scope` (e.g. an administrator,
    no cohort filter, and no one practising outside a cohort).

    Asked from the users' side: the few users outside the scope (staff, guests, people in no
    cohort) are looked up in the summaries' index on ``user_id``, rather than every summary
    being grouped by user (a summary's user always exists: attempts reference their user)."""
    outside = session.connection().execute(
        select(User.id)
        .where(~and_(*_people_in_scope(who, filters, User.id)), exists().where(S.user_id == User.id))
        .limit(1)
    ).first()
    return outside is None


def period_column(grain: Grain) -> ColumnElement[str]:
    """The summary's precomputed period (the same text `analytics_sql.period` computes in SQL)."""
    if grain not in GRAINS:
        raise ValueError(f"unknown period grain {grain!r}")
    return S.month if grain == "month" else S.week


def analyst(session: Session, viewer: Viewer | None, filters: Filters | None = None) -> Actor:
    """The viewer, who must be a supervisor or admin, and may see `filters.cohort_id`."""
    who = actor(session, viewer)
    if not (who.is_admin or who.is_supervisor):
        raise Forbidden("Cohort dashboards are for supervisors and administrators.")
    if filters is not None and filters.cohort_id is not None:
        visible = session.scalar(
            select(Cohort.id).where(Cohort.id == filters.cohort_id, cohort_scope(who, Cohort.id))
        )
        if visible is None:
            raise NotFound(NO_COHORT)
    return who


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    pseudonym: str
    username: str | None
    email: str | None
    deleted: bool

    def label(self, pseudonymous: bool) -> str:
        if self.deleted:
            return DELETED_LABEL
        return self.pseudonym if pseudonymous else self.name

    def key(self) -> str:
        return "deleted" if self.deleted else f"t{self.id}"


def people(session: Session, user_ids: Iterable[int]) -> dict[int, Person]:
    ids = sorted(set(user_ids))
    found: dict[int, Person] = {}
    connection = session.connection()
    columns = (User.id, User.display_name, User.pseudonym, User.username, User.email, User.deleted_at)
    if connection.dialect.name == "postgresql":  # one array parameter, not hundreds of bound values
        queries = [select(*columns).where(User.id == any_(bindparam("ids", ids, type_=ARRAY(Integer))))] if ids else []
    else:
        queries = [select(*columns).where(User.id.in_(chunk)) for chunk in chunks(ids, 900)]
    for query in queries:
        for user_id, name, pseudonym, username, email, deleted_at in connection.execute(query).all():
            found[user_id] = Person(
                user_id, name, pseudonym or f"Trainee #{user_id}", username, email, deleted_at is not None
            )
    return found


def cohort_names(session: Session, who: Actor, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Visible cohorts each trainee is enrolled in (names, alphabetical)."""
    ids = sorted(set(user_ids))
    names: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks(ids, 900):
        query = (
            select(CohortMember.user_id, Cohort.name)
            .join(Cohort, Cohort.id == CohortMember.cohort_id)
            .where(CohortMember.user_id.in_(chunk), CohortMember.role == TRAINEE)
            .order_by(Cohort.name)
        )
        if who.is_admin or who.is_supervisor:
            query = query.where(cohort_scope(who, Cohort.id))
        for user_id, name in session.connection().execute(query).all():
            names[user_id].append(name)
    return names


def _iso_day(moment: datetime | str | None) -> str | None:
    """The UTC day of a time (a datetime, or SQLite's stored UTC text)."""
    if moment is None or isinstance(moment, str):
        return moment[:10] if moment else None
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%d")


def _median(listed: str) -> float:
    """The median of a comma-separated list of numbers."""
    return statistics.median(map(float, listed.split(",")))


# -- the service ----------------------------------------------------------------------------------


WORKERS = 3  # PostgreSQL: connections beside the main one that run a dashboard's queries concurrently
PARALLEL_FROM = 100  # trainees in scope from which they do (fewer: the workers' set-up costs more)
WORK_MEM = "SET LOCAL work_mem = '32MB'"  # PostgreSQL: room to hash-aggregate in memory (one transaction)
_SNAPSHOT_ID = re.compile(r"[0-9A-Fa-f-]+")
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="repairlab-analytics")
        return _pool


class _Done(Generic[T]):
    """A result computed already (the `Future` interface `Concurrent.submit` returns)."""

    def __init__(self, value: T) -> None:
        self.value = value

    def result(self) -> T:
        return self.value


class Concurrent:
    """Runs a dashboard's independent queries, each as ``fn(session, *args)``.

    PostgreSQL, once `parallel` was called (worth it for a large population only: each worker's
    connection costs a few round trips): the main transaction is REPEATABLE READ and exports its
    snapshot; the queries submitted run on worker threads (`WORKERS`), each on a connection whose
    transaction imports that snapshot (``SET TRANSACTION SNAPSHOT``), so every query sees exactly
    the same data (as one transaction would) while the waits for the server overlap. A worker sets
    its connection up once and runs every query it picks up on it: each round trip a worker waits
    for also costs a wait for the GIL, up to the interpreter's switch interval (5 ms) while
    another thread runs Python. Otherwise, and on SQLite (one core, and one snapshot per
    connection), each query runs at once, in the main session. Leaving the block waits for every
    query submitted, so the exporting transaction outlives its importers, then gives the workers'
    connections back.
    """

    def __init__(self, service: AnalyticsService, session: Session) -> None:
        self.service = service
        self.session = session
        self.snapshot: str | None = None
        self.futures: list[Future] = []
        self._lock = threading.Lock()
        self._workers: dict[int, tuple[Connection, Session]] = {}  # worker thread -> its connection

    def __enter__(self) -> Concurrent:
        if self.service.dialect == "postgresql":
            # REPEATABLE READ from the start (no round trip of its own), should the queries go
            # parallel (`parallel`): the snapshot they share is the one this transaction sees.
            self.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return self

    def parallel(self) -> None:
        """From now on run what is submitted on the workers (PostgreSQL; SQLite: no change)."""
        if self.service.dialect == "postgresql" and self.snapshot is None:
            snapshot = self.session.connection().exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            if isinstance(snapshot, str) and _SNAPSHOT_ID.fullmatch(snapshot):
                self.snapshot = snapshot

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T] | _Done[T]:
        if self.snapshot is None:
            return _Done(fn(self.session, *args))
        future = _workers().submit(self._run, fn, args)
        self.futures.append(future)
        return future

    def _run(self, fn: Callable[..., T], args: tuple) -> T:
        return fn(self._worker_session(), *args)

    def _worker_session(self) -> Session:
        """This worker thread's session: its connection, in a transaction on the shared snapshot."""
        thread = threading.get_ident()
        with self._lock:
            known = self._workers.get(thread)
        if known is not None:
            return known[1]
        connection = self.service.store.read_engine.connect()
        try:
            connection.execution_options(isolation_level="REPEATABLE READ")
            connection.begin()
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{self.snapshot}'; {WORK_MEM}")
        except BaseException:
            connection.close()
            raise
        session = Session(bind=connection)
        with self._lock:
            self._workers[thread] = (connection, session)
        return session

    def __exit__(self, *exc: object) -> None:
        wait(self.futures)
        for connection, session in self._workers.values():
            session.close()
            connection.close()  # rolls the read-only transaction back: the connection goes back to the pool


class AnalyticsService:
    def __init__(
        self, store: Store, versions: VersionCache | None = None, clock: Callable[[], datetime] = utcnow,
        method: str = "auto",
    ) -> None:
        self.store = store
        self.summary = AnalyticsSummary(store)
        self.dictionaries = DICTIONARIES
        self.versions = versions or VERSIONS
        self.clock = clock
        if method not in ("auto", "window"):
            raise ValueError(f"unknown aggregation method {method!r}")
        self.method = method  # see _attempt_aggregates

    @property
    def dialect(self) -> str:
        return "sqlite" if self.store.is_sqlite else "postgresql"

    # -- what the filters offer --------------------------------------------------------------------

    def check(self, viewer: Viewer | None, filters: Filters | None = None) -> Actor:
        """Raise unless the viewer may see the dashboard with these filters (cheap; run every rerun)."""
        with self.store.read() as session:
            return analyst(session, viewer, filters)

    def cohorts(self, viewer: Viewer | None) -> list[CohortOption]:
        with self.store.read() as session:
            who = analyst(session, viewer)
            trainees = (
                select(CohortMember.cohort_id, func.count().label("n"))
                .where(CohortMember.role == TRAINEE)
                .group_by(CohortMember.cohort_id)
                .subquery()
            )
            rows = session.execute(
                select(Cohort.id, Cohort.name, Cohort.year, func.coalesce(trainees.c.n, 0))
                .outerjoin(trainees, trainees.c.cohort_id == Cohort.id)
                .where(cohort_scope(who, Cohort.id))
                .order_by(Cohort.year.desc(), Cohort.name)
            ).all()
            return [CohortOption(i, name, year, int(n)) for i, name, year, n in rows]

    def scenarios(
        self, viewer: Viewer | None, filters: Filters | None = None, version: tuple | None = None
    ) -> list[tuple[str, str]]:
        """(scenario id, title) of the scenarios with completed attempts in scope."""
        filters = Filters(cohort_id=filters.cohort_id) if filters else Filters()
        self.summary.refresh(version or self.data_version())
        with self.store.read() as session:
            who = analyst(session, viewer, filters)
            # Each stored scenario (a few dozen) is looked up in the summaries' index on scenario_id,
            # rather than every summary in scope being grouped by scenario. (Only scenarios with a
            # stored version have a title, and only those were ever listed.)
            where = summary_population(who, filters, self.dialect, session)
            stored = select(ScenarioVersion.scenario_id).distinct().subquery()
            ids = session.connection().execute(
                select(stored.c.scenario_id).where(exists().where(S.scenario_id == stored.c.scenario_id, *where))
            ).scalars().all()
            return sorted(self._titles(session, ids).items(), key=lambda item: item[1].lower())

    def data_version(self) -> tuple:
        """Changes whenever anything an aggregate depends on changes (for cache keys); one statement.

        Every part is answered from an index in well under a millisecond (count(*) from the
        b-tree's own count, the maxima from the indexes on updated_at and reflection_at).
        """
        scalar = lambda column: select(column).scalar_subquery()  # noqa: E731
        with self.store.read() as session:
            row = session.connection().execute(
                select(
                    select(func.count()).select_from(Attempt).scalar_subquery(),
                    scalar(func.max(Attempt.updated_at)),
                    scalar(func.max(Attempt.reflection_at)),
                    scalar(func.count(CohortMember.user_id)),
                    scalar(func.max(CohortMember.joined_at)),
                    scalar(func.count(User.deleted_at)),
                    scalar(func.count(User.id)),
                )
            ).one()
            return tuple(str(v) for v in row)

    # -- the dashboard ------------------------------------------------------------------------------

    def dashboard(
        self, viewer: Viewer | None, filters: Filters, pseudonymous: bool = False, version: tuple | None = None
    ) -> Dashboard:
        """Every chart's data. `version`: `data_version()` if the caller just read it (saves a query).

        The aggregates are independent queries over one snapshot. On PostgreSQL, for a population
        of `PARALLEL_FROM` trainees or more, the per-trainee ones run on worker connections that
        share this transaction's snapshot (`Concurrent`) while this thread runs the others, so the
        time spent waiting for the server overlaps; otherwise, and on SQLite, they run one after
        another in this transaction.
        """
        # The summaries are brought up to date first, outside the read transaction below, whose
        # snapshot must include them.
        self.summary.refresh(version or self.data_version())
        with self.store.read() as session, Concurrent(self, session) as queries:
            who = analyst(session, viewer, filters)
            self._tune(session)
            where, trainees = _summary_scope(who, filters, self.dialect, session)
            if trainees is None or trainees >= PARALLEL_FROM:
                queries.parallel()
            p = period_column(filters.grain)
            # The per-trainee aggregates, the longest, go to the workers; this thread runs the
            # others meanwhile.
            attempts = self._attempt_frames(queries, where, p, pseudonymous)
            grouped = self._choice_groups(session, where)
            versions = self.versions.get(session, {h for h, _, _, _ in grouped})
            rubric = self._rubric(session, versions, grouped)
            zone_periods = _zone_frame(self._zone_counts(session, where, p), dict(zone_order(rubric)) if rubric else {})
            scenario_frame = self._scenario_summary(session, where)
            in_progress = self._in_progress(session, who, filters)
            if filters.scenario_id:
                title = self._titles(session, [filters.scenario_id]).get(filters.scenario_id)
                counted = self._path_endings(session, where, filters.scenario_id)
                transitions = self._transitions(session, counted, filters.scenario_id, versions, grouped)
            else:
                title, transitions = None, pd.DataFrame(columns=TRANSITION_COLUMNS)
            trainee_periods, growth, cohort_periods, summary = attempts()
            summary["choices"] = sum(n for *_, n in grouped)
            summary["in_progress"] = in_progress
        zones = zone_order(rubric) if rubric else []
        return Dashboard(
            filters=filters,
            summary=summary,
            trainee_periods=trainee_periods,
            cohort_periods=cohort_periods,
            growth=growth,
            zone_periods=zone_periods,
            dimensions=_dimension_means(grouped, versions, rubric),
            choices=(
                _choice_table(grouped, versions, filters.scenario_id, dict(zones))
                if filters.scenario_id
                else pd.DataFrame(columns=CHOICE_COLUMNS)
            ),
            transitions=transitions,
            strategies=_strategy_usage(grouped, versions, rubric),
            scenarios=scenario_frame,
            zones=zones,
            scenario_title=title,
            pseudonymous=pseudonymous,
        )

    def _attempt_frames(
        self, queries: Concurrent, where: list, p: ColumnElement, pseudonymous: bool
    ) -> Callable[[], tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]]:
        """Submits the per-attempt aggregates; returns what gives their frames (trainee periods,
        growth, cohort periods) and the summary's attempt figures once they are done.

        On PostgreSQL (``method="auto"``) they are three queries that run side by side: per
        (trainee, period) with its latest attempt (`_pg_trainee_periods`), each trainee's first
        and latest attempt (`_pg_growth`) and each period's middle scores (`_pg_medians`).
        Otherwise `_attempt_aggregates` does all three in one task.
        """
        if self.dialect == "postgresql" and self.method == "auto":
            periods = queries.submit(self._pg_trainee_periods, where, p)
            growth = queries.submit(self._pg_growth, where, p)
            medians = queries.submit(self._pg_medians, where, p)

            def finish() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
                trainee, persons = periods.result()
                return (
                    _trainee_periods(trainee, persons, pseudonymous),
                    _growth(growth.result(), persons, pseudonymous),
                    _cohort_medians(trainee, medians.result()),
                    trainee.summary(),
                )

            return finish
        return queries.submit(self._attempt_part, where, p, pseudonymous).result

    def _attempt_part(
        self, session: Session, where: list, p: ColumnElement, pseudonymous: bool
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
        """The frames drawn from the per-attempt aggregates, with the summary's attempt figures."""
        trainee, growth_rows, cohort_periods = self._attempt_aggregates(session, where, p)
        persons = people(session, set(trainee.user_ids))
        return (
            _trainee_periods(trainee, persons, pseudonymous),
            _growth(growth_rows, persons, pseudonymous),
            cohort_periods,
            trainee.summary(),
        )

    def _pg_trainee_periods(
        self, session: Session, where: list, p: ColumnElement
    ) -> tuple[TraineePeriods, dict[int, Person]]:
        """PostgreSQL: per (trainee, period) the attempts, mean score and latest attempt (ordered
        ``array_agg``), and the trainees listed (`people`), on the same connection."""
        newest = func.array_agg(aggregate_order_by(S.attempt_id, S.completed_at.desc(), S.attempt_id.desc()))[1]
        trainee = TraineePeriods(
            *_columns(
                _plain_rows(
                    session.connection().execute(
                        select(S.user_id, p, func.count(), func.avg(S.score), newest).where(*where).group_by(S.user_id, p)
                    )
                ),
                5,
            )
        )
        return trainee, people(session, set(trainee.user_ids))

    def _pg_growth(self, session: Session, where: list, p: ColumnElement) -> list[GrowthRow]:
        """PostgreSQL: each trainee with two or more attempts, with their first and latest attempt:
        per trainee the first and last period, and in each (LATERAL, through the covering index on
        ``user_id, period, completed_at, ...``) the first, resp. latest, attempt."""
        count = func.count()
        users = (
            select(S.user_id, count.label("n"), func.min(p).label("low"), func.max(p).label("high"))
            .where(*where)
            .group_by(S.user_id)
            .having(count >= 2)
            .subquery()
        )

        def pick(period: ColumnElement, order: tuple) -> Any:
            return (
                select(S.attempt_id, S.score, S.completed_at)
                .where(*where, S.user_id == users.c.user_id, p == period)
                .order_by(*order)
                .limit(1)
                .lateral()
            )

        first = pick(users.c.low, (S.completed_at, S.attempt_id))
        last = pick(users.c.high, (S.completed_at.desc(), S.attempt_id.desc()))
        return [
            GrowthRow(u, int(n), first_id, float(first_score), first_at, last_id, float(last_score), last_at)
            for u, n, first_id, first_score, first_at, last_id, last_score, last_at in session.connection().execute(
                select(
                    users.c.user_id, users.c.n, first.c.attempt_id, first.c.score, first.c.completed_at,
                    last.c.attempt_id, last.c.score, last.c.completed_at,
                )
                .select_from(users)
                .join(first, true())
                .join(last, true())
                .order_by(users.c.user_id)
            ).all()
        ]

    def _pg_medians(self, session: Session, where: list, p: ColumnElement) -> list[tuple[str, int, float, float]]:
        """PostgreSQL: per period the attempts and the two middle scores (the same one for an odd
        count), whose mean, taken in Python, is the median exactly as `statistics.median` gives it."""
        scores = type_coerce(func.array_agg(aggregate_order_by(S.score, S.score)), ARRAY(Float))
        ranked = select(p.label("period"), func.count().label("n"), scores.label("scores")).where(*where).group_by(p).subquery()
        n, ordered = ranked.c.n, ranked.c.scores
        return [
            (per, int(k), float(low), float(high))
            for per, k, low, high in session.connection().execute(
                select(ranked.c.period, n, ordered[(n + 1) // 2], ordered[(n + 2) // 2])
            ).all()
        ]

    def _in_progress(self, session: Session, who: Actor, filters: Filters) -> int:
        """Attempts not completed among `population(who, filters, completed=False)`.

        Written so both backends find the few unfinished attempts through the index on status
        (``status != x`` as two ranges) rather than visiting every trainee's attempts.
        """
        everyone = who.is_admin and filters.cohort_id is None and self.dialect == "sqlite"
        user_id = Attempt.user_id + 0 if everyone else Attempt.user_id
        conditions = population(who, filters, completed=False, user_id=user_id)
        unfinished = or_(Attempt.status < "completed", Attempt.status > "completed")  # != "completed"
        return int(session.connection().execute(select(func.count()).where(*conditions, unfinished)).scalar() or 0)

    def _tune(self, session: Session) -> None:
        """PostgreSQL: room to hash-aggregate in memory (this transaction only)."""
        if self.dialect == "postgresql":
            session.connection().exec_driver_sql(WORK_MEM)

    def _attempt_aggregates(
        self, session: Session, where: list, p: ColumnElement
    ) -> tuple[TraineePeriods, list[GrowthRow], pd.DataFrame]:
        """Per trainee and period, per trainee (first and latest), and per period (median).

        ``method="auto"`` uses what each backend does fastest (measured by
        `bench/bench_analytics.py`): plain GROUP BY queries, with SQLite's
        documented "bare column" rule (in a query with a single ``max()`` or
        ``min()``, other columns come from that row) and ``group_concat`` score
        lists for medians on SQLite; on PostgreSQL three queries, which
        `_attempt_frames` runs side by side: an ordered ``array_agg`` for each
        period's latest attempt (`_pg_trainee_periods`), a LATERAL look-up of
        each trainee's first and latest attempt (`_pg_growth`) and each period's
        two middle scores from an ordered ``array_agg`` (`_pg_medians`;
        ``percentile_cont`` in `_percentile_medians` serves a trainee's cohort median).
        ``method="window"`` does it all in one pass
        of window functions, on either backend. Both read the summaries' covering
        indexes (``user_id, month|week, completed_at, score, attempt_id``).
        The (trainee, period) rows, a few thousand, are kept as columns.
        """
        if self.method == "window":
            picked = self._attempt_pass(session, where, p)
            trainee = TraineePeriods.of(
                (r.user_id, r.period, int(r.n_up), float(r.mean_up), r.attempt_id) for r in picked if r.rn_up == 1
            )
            firsts = {r.user_id: r for r in picked if r.n_u >= 2 and r.first_rn == 1}
            lasts = {r.user_id: r for r in picked if r.n_u >= 2 and r.first_rn == r.n_u}
            growth = [
                GrowthRow(u, int(f.n_u), f.attempt_id, float(f.score), f.completed_at, lasts[u].attempt_id,
                          float(lasts[u].score),
                          lasts[u].completed_at)
                for u, f in firsts.items()
            ]
            return trainee, growth, _window_medians(picked)
        # SQLite (PostgreSQL with method="auto" runs `_attempt_frames`' three queries instead).
        count, mean = func.count(), func.avg(S.score)
        # Two scans: per (trainee, period) with the latest attempt (bare columns of max()) and
        # the period's scores (for the medians); per trainee with the first attempt (min()).
        # Times stay text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC): only their day is shown.
        users, periods, counts, means, times, ids, scores, listed = _columns(
            _plain_rows(
                session.connection().execute(
                    select(
                        S.user_id, p, count, mean, type_coerce(func.max(S.completed_at), String), S.attempt_id,
                        S.score, func.group_concat(S.score),
                    )
                    .where(*where)
                    .group_by(S.user_id, p)
                )
            ),
            8,
        )
        latest: dict[int, tuple] = {}
        for u, per, at, attempt_id, score in zip(users, periods, times, ids, scores, strict=True):
            known = latest.get(u)
            if known is None or (per or "") > (known[0] or ""):
                latest[u] = (per, attempt_id, float(score), at)
        growth = [
            GrowthRow(u, int(n), fid, float(fscore), fat, *latest[u][1:])
            for u, n, fat, fid, fscore in session.connection().execute(
                select(S.user_id, count, type_coerce(func.min(S.completed_at), String), S.attempt_id, S.score)
                .where(*where)
                .group_by(S.user_id)
                .having(count >= 2)
            ).all()
        ]
        trainee = TraineePeriods(users, periods, counts, means, ids)
        return trainee, growth, _medians_of_lists(periods, listed)

    def _attempt_pass(self, session: Session, where: list, p: ColumnElement) -> list:
        """One pass over the completed attempts, ranked by window functions, keeping only the rows
        some chart needs: each trainee's latest attempt per period (with the period's mean and
        count), each trainee's first and latest attempt, and the middle one or two attempts of each
        period by score (whose mean is the period's median)."""
        up = {"partition_by": (S.user_id, p)}
        ranked = (
            select(
                S.user_id,
                S.attempt_id,
                S.score,
                S.completed_at,
                p.label("period"),
                func.row_number().over(**up, order_by=(S.completed_at.desc(), S.attempt_id.desc())).label("rn_up"),
                func.count().over(**up).label("n_up"),
                func.avg(S.score).over(**up).label("mean_up"),
                func.row_number()
                .over(partition_by=S.user_id, order_by=(S.completed_at, S.attempt_id))
                .label("first_rn"),
                func.count().over(partition_by=S.user_id).label("n_u"),
                func.row_number().over(partition_by=p, order_by=(S.score, S.attempt_id)).label("rn_p"),
                func.count().over(partition_by=p).label("n_p"),
            )
            .where(*where)
            .subquery()
        )
        r = ranked.c
        return session.connection().execute(
            select(ranked).where(
                or_(
                    r.rn_up == 1,
                    r.first_rn == 1,
                    r.first_rn == r.n_u,
                    middle_rows(r.rn_p, r.n_p),
                )
            )
        ).all()

    def _percentile_medians(self, session: Session, where: list, p: ColumnElement) -> pd.DataFrame:
        """PostgreSQL's percentile_cont per period (the alternative to the window medians)."""
        rows = session.connection().execute(
            select(p, percentile_median(S.score), func.count(), func.count(func.distinct(S.user_id)))
            .where(*where)
            .group_by(p)
            .order_by(p)
        ).all()
        return pd.DataFrame(
            [(per, float(m), int(n), int(t)) for per, m, n, t in rows], columns=COHORT_PERIOD_COLUMNS
        )

    def _window_medians_query(self, session: Session, where: list, p: ColumnElement) -> pd.DataFrame:
        """The window median on its own (used for a trainee's cohort, where only medians are needed)."""
        ranked = (
            select(
                p.label("period"),
                S.user_id,
                S.score,
                func.row_number().over(partition_by=p, order_by=(S.score, S.attempt_id)).label("rn"),
                func.count().over(partition_by=p).label("n"),
            )
            .where(*where)
            .subquery()
        )
        query = (
            select(
                ranked.c.period,
                median_of_ranked(ranked.c.score, ranked.c.rn, ranked.c.n),
                func.count(),
                func.count(func.distinct(ranked.c.user_id)),
            )
            .group_by(ranked.c.period)
            .order_by(ranked.c.period)
        )
        rows = [(per, float(median), int(n), int(t)) for per, median, n, t in session.connection().execute(query).all()]
        return pd.DataFrame(rows, columns=COHORT_PERIOD_COLUMNS)

    def _medians(self, session: Session, where: list, p: ColumnElement) -> pd.DataFrame:
        if self.method == "window":
            return self._window_medians_query(session, where, p)
        if self.dialect == "postgresql":
            return self._percentile_medians(session, where, p)
        rows = []
        for per, n, trainees, scores in session.connection().execute(
            select(p, func.count(), func.count(func.distinct(S.user_id)), func.group_concat(S.score))
            .where(*where)
            .group_by(p)
            .order_by(p)
        ).all():
            rows.append((per, _median(scores), int(n), int(trainees)))
        return pd.DataFrame(rows, columns=COHORT_PERIOD_COLUMNS)

    def _choice_groups(self, session: Session, where: list) -> list[tuple[str, str, str, int]]:
        """(version, node, choice, picks): every response chart's counts.

        SQL groups the attempts by the path they took (20,000 attempts, a few hundred paths); each
        path's steps (`PathStep`, a few thousand rows in all) give the counts per response: the
        path counts times the responses on each path. No query touches the steps of individual
        attempts. On PostgreSQL the join with the path steps is part of the query (a few hundred
        rows come back, and the server's time overlaps other queries'); on SQLite, which has no
        server, the steps come from the shared path dictionary (`analytics_summary.DICTIONARIES`),
        which is faster there.
        """
        if self.dialect == "postgresql":
            counted = select(S.path_id, func.count().label("n")).where(*where).group_by(S.path_id).subquery()
            step = PathStep
            return [
                (content_hash, node, choice, int(n))
                for content_hash, node, choice, n in session.connection().execute(
                    select(step.content_hash, step.node_id, step.choice_id, func.sum(counted.c.n))
                    .join(step, step.path_id == counted.c.path_id)
                    .where(step.choice_id.is_not(None))
                    .group_by(step.content_hash, step.node_id, step.choice_id)
                    .order_by(step.content_hash, step.node_id, step.choice_id)
                ).all()
            ]
        rows = _plain_rows(session.connection().execute(select(S.path_id, func.count()).where(*where).group_by(S.path_id)))
        paths = self.dictionaries.paths(session, [path_id for path_id, _ in rows])
        picks: dict[tuple[str, str, str], int] = defaultdict(int)
        for path_id, n in rows:
            info = paths.get(path_id)
            for node, choice, _, _ in info.steps if info else ():
                if choice is not None:
                    picks[(info.content_hash, node, choice)] += int(n)  # type: ignore[union-attr]
        return [(content_hash, node, choice, n) for (content_hash, node, choice), n in sorted(picks.items())]

    def _zone_counts(self, session: Session, where: list, p: ColumnElement) -> dict[tuple[str, str | None], int]:
        """Responses (choices) per (period, zone): SQL counts attempts per (period, zone multiset),
        and each multiset's zone counts (`ZoneCount`) multiply them: joined in the query on
        PostgreSQL (a few hundred rows come back), from the shared zone-set dictionary on SQLite
        (as `_choice_groups`)."""
        if self.dialect == "postgresql":
            counted = (
                select(p.label("period"), S.zones_id, func.count().label("n"))
                .where(*where)
                .group_by(p, S.zones_id)
                .subquery()
            )
            return {
                (per, zone): int(n)
                for per, zone, n in session.connection().execute(
                    select(counted.c.period, ZoneCount.zone, func.sum(counted.c.n * ZoneCount.n))
                    .join(ZoneCount, ZoneCount.zones_id == counted.c.zones_id)
                    .group_by(counted.c.period, ZoneCount.zone)
                ).all()
            }
        rows = _plain_rows(
            session.connection().execute(select(p, S.zones_id, func.count()).where(*where).group_by(p, S.zones_id))
        )
        sets = self.dictionaries.zone_sets(session, [zones_id for _, zones_id, _ in rows])
        totals: dict[tuple[str, str | None], int] = defaultdict(int)
        for per, zones_id, n in rows:
            for zone, k in sets.get(zones_id, ()):
                totals[(per, zone)] += n * k
        return totals

    def _rubric(self, session: Session, versions: dict[str, VersionInfo], grouped: list[tuple]) -> Rubric | None:
        """The rubric of the version with the most choices in scope (else the newest stored one)."""
        if versions:
            weight: dict[str, int] = defaultdict(int)
            for content_hash, _, _, n in grouped:
                weight[content_hash] += n
            best = max(versions, key=lambda h: (weight.get(h, 0), h))
            return versions[best].rubric
        newest = session.scalar(select(ScenarioVersion.content_hash).order_by(ScenarioVersion.created_at.desc()).limit(1))
        if newest is None:
            return None
        return self.versions.get(session, [newest])[newest].rubric

    def _scenario_summary(self, session: Session, where: list) -> pd.DataFrame:
        rows = session.connection().execute(
            select(
                S.scenario_id,
                func.count(),
                func.count(func.distinct(S.user_id)),
                func.avg(S.score),
                func.avg(case((S.ending == "repaired", 1.0), else_=0.0)),
            )
            .where(*where)
            .group_by(S.scenario_id)
        ).all()
        titles = self._titles(session, [r[0] for r in rows])
        data = [
            (sid, titles.get(sid, sid), int(n), int(t), float(mean), float(repaired))
            for sid, n, t, mean, repaired in rows
        ]
        data.sort(key=lambda r: (r[4], r[0]))  # hardest (lowest mean) first
        return pd.DataFrame(data, columns=SCENARIO_COLUMNS)

    def _path_endings(self, session: Session, where: list, scenario_id: str) -> list[tuple[int, str | None, int]]:
        """(path, ending, attempts) of one scenario's attempts in scope."""
        return [
            (path_id, ending, int(n))
            for path_id, ending, n in session.connection().execute(
                select(S.path_id, S.ending, func.count())
                .where(*where, S.scenario_id == scenario_id)
                .group_by(S.path_id, S.ending)
            ).all()
        ]

    def _transitions(
        self, session: Session, counted: list[tuple[int, str | None, int]], scenario_id: str,
        versions: dict[str, VersionInfo], grouped: list[tuple],
    ) -> pd.DataFrame:
        paths = self.dictionaries.paths(session, [path_id for path_id, _, _ in counted])
        steps: dict[tuple, int] = defaultdict(int)  # (source, choice, target or None, ending) -> attempts
        for path_id, ending, n in counted:
            info = paths.get(path_id)
            for node, choice, _, following in info.steps if info else ():
                steps[(node, choice, following, ending)] += n
        rows = [(*key, n) for key, n in steps.items()]
        info = _main_version(versions, scenario_id, grouped)
        links: dict[tuple[str, str], dict] = {}
        for source, choice, target, ending, n in rows:
            # The last recorded step leads to the ending; endings are named by their kind.
            target_key = target if target is not None else f"ending:{ending or 'unknown'}"
            link = links.setdefault((source, target_key), {"attempts": 0, "choices": defaultdict(int)})
            link["attempts"] += int(n)
            if choice is not None:
                link["choices"][choice] += int(n)

        def label(node: str) -> str:
            if node.startswith("ending:"):
                return f"Ending: {node.split(':', 1)[1]}"
            return f"{node}: {info.node_label(node, 36)}" if info else node

        data = [
            (
                source,
                target,
                label(source),
                label(target),
                values["attempts"],
                ", ".join(f"{c} {k}" for c, k in sorted(values["choices"].items(), key=lambda kv: (-kv[1], kv[0]))),
            )
            for (source, target), values in links.items()
        ]
        order = {node: i for i, node in enumerate(info.node_order)} if info else {}
        data.sort(key=lambda r: (order.get(r[0], 10_000), -r[4], r[1]))
        return pd.DataFrame(data, columns=TRANSITION_COLUMNS)

    def _titles(self, session: Session, scenario_ids: Iterable[str | None]) -> dict[str, str]:
        ids = [s for s in set(scenario_ids) if s]
        if not ids:
            return {}
        titles: dict[str, str] = {}
        rows = session.connection().execute(
            select(ScenarioVersion.scenario_id, ScenarioVersion.title)
            .where(ScenarioVersion.scenario_id.in_(ids))
            .order_by(ScenarioVersion.created_at)
        ).all()
        for scenario_id, title in rows:
            titles[scenario_id] = title  # the newest version's title wins
        return titles

    # -- reflections (supervisors) -------------------------------------------------------------------

    def reflections(self, viewer: Viewer | None, filters: Filters, limit: int = REFLECTIONS_LIMIT) -> list[Reflection]:
        """The newest reflections of the supervisor's trainees; each trainee shown is audited."""
        with self.store.write() as session:
            who = analyst(session, viewer, filters)
            if not who.is_supervisor:
                raise Forbidden("Reflections are shown to each trainee's supervisors only.")
            rows = session.execute(
                select(
                    Attempt.id, Attempt.user_id, Attempt.scenario_id, Attempt.completed_at, Attempt.score,
                    Attempt.zone, Attempt.reflection, Attempt.reflection_at,
                )
                .join(User, User.id == Attempt.user_id)
                .where(
                    *population(who, filters),
                    record_scope(who, Attempt.user_id),
                    User.deleted_at.is_(None),
                    Attempt.reflection.is_not(None),
                    Attempt.reflection != "",
                )
                .order_by(Attempt.reflection_at.desc(), Attempt.id)
                .limit(limit)
            ).all()
            persons = people(session, [r.user_id for r in rows])
            titles = self._titles(session, [r.scenario_id for r in rows])
            shown: dict[int, int] = defaultdict(int)
            for row in rows:
                shown[row.user_id] += 1
            now = self.clock()
            for user_id, count in sorted(shown.items()):
                if user_id != who.user_id:
                    audit.record(session, who.user_id, VIEW_REFLECTIONS, user_id, at=now, reflections=count)
            return [
                Reflection(
                    attempt_id=row.id,
                    trainee=persons[row.user_id].name,
                    scenario_id=row.scenario_id,
                    title=titles.get(row.scenario_id, row.scenario_id),
                    completed_at=as_utc(row.completed_at),
                    score=row.score,
                    zone=row.zone,
                    text=row.reflection,
                    written_at=as_utc(row.reflection_at),
                )
                for row in rows
            ]

    # -- a trainee's own trend -----------------------------------------------------------------------

    def trainee_trend(self, viewer: Viewer | None, grain: Grain = "month", scenario_id: str | None = None) -> Trend:
        """Own per-period mean score, and the anonymous median of the trainee's cohorts."""
        filters = Filters(scenario_id=scenario_id, grain=grain)
        self.summary.refresh(self.data_version())
        with self.store.read() as session:
            who = actor(session, viewer)
            p = period_column(grain)
            own_where = [*summary_population(_as_trainee(who), filters, self.dialect), S.user_id == who.user_id]
            window = {"partition_by": p}
            ranked = (
                select(
                    p.label("period"),
                    S.attempt_id,
                    func.avg(S.score).over(**window).label("mean_score"),
                    func.count().over(**window).label("attempts"),
                    func.row_number()
                    .over(**window, order_by=(S.completed_at.desc(), S.attempt_id.desc()))
                    .label("rn"),
                )
                .where(*own_where)
                .subquery()
            )
            own = pd.DataFrame(
                [
                    (per, float(mean), int(n), attempt_id)
                    for per, attempt_id, mean, n, _ in session.connection().execute(
                        select(ranked).where(ranked.c.rn == 1).order_by(ranked.c.period)
                    ).all()
                ],
                columns=OWN_COLUMNS,
            )
            my_cohorts = select(CohortMember.cohort_id).where(
                CohortMember.user_id == who.user_id, CohortMember.role == TRAINEE
            )
            names = [n for (n,) in session.execute(select(Cohort.name).where(Cohort.id.in_(my_cohorts)).order_by(Cohort.name))]
            peers = select(CohortMember.user_id).where(
                CohortMember.cohort_id.in_(my_cohorts), CohortMember.role == TRAINEE
            )
            peer_where = [S.user_id.in_(peers), *([S.scenario_id == scenario_id] if scenario_id else [])]
            cohort = self._medians(session, peer_where, p) if names else pd.DataFrame(columns=COHORT_PERIOD_COLUMNS)
        cohort = cohort[cohort["trainees"] >= MIN_PEERS].reset_index(drop=True)
        return Trend(own=own, cohort=cohort, cohorts=names, grain=grain)


ZONE_RANK = {("high", "low"): 0, ("high", "high"): 1, ("low", "high"): 2, ("low", "low"): 3}


def zone_order(rubric: Rubric) -> list[tuple[str, str]]:
    """(zone id, label), the balanced quadrant first (high x, low y), then by how far off it is."""
    return sorted(((z, zone.label) for z, zone in rubric.zones.items()),
                  key=lambda item: (ZONE_RANK.get((rubric.zones[item[0]].x, rubric.zones[item[0]].y), 9), item[0]))


def _as_trainee(who: Actor) -> Actor:
    """The same person with a trainee's view (their own records only), whatever their role."""
    return Actor(who.user_id, TRAINEE, who.is_guest)


def _main_version(
    versions: dict[str, VersionInfo], scenario_id: str | None, grouped: list[tuple]
) -> VersionInfo | None:
    """The version of a scenario with the most responses in scope: its graph names the nodes and choices."""
    weight: dict[str, int] = defaultdict(int)
    for content_hash, _, _, n in grouped:
        weight[content_hash] += n
    mine = [v for v in versions.values() if v.scenario.id == scenario_id]
    return max(mine, key=lambda v: (weight.get(v.content_hash, 0), v.content_hash)) if mine else None


# -- turning grouped rows into frames -----------------------------------------------------------------


def _zone_frame(totals: dict[tuple[str, str | None], int], labels: dict[str, str]) -> pd.DataFrame:
    """`zone_periods`: (period, zone) counts with the zones' labels, periods in order, zones in rubric order."""
    order = {z: i for i, z in enumerate(labels)}
    data = sorted(
        ((per, zone or "unknown", labels.get(zone, zone or "unknown"), n) for (per, zone), n in totals.items()),
        key=lambda r: (r[0], order.get(r[1], 99), r[1]),
    )
    return pd.DataFrame(data, columns=ZONE_COLUMNS)


def _window_medians(picked: list) -> pd.DataFrame:
    """Per period: the mean of the middle rows (the median), the attempts, and the trainees
    (one latest-per-period row each)."""
    middle: dict[str, list[float]] = defaultdict(list)
    attempts: dict[str, int] = {}
    trainees: dict[str, int] = defaultdict(int)
    for r in picked:
        attempts[r.period] = int(r.n_p)
        if 2 * r.rn_p >= r.n_p and 2 * r.rn_p <= r.n_p + 2:
            middle[r.period].append(float(r.score))
        if r.rn_up == 1:
            trainees[r.period] += 1
    rows = [(per, sum(middle[per]) / len(middle[per]), attempts[per], trainees[per]) for per in sorted(attempts)]
    return pd.DataFrame(rows, columns=COHORT_PERIOD_COLUMNS)


def _trainee_periods(rows: TraineePeriods, persons: dict[int, Person], pseudonymous: bool) -> pd.DataFrame:
    """The frame of `rows` with each trainee's key and label; deleted trainees have no line."""
    columns = [rows.user_ids, rows.periods, rows.means, rows.attempts, rows.attempt_ids]
    if any(person.deleted for person in persons.values()):
        keep = [i for i, u in enumerate(rows.user_ids) if not persons[u].deleted]
        columns = [[column[i] for i in keep] for column in columns]
    users, periods, means, attempts, attempt_ids = columns
    keys = {u: person.key() for u, person in persons.items()}
    labels = {u: person.label(pseudonymous) for u, person in persons.items()}
    return _frame(
        TRAINEE_PERIOD_COLUMNS,
        [keys[u] for u in users],
        [labels[u] for u in users],
        list(periods),
        list(map(float, means)),
        list(map(int, attempts)),
        list(attempt_ids),
    )


def _plain_rows(result: CursorResult) -> list[tuple]:
    """Every row of `result` as the database driver's own tuple, for the few large results (a few
    thousand rows) whose columns need no conversion (integers, text, floats; times as text).

    SQLAlchemy's `Row` objects are tracked by the garbage collector for as long as they live, so
    a few thousand of them, alive while the next are fetched, are promoted to the oldest
    generation and bring the next full collection (~100 ms in a Streamlit process) closer; plain
    tuples of plain values stop being tracked at their first collection. Measured on the
    dashboard: a third of the collections and of the objects promoted per uncached rerun.
    """
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _columns(rows: Sequence[Sequence], width: int) -> list[list]:
    """Rows as `width` columns (one pass per column: ``zip(*rows)`` would make an iterator per
    row, thousands of objects for the garbage collector to look at)."""
    return [[row[i] for row in rows] for i in range(width)]


def _cohort_medians(trainee: TraineePeriods, medians: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    """`cohort_periods` from each period's attempts and two middle scores (`_pg_medians`); its
    trainees are the trainees with a (trainee, period) row in it."""
    trainees = Counter(trainee.periods)
    return pd.DataFrame(
        [(per, (low + high) / 2, n, trainees[per]) for per, n, low, high in sorted(medians, key=lambda r: r[0] or "")],
        columns=COHORT_PERIOD_COLUMNS,
    )


def _medians_of_lists(periods: Sequence[str], listed: Sequence[str]) -> pd.DataFrame:
    """`cohort_periods` from one comma-separated score list per (trainee, period): per period the
    median of every score, the number of scores (attempts) and of lists (trainees)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for per, scores in zip(periods, listed, strict=True):
        groups[per].append(scores)
    rows = []
    for per in sorted(groups, key=lambda item: item or ""):
        values = [float(value) for value in ",".join(groups[per]).split(",")]
        rows.append((per, statistics.median(values), len(values), len(groups[per])))
    return pd.DataFrame(rows, columns=COHORT_PERIOD_COLUMNS)


def _frame(columns: list[str], *values: list) -> pd.DataFrame:
    """A frame built column by column (much faster than from a list of row tuples)."""
    return pd.DataFrame(dict(zip(columns, values, strict=True)), columns=columns)


def _growth(rows: list[GrowthRow], persons: dict[int, Person], pseudonymous: bool) -> pd.DataFrame:
    data = [
        (
            persons[r.user_id].key(), persons[r.user_id].label(pseudonymous), r.attempts,
            r.first_score, _iso_day(r.first_at), r.first_id,
            r.latest_score, _iso_day(r.latest_at), r.latest_id,
            r.latest_score - r.first_score,
        )
        for r in rows
        if not persons[r.user_id].deleted
    ]
    data.sort(key=lambda r: (-r[9], r[1]))
    return pd.DataFrame(data, columns=GROWTH_COLUMNS)


def _dimension_means(grouped: list[tuple], versions: dict[str, VersionInfo], rubric: Rubric | None) -> pd.DataFrame:
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for content_hash, node, choice, n in grouped:
        info = versions[content_hash].choice(node, choice)
        if info is None:
            continue
        for dim, value in info.scores.items():
            sums[dim] += value * n
            counts[dim] += n
    if rubric is None:
        return pd.DataFrame(columns=DIMENSION_COLUMNS)
    data = [
        (
            name, dim.label, dim.min, dim.max, dim.ideal,
            (sums[name] / counts[name]) if counts.get(name) else None,
            counts.get(name, 0),
        )
        for name, dim in rubric.dimensions.items()
    ]
    return pd.DataFrame(data, columns=DIMENSION_COLUMNS)


def _choice_table(
    grouped: list[tuple], versions: dict[str, VersionInfo], scenario_id: str | None, zone_labels: dict[str, str]
) -> pd.DataFrame:
    picks: dict[tuple[str, str], int] = defaultdict(int)
    for content_hash, node, choice, n in grouped:
        if versions[content_hash].scenario.id == scenario_id:
            picks[(node, choice)] += n
    info = _main_version(versions, scenario_id, grouped)
    if info is None:
        return pd.DataFrame(columns=CHOICE_COLUMNS)
    totals: dict[str, int] = defaultdict(int)
    for (node, _), n in picks.items():
        totals[node] += n
    rows = []
    decision_no = {node: i + 1 for i, node in enumerate(info.decision_order)}
    listed: set[tuple[str, str]] = set()
    for node in info.decision_order:
        for choice in info.scenario.nodes[node].choices or []:
            ci = info.choices[(node, choice.id)]
            n = picks.get((node, choice.id), 0)
            listed.add((node, choice.id))
            rows.append(
                (
                    node, info.node_label(node), decision_no[node], ci.position, choice.id, ci.text, ci.zone,
                    zone_labels.get(ci.zone, ci.zone), ci.score, ci.best, n,
                    (n / totals[node]) if totals.get(node) else 0.0,
                )
            )
    for (node, choice), n in sorted(picks.items()):  # picked in older versions only
        if (node, choice) not in listed:
            rows.append((node, node, decision_no.get(node, 999), 99, choice, choice, "", "", None, False, n,
                         n / totals[node]))
    return pd.DataFrame(rows, columns=CHOICE_COLUMNS)


def _strategy_usage(grouped: list[tuple], versions: dict[str, VersionInfo], rubric: Rubric | None) -> pd.DataFrame:
    used: dict[str, int] = defaultdict(int)
    total = 0
    for content_hash, node, choice, n in grouped:
        total += n
        for strategy in versions[content_hash].strategies(node, choice):
            used[strategy] += n
    labels = dict(rubric.strategies) if rubric else {}
    for version in versions.values():
        for key, label in version.rubric.strategies.items():
            labels.setdefault(key, label)
    names = list(labels) + [s for s in used if s not in labels]
    data = [(s, labels.get(s, s), used.get(s, 0), (used.get(s, 0) / total) if total else 0.0) for s in names]
    data.sort(key=lambda r: (-r[2], r[1]))
    return pd.DataFrame(data, columns=STRATEGY_COLUMNS)



__all__ = [
    "AnalyticsService",
    "Dashboard",
    "Filters",
    "Reflection",
    "Trend",
]
