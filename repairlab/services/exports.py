"""CSV exports of practice records: one row per choice, or one row per attempt.

The rows are exactly the population of the dashboard (`analytics.population`):
completed attempts in the viewer's scope, filtered by cohort, scenario and
completion date. A trainee may export their own attempts only.

Identity columns depend on the viewer's rights and the `pseudonymous` flag:

* ``trainee_id``: the trainee's pseudonym ("Trainee 4F7K") when
  pseudonymous; otherwise their username (or, for single sign-on accounts
  without one, their email, else the pseudonym);
* ``trainee_name``: the display name, left empty when pseudonymous;
* a trainee whose personal data was deleted is ``deleted`` with no name:
  their anonymised scores still count, as in the dashboard.

Every export of other people's records is written to the audit log first
(one entry per trainee, action ``export_analytics``). Rows are produced by a
generator reading the database in chunks (`yield_per`), so the whole table is
never held in memory: `choice_csv_chunks` yields CSV text a few hundred rows
at a time, for a streaming response or a file. Columns are documented in
docs/analytics.md (and in `CHOICE_COLUMNS_BASE` / `ATTEMPT_COLUMNS_BASE`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import Attempt, AttemptStep, ScenarioVersion, StepScore, as_utc, utcnow
from . import audit
from .access import Actor, Viewer, actor
from .analytics import Filters, Person, cohort_names, people, population
from .analytics_versions import VERSIONS, VersionCache
from .errors import NotFound

EXPORT_ANALYTICS = "export_analytics"
CHUNK = 2_000

CHOICE_COLUMNS_BASE = [
    "cohort", "trainee_id", "trainee_name", "scenario_id", "scenario_version", "attempt_id", "mode",
    "step", "node", "choice", "strategies",
]
CHOICE_COLUMNS_END = ["choice_score", "best_score", "zone", "timestamp"]
ATTEMPT_COLUMNS_BASE = [
    "cohort", "trainee_id", "trainee_name", "scenario_id", "scenario_title", "scenario_version", "attempt_id",
    "mode", "started_at", "completed_at", "ending", "score", "zone", "choices",
]
ATTEMPT_COLUMNS_END = ["has_reflection"]


@dataclass(frozen=True)
class Identity:
    trainee_id: str
    trainee_name: str
    cohort: str


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else as_utc(moment).isoformat(timespec="seconds")


def _num(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class ExportService:
    def __init__(
        self, store: Store, versions: VersionCache | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.versions = versions or VERSIONS
        self.clock = clock

    # -- what is exported -------------------------------------------------------------------------

    def dimensions(self, viewer: Viewer | None, filters: Filters) -> list[str]:
        """Rubric dimensions of the scenario versions in the export, in rubric order."""
        with self.store.read() as session:
            who = self._who(session, viewer, filters)
            return self._dimensions(session, who, filters)

    def choice_columns(self, dimensions: list[str]) -> list[str]:
        return CHOICE_COLUMNS_BASE + [f"score_{d}" for d in dimensions] + CHOICE_COLUMNS_END

    def attempt_columns(self, dimensions: list[str]) -> list[str]:
        return ATTEMPT_COLUMNS_BASE + [f"mean_{d}" for d in dimensions] + ATTEMPT_COLUMNS_END

    # -- rows ----------------------------------------------------------------------------------

    def choice_rows(self, viewer: Viewer | None, filters: Filters, pseudonymous: bool = False) -> Iterator[dict]:
        """One dict per choice (columns of `choice_columns`), oldest attempt first; audited up front."""
        with self.store.read() as session:
            who = self._who(session, viewer, filters)
            dims = self._dimensions(session, who, filters)
            where = population(who, filters)
            idents = self._identities(session, who, where, pseudonymous)
            self._audit(who, idents, filters, "choices", pseudonymous)
            per_dim = [
                select(StepScore.value)
                .where(
                    StepScore.attempt_id == AttemptStep.attempt_id,
                    StepScore.step_no == AttemptStep.step_no,
                    StepScore.dimension == dim,
                )
                .scalar_subquery()
                .label(f"score_{dim}")
                for dim in dims
            ]
            query = (
                select(
                    Attempt.id, Attempt.user_id, Attempt.content_hash, Attempt.scenario_id, Attempt.mode,
                    AttemptStep.step_no, AttemptStep.node_id, AttemptStep.choice_id, AttemptStep.score,
                    AttemptStep.best_score, AttemptStep.zone, AttemptStep.created_at, *per_dim,
                )
                .select_from(AttemptStep)
                .join(Attempt, Attempt.id == AttemptStep.attempt_id)
                .where(*where, AttemptStep.choice_id.is_not(None))
                .order_by(Attempt.completed_at, Attempt.id, AttemptStep.step_no)
                .execution_options(yield_per=CHUNK)
            )
            versions: dict = {}
            for row in session.execute(query):
                if row.content_hash not in versions:
                    versions.update(self.versions.get(session, [row.content_hash]))
                info = versions.get(row.content_hash)
                ident = idents[row.user_id]
                out = {
                    "cohort": ident.cohort,
                    "trainee_id": ident.trainee_id,
                    "trainee_name": ident.trainee_name,
                    "scenario_id": row.scenario_id,
                    "scenario_version": row.content_hash,
                    "attempt_id": row.id,
                    "mode": row.mode,
                    "step": row.step_no,
                    "node": row.node_id,
                    "choice": row.choice_id,
                    "strategies": ";".join(info.strategies(row.node_id, row.choice_id)) if info else "",
                }
                for dim in dims:
                    value = getattr(row, f"score_{dim}")
                    out[f"score_{dim}"] = "" if value is None else value
                out.update(
                    choice_score=_num(row.score),
                    best_score=_num(row.best_score),
                    zone=row.zone or "",
                    timestamp=_iso(row.created_at),
                )
                yield out

    def attempt_rows(self, viewer: Viewer | None, filters: Filters, pseudonymous: bool = False) -> Iterator[dict]:
        """One dict per completed attempt (columns of `attempt_columns`); audited up front."""
        with self.store.read() as session:
            who = self._who(session, viewer, filters)
            dims = self._dimensions(session, who, filters)
            where = population(who, filters)
            idents = self._identities(session, who, where, pseudonymous)
            self._audit(who, idents, filters, "attempts", pseudonymous)
            means = [
                select(func.avg(StepScore.value))
                .where(StepScore.attempt_id == Attempt.id, StepScore.dimension == dim)
                .scalar_subquery()
                .label(f"mean_{dim}")
                for dim in dims
            ]
            choices = (
                select(func.count())
                .select_from(AttemptStep)
                .where(AttemptStep.attempt_id == Attempt.id, AttemptStep.choice_id.is_not(None))
                .scalar_subquery()
                .label("choices")
            )
            query = (
                select(
                    Attempt.id, Attempt.user_id, Attempt.content_hash, Attempt.scenario_id, ScenarioVersion.title,
                    Attempt.mode, Attempt.started_at, Attempt.completed_at, Attempt.ending, Attempt.score,
                    Attempt.zone, Attempt.reflection, choices, *means,
                )
                .join(ScenarioVersion, ScenarioVersion.content_hash == Attempt.content_hash)
                .where(*where)
                .order_by(Attempt.completed_at, Attempt.id)
                .execution_options(yield_per=CHUNK)
            )
            for row in session.execute(query):
                ident = idents[row.user_id]
                out = {
                    "cohort": ident.cohort,
                    "trainee_id": ident.trainee_id,
                    "trainee_name": ident.trainee_name,
                    "scenario_id": row.scenario_id,
                    "scenario_title": safe_cell(row.title),
                    "scenario_version": row.content_hash,
                    "attempt_id": row.id,
                    "mode": row.mode,
                    "started_at": _iso(row.started_at),
                    "completed_at": _iso(row.completed_at),
                    "ending": row.ending or "",
                    "score": _num(row.score),
                    "zone": row.zone or "",
                    "choices": int(row.choices or 0),
                }
                for dim in dims:
                    out[f"mean_{dim}"] = _num(getattr(row, f"mean_{dim}"), 3)
                out["has_reflection"] = "yes" if row.reflection and ident.trainee_id != "deleted" else "no"
                yield out

    # -- CSV -----------------------------------------------------------------------------------

    def choice_csv_chunks(self, viewer: Viewer | None, filters: Filters, pseudonymous: bool = False) -> Iterator[str]:
        dims = self.dimensions(viewer, filters)
        return _csv_chunks(self.choice_columns(dims), self.choice_rows(viewer, filters, pseudonymous))

    def attempt_csv_chunks(self, viewer: Viewer | None, filters: Filters, pseudonymous: bool = False) -> Iterator[str]:
        dims = self.dimensions(viewer, filters)
        return _csv_chunks(self.attempt_columns(dims), self.attempt_rows(viewer, filters, pseudonymous))

    def choice_csv(self, viewer: Viewer | None, filters: Filters, pseudonymous: bool = False) -> bytes:
        """The whole file (for a download button), built chunk by chunk."""
        return _join(self.choice_csv_chunks(viewer, filters, pseudonymous))

    def attempt_csv(self, viewer: Viewer | None, filters: Filters, pseudonymous: bool = False) -> bytes:
        return _join(self.attempt_csv_chunks(viewer, filters, pseudonymous))

    # -- helpers -------------------------------------------------------------------------------

    def _who(self, session: Session, viewer: Viewer | None, filters: Filters) -> Actor:
        who = actor(session, viewer)
        if filters.cohort_id is not None and (who.is_admin or who.is_supervisor):
            from .analytics import analyst

            analyst(session, viewer, filters)  # NotFound for a cohort out of scope
        elif filters.cohort_id is not None:
            raise NotFound("There is no such cohort among the cohorts you can see.")
        return who

    def _dimensions(self, session: Session, who: Actor, filters: Filters) -> list[str]:
        hashes = [h for (h,) in session.execute(
            select(Attempt.content_hash).where(*population(who, filters)).group_by(Attempt.content_hash)
        )]
        dims: list[str] = []
        for version in self.versions.get(session, hashes).values():
            for dim in version.rubric.dimensions:
                if dim not in dims:
                    dims.append(dim)
        return dims

    def _identities(self, session: Session, who: Actor, where: list, pseudonymous: bool) -> dict[int, Identity]:
        ids = [u for (u,) in session.execute(select(Attempt.user_id).where(*where).group_by(Attempt.user_id))]
        persons = people(session, ids)
        cohorts = cohort_names(session, who, ids)
        return {uid: _identity(persons[uid], "; ".join(cohorts.get(uid, [])), pseudonymous) for uid in ids}

    def _audit(self, who: Actor, idents: dict[int, Identity], filters: Filters, what: str, pseudonymous: bool) -> None:
        subjects = sorted(uid for uid, ident in idents.items() if uid != who.user_id and ident.trainee_id != "deleted")
        if not subjects:
            return
        now = self.clock()
        with self.store.write() as session:
            for uid in subjects:
                audit.record(
                    session, who.user_id, EXPORT_ANALYTICS, uid, at=now, rows=what, pseudonymous=pseudonymous,
                    cohort_id=filters.cohort_id, scenario_id=filters.scenario_id,
                )


def safe_cell(text: str) -> str:
    """Text typed by people, made inert for spreadsheets: a leading =, +, -, @, tab or
    carriage return would start a formula, so such cells get a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _identity(person: Person, cohort: str, pseudonymous: bool) -> Identity:
    cohort = safe_cell(cohort)
    if person.deleted:
        return Identity("deleted", "", cohort)
    if pseudonymous:
        return Identity(person.pseudonym, "", cohort)
    return Identity(safe_cell(person.username or person.email or person.pseudonym), safe_cell(person.name), cohort)


def _csv_chunks(columns: list[str], rows: Iterator[dict], every: int = 500) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="raise", lineterminator="\n")
    writer.writeheader()
    for index, row in enumerate(rows, start=1):
        writer.writerow(row)
        if index % every == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _join(chunks: Iterator[str]) -> bytes:
    out = io.BytesIO()
    out.write("\ufeff".encode())  # so spreadsheet programs read the file as UTF-8
    for chunk in chunks:
        out.write(chunk.encode("utf-8"))
    return out.getvalue()
