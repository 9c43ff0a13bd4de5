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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

import pandas as pd
from sqlalchemy import ColumnElement, String, Text, and_, case, cast, func, or_, select, text, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from engine import Rubric

from ..db import Store
from ..db.tables import Attempt, Cohort, CohortMember, ScenarioVersion, User, as_utc, utcnow
from ..db.tables_analytics import AttemptSummary as S
from . import audit
from .access import TRAINEE, Actor, Viewer, actor, cohort_scope, record_scope
from .analytics_sql import GRAINS, Grain, median_of_ranked, middle_rows, percentile_median
from .analytics_summary import DICTIONARIES, AnalyticsSummary
from .analytics_versions import VERSIONS, VersionCache, VersionInfo
from .errors import Forbidden, NotFound, UserFacingError

MIN_PEERS = 3  # a cohort median is shown to a trainee only over at least this many trainees
DELETED_LABEL = "Deleted trainee"
VIEW_REFLECTIONS = "view_reflections"
NO_COHORT = "There is no such cohort among the cohorts you can see."
REFLECTIONS_LIMIT = 200


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


class TraineePeriod(NamedTuple):
    user_id: int
    period: str
    attempts: int
    mean_score: float
    attempt_id: str  # the latest attempt of the trainee in the period


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


def population(who: Actor, filters: Filters, completed: bool = True) -> list[ColumnElement[bool]]:
    """WHERE conditions on `Attempt` for what `who` may analyse under `filters`.

    Supervisors and admins: attempts of trainees enrolled in a cohort within
    `cohort_scope` (one cohort if filtered), who are also within
    `record_scope`, or whose personal data was deleted (anonymous, aggregate
    only). Trainees: their own attempts (`record_scope`).
    """
    conditions = _people_in_scope(who, filters, Attempt.user_id)
    if completed:
        conditions += [Attempt.status == "completed", Attempt.score.is_not(None)]
    if filters.scenario_id:
        conditions.append(Attempt.scenario_id == filters.scenario_id)
    start, end = day_bounds(filters)
    moment = Attempt.completed_at if completed else Attempt.started_at
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
    everyone = who.is_admin and filters.cohort_id is None
    analyst_view = who.is_admin or who.is_supervisor
    if everyone and session is not None and _all_in_scope(session, who, filters):
        conditions = []
    elif not everyone and analyst_view and session is not None and (ids := _ids_in_scope(session, who, filters)) is not None:
        conditions = [S.user_id.in_(ids)]
    else:
        user_id = S.user_id + 0 if everyone and dialect == "sqlite" else S.user_id
        conditions = _people_in_scope(who, filters, user_id)
    if filters.scenario_id:
        conditions.append(S.scenario_id == filters.scenario_id)
    start, end = day_bounds(filters)
    if start is not None:
        conditions.append(S.completed_at >= start)
    if end is not None:
        conditions.append(S.completed_at < end)
    return conditions


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
    no cohort filter, and no one practising outside a cohort)."""
    users = select(S.user_id.label("user_id")).group_by(S.user_id).subquery()
    outside = session.connection().execute(
        select(func.count()).select_from(users).where(~and_(*_people_in_scope(who, filters, users.c.user_id)))
    ).scalar()
    return not outside


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
    for chunk in _chunks(ids, 900):
        for row in session.connection().execute(
            select(User.id, User.display_name, User.pseudonym, User.username, User.email, User.deleted_at).where(
                User.id.in_(chunk)
            )
        ).all():
            found[row.id] = Person(
                row.id, row.display_name, row.pseudonym or f"Trainee #{row.id}", row.username, row.email,
                row.deleted_at is not None,
            )
    return found


def cohort_names(session: Session, who: Actor, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """Visible cohorts each trainee is enrolled in (names, alphabetical)."""
    ids = sorted(set(user_ids))
    names: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(ids, 900):
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


def _chunks(items: list, size: int) -> Iterable[list]:
    for index in range(0, len(items), size):
        yield items[index : index + size]


def _iso_day(moment: datetime | str | None) -> str | None:
    """The UTC day of a time (a datetime, or SQLite's stored UTC text)."""
    if moment is None or isinstance(moment, str):
        return moment[:10] if moment else None
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%d")


def _median(listed: str) -> float:
    """The median of a comma-separated list of numbers (as `statistics.median`)."""
    values = sorted(map(float, listed.split(",")))
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


# -- the service ----------------------------------------------------------------------------------


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
            ids = [
                s
                for (s,) in session.execute(
                    select(S.scenario_id).where(*summary_population(who, filters, self.dialect, session)).group_by(S.scenario_id)
                )
            ]
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
        """Every chart's data. `version`: `data_version()` if the caller just read it (saves a query)."""
        # The summaries are brought up to date first, outside the read transaction below, whose
        # snapshot must include them.
        self.summary.refresh(version or self.data_version())
        with self.store.read() as session:
            who = analyst(session, viewer, filters)
            self._tune(session)
            where = summary_population(who, filters, self.dialect, session)
            p = period_column(filters.grain)
            trainee_rows, growth_rows, cohort_periods = self._attempt_aggregates(session, where, p)
            grouped = self._choice_groups(session, where)
            versions = self.versions.get(session, {h for h, _, _, _ in grouped})
            rubric = self._rubric(session, versions, grouped)
            zone_labels = dict(zone_order(rubric)) if rubric else {}
            zone_periods = self._zone_periods(session, where, p, zone_labels)
            scenarios = self._scenario_summary(session, where)
            in_progress = self._in_progress(session, who, filters)
            transitions = (
                self._transitions(session, where, filters.scenario_id, versions, grouped) if filters.scenario_id else None
            )
            persons = people(session, {r.user_id for r in trainee_rows} | {r.user_id for r in growth_rows})
            title = self._titles(session, [filters.scenario_id]).get(filters.scenario_id) if filters.scenario_id else None

        attempts = sum(r.attempts for r in trainee_rows)
        summary = {
            "trainees": len({r.user_id for r in trainee_rows}),
            "attempts": attempts,
            "choices": sum(n for *_, n in grouped),
            "in_progress": int(in_progress or 0),
            "mean_score": (sum(r.mean_score * r.attempts for r in trainee_rows) / attempts) if attempts else None,
        }
        zones = zone_order(rubric) if rubric else []
        return Dashboard(
            filters=filters,
            summary=summary,
            trainee_periods=_trainee_periods(trainee_rows, persons, pseudonymous),
            cohort_periods=cohort_periods,
            growth=_growth(growth_rows, persons, pseudonymous),
            zone_periods=zone_periods,
            dimensions=_dimension_means(grouped, versions, rubric),
            choices=(
                _choice_table(grouped, versions, filters.scenario_id, dict(zones))
                if filters.scenario_id
                else pd.DataFrame(columns=CHOICE_COLUMNS)
            ),
            transitions=transitions if transitions is not None else pd.DataFrame(columns=TRANSITION_COLUMNS),
            strategies=_strategy_usage(grouped, versions, rubric),
            scenarios=scenarios,
            zones=zones,
            scenario_title=title,
            pseudonymous=pseudonymous,
        )

    def _in_progress(self, session: Session, who: Actor, filters: Filters) -> int:
        """Attempts not completed, as `population(who, filters, completed=False)` counts them.

        Written so both backends find the few unfinished attempts through the index on status
        (``status != x`` as two ranges) rather than visiting every trainee's attempts.
        """
        everyone = who.is_admin and filters.cohort_id is None and self.dialect == "sqlite"
        conditions = _people_in_scope(who, filters, Attempt.user_id + 0 if everyone else Attempt.user_id)
        if filters.scenario_id:
            conditions.append(Attempt.scenario_id == filters.scenario_id)
        start, end = day_bounds(filters)
        if start is not None:
            conditions.append(Attempt.started_at >= start)
        if end is not None:
            conditions.append(Attempt.started_at < end)
        unfinished = or_(Attempt.status < "completed", Attempt.status > "completed")  # != "completed"
        return int(session.connection().execute(select(func.count()).where(*conditions, unfinished)).scalar() or 0)

    def _tune(self, session: Session) -> None:
        """PostgreSQL: room to hash-aggregate the step groups in memory (this transaction only)."""
        if self.dialect == "postgresql":
            session.execute(text("SET LOCAL work_mem = '32MB'"))

    def _attempt_aggregates(
        self, session: Session, where: list, p: ColumnElement
    ) -> tuple[list[TraineePeriod], list[GrowthRow], pd.DataFrame]:
        """Per trainee and period, per trainee (first and latest), and per period (median).

        ``method="auto"`` uses what each backend does fastest (measured by
        `bench/bench_analytics.py`): plain GROUP BY queries, with SQLite's
        documented "bare column" rule (in a query with a single ``max()`` or
        ``min()``, other columns come from that row) and ``group_concat`` score
        lists for medians on SQLite; on PostgreSQL ordered ``array_agg`` for
        each period's latest and first attempt and ``string_agg`` score lists
        (one query; `_percentile_medians` is the SQL-only alternative, used for
        a trainee's cohort median). ``method="window"`` does it all in one pass
        of window functions, on either backend. Both read the summaries' covering
        indexes (``user_id, month|week, completed_at, score, attempt_id``).
        """
        if self.method == "window":
            picked = self._attempt_pass(session, where, p)
            trainee = [
                TraineePeriod(r.user_id, r.period, int(r.n_up), float(r.mean_up), r.attempt_id) for r in picked if r.rn_up == 1
            ]
            firsts = {r.user_id: r for r in picked if r.n_u >= 2 and r.first_rn == 1}
            lasts = {r.user_id: r for r in picked if r.n_u >= 2 and r.first_rn == r.n_u}
            growth = [
                GrowthRow(u, int(f.n_u), f.attempt_id, float(f.score), f.completed_at, lasts[u].attempt_id,
                          float(lasts[u].score),
                          lasts[u].completed_at)
                for u, f in firsts.items()
            ]
            return trainee, growth, _window_medians(picked)
        count, mean = func.count(), func.avg(S.score)
        if self.dialect == "sqlite":
            # Two scans: per (trainee, period) with the latest attempt (bare columns of max()) and
            # the period's scores (for the medians); per trainee with the first attempt (min()).
            # Times stay text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC): only their day is shown.
            trainee, latest, scores = [], {}, defaultdict(list)
            for u, per, n, m, at, attempt_id, score, listed in session.connection().execute(
                select(
                    S.user_id, p, count, mean, type_coerce(func.max(S.completed_at), String), S.attempt_id, S.score,
                    func.group_concat(S.score),
                )
                .where(*where)
                .group_by(S.user_id, p)
            ).all():
                trainee.append(TraineePeriod(u, per, int(n), float(m), attempt_id))
                if u not in latest or (per or "") > (latest[u][0] or ""):
                    latest[u] = (per, attempt_id, float(score), at)
                scores[per].append((u, listed))
            growth = [
                GrowthRow(u, int(n), fid, float(fscore), fat, *latest[u][1:])
                for u, n, fat, fid, fscore in session.connection().execute(
                    select(S.user_id, count, type_coerce(func.min(S.completed_at), String), S.attempt_id, S.score)
                    .where(*where)
                    .group_by(S.user_id)
                    .having(count >= 2)
                ).all()
            ]
            medians = [
                (per, _median(",".join(listed for _, listed in groups)), sum(listed.count(",") + 1 for _, listed in groups),
                 len(groups))
                for per, groups in sorted(scores.items())
            ]
            return trainee, growth, pd.DataFrame(medians, columns=COHORT_PERIOD_COLUMNS)
        # PostgreSQL: one GROUP BY (trainee, period) gives the means, each period's latest and first
        # attempt (ordered array_agg) and its scores as text (exact: PostgreSQL prints the shortest
        # text that reads back as the same double), whose medians per period are taken in Python,
        # as on SQLite. Growth takes each trainee's first and latest attempt from those rows and
        # looks their scores and times up by id.
        newest = func.array_agg(aggregate_order_by(S.attempt_id, S.completed_at.desc(), S.attempt_id.desc()))[1]
        oldest = func.array_agg(aggregate_order_by(S.attempt_id, S.completed_at, S.attempt_id))[1]
        trainee, scores = [], defaultdict(list)
        first: dict[int, tuple[str, str]] = {}
        latest: dict[int, tuple[str, str]] = {}
        attempts: dict[int, int] = defaultdict(int)
        for u, per, n, m, newest_id, oldest_id, listed in session.connection().execute(
            select(S.user_id, p, count, mean, newest, oldest, func.string_agg(cast(S.score, Text), ","))
            .where(*where)
            .group_by(S.user_id, p)
        ).all():
            trainee.append(TraineePeriod(u, per, int(n), float(m), newest_id))
            attempts[u] += int(n)
            if u not in latest or (per or "") > (latest[u][0] or ""):
                latest[u] = (per, newest_id)
            if u not in first or (per or "") < (first[u][0] or ""):
                first[u] = (per, oldest_id)
            scores[per].append(listed)
        growing = sorted(u for u, n in attempts.items() if n >= 2)
        known: dict[str, tuple] = {}
        for chunk in _chunks([i for u in growing for i in (first[u][1], latest[u][1])], 900):
            for attempt_id, score, at in session.connection().execute(
                select(S.attempt_id, S.score, S.completed_at).where(S.attempt_id.in_(chunk))
            ).all():
                known[attempt_id] = (float(score), at)
        growth = [
            GrowthRow(u, attempts[u], first[u][1], *known[first[u][1]], latest[u][1], *known[latest[u][1]])
            for u in growing
        ]
        medians = [
            (per, _median(",".join(groups)), sum(listed.count(",") + 1 for listed in groups), len(groups))
            for per, groups in sorted(scores.items(), key=lambda item: item[0] or "")
        ]
        return trainee, growth, pd.DataFrame(medians, columns=COHORT_PERIOD_COLUMNS)

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
        path's steps come from the shared path dictionary (`analytics_summary.DICTIONARIES`), so the
        counts per response are the path counts times the responses on each path. No query touches
        the steps of individual attempts.
        """
        rows = session.connection().execute(
            select(S.path_id, func.count()).where(*where).group_by(S.path_id)
        ).all()
        paths = self.dictionaries.paths(session, [path_id for path_id, _ in rows])
        picks: dict[tuple[str, str, str], int] = defaultdict(int)
        for path_id, n in rows:
            info = paths.get(path_id)
            for node, choice, _, _ in info.steps if info else ():
                if choice is not None:
                    picks[(info.content_hash, node, choice)] += int(n)  # type: ignore[union-attr]
        return [(content_hash, node, choice, n) for (content_hash, node, choice), n in sorted(picks.items())]

    def _zone_periods(self, session: Session, where: list, p: ColumnElement, labels: dict[str, str]) -> pd.DataFrame:
        """Responses (choices) per period and zone: SQL counts attempts per (period, zone multiset);
        each multiset's zone counts come from the shared zone-set dictionary."""
        order = {z: i for i, z in enumerate(labels)}
        rows = session.connection().execute(
            select(p, S.zones_id, func.count()).where(*where).group_by(p, S.zones_id)
        ).all()
        sets = self.dictionaries.zone_sets(session, [zones_id for _, zones_id, _ in rows])
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for per, zones_id, n in rows:
            for zone, k in sets.get(zones_id, ()):
                totals[(per, zone)] += int(n) * k
        data = sorted(
            ((per, zone or "unknown", labels.get(zone, zone or "unknown"), n) for (per, zone), n in totals.items()),
            key=lambda r: (r[0], order.get(r[1], 99), r[1]),
        )
        return pd.DataFrame(data, columns=ZONE_COLUMNS)

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

    def _transitions(
        self, session: Session, where: list, scenario_id: str, versions: dict[str, VersionInfo], grouped: list[tuple]
    ) -> pd.DataFrame:
        counted = session.connection().execute(
            select(S.path_id, S.ending, func.count())
            .where(*where, S.scenario_id == scenario_id)
            .group_by(S.path_id, S.ending)
        ).all()
        paths = self.dictionaries.paths(session, [path_id for path_id, _, _ in counted])
        steps: dict[tuple, int] = defaultdict(int)  # (source, choice, target or None, ending) -> attempts
        for path_id, ending, n in counted:
            info = paths.get(path_id)
            for node, choice, _, following in info.steps if info else ():
                steps[(node, choice, following, ending)] += int(n)
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


def _trainee_periods(rows: list, persons: dict[int, Person], pseudonymous: bool) -> pd.DataFrame:
    shown = [r for r in rows if not persons[r.user_id].deleted]
    return _frame(
        TRAINEE_PERIOD_COLUMNS,
        [persons[r.user_id].key() for r in shown],
        [persons[r.user_id].label(pseudonymous) for r in shown],
        [r.period for r in shown],
        [r.mean_score for r in shown],
        [r.attempts for r in shown],
        [r.attempt_id for r in shown],
    )


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
