"""Reading trainees' records as a supervisor or admin, scoped and audited.

What a trainee reads about themselves goes through `PracticeService.history`
and `load`; this service is for looking at *other people's* records (and at
one's own the same way). Every query carries `access.record_scope`, so a
supervisor's query for a trainee of another cohort returns no row and is
reported as `NotFound`, the same as an id that does not exist. Looking at
someone else's attempts writes an audit entry before anything is returned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import Attempt, AttemptStep, Cohort, CohortMember, ScenarioVersion, StepScore, User, utcnow
from . import audit
from .access import TRAINEE, Actor, Viewer, actor, cohort_scope, record_scope
from .errors import Forbidden, NotFound
from .practice import AttemptState, PracticeService

NO_TRAINEE = "There is no trainee with that id among the records you can see."
NO_ATTEMPT = "There is no attempt with that id among the records you can see."


@dataclass(frozen=True)
class TraineeSummary:
    id: int
    display_name: str
    pseudonym: str | None
    username: str | None
    email: str | None
    cohorts: tuple[str, ...]
    attempts: int
    completed: int
    last_activity: datetime | None


@dataclass(frozen=True)
class AttemptRecord:
    id: str
    user_id: int
    scenario_id: str
    title: str
    content_hash: str
    mode: str
    status: str
    started_at: datetime
    completed_at: datetime | None
    ending: str | None
    score: float | None
    zone: str | None
    has_reflection: bool


@dataclass(frozen=True)
class StepRecord:
    step_no: int
    node_id: str
    choice_id: str | None
    score: float | None
    best_score: float | None
    zone: str | None
    created_at: datetime
    dimension_scores: dict[str, int]


@dataclass(frozen=True)
class AttemptDetail:
    attempt: AttemptRecord
    reflection: str | None
    reflection_at: datetime | None
    steps: tuple[StepRecord, ...]


def attempt_record(attempt: Attempt, title: str) -> AttemptRecord:
    return AttemptRecord(
        id=attempt.id,
        user_id=attempt.user_id,
        scenario_id=attempt.scenario_id,
        title=title,
        content_hash=attempt.content_hash,
        mode=attempt.mode,
        status=attempt.status,
        started_at=attempt.started_at,
        completed_at=attempt.completed_at,
        ending=attempt.ending,
        score=attempt.score,
        zone=attempt.zone,
        has_reflection=bool(attempt.reflection),
    )


def steps_of(session: Session, attempt_ids: list[str]) -> dict[str, list[StepRecord]]:
    """Steps with their per-dimension scores for some attempts (no permission check)."""
    if not attempt_ids:
        return {}
    scores: dict[tuple[str, int], dict[str, int]] = {}
    for row in session.scalars(select(StepScore).where(StepScore.attempt_id.in_(attempt_ids))):
        scores.setdefault((row.attempt_id, row.step_no), {})[row.dimension] = row.value
    steps: dict[str, list[StepRecord]] = {attempt_id: [] for attempt_id in attempt_ids}
    query = (
        select(AttemptStep)
        .where(AttemptStep.attempt_id.in_(attempt_ids))
        .order_by(AttemptStep.attempt_id, AttemptStep.step_no)
    )
    for step in session.scalars(query):
        steps[step.attempt_id].append(
            StepRecord(
                step_no=step.step_no,
                node_id=step.node_id,
                choice_id=step.choice_id,
                score=step.score,
                best_score=step.best_score,
                zone=step.zone,
                created_at=step.created_at,
                dimension_scores=dict(sorted(scores.get((step.attempt_id, step.step_no), {}).items())),
            )
        )
    return steps


class RecordsService:
    def __init__(
        self, store: Store, practice: PracticeService | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.practice = practice
        self.clock = clock

    def list_trainees(self, viewer: Viewer, cohort_id: int | None = None) -> list[TraineeSummary]:
        """Trainees whose records the viewer may open (a supervisor: their cohorts'; an admin: all)."""
        with self.store.read() as session:
            who = actor(session, viewer)
            if not (who.is_admin or who.is_supervisor):
                raise Forbidden("Trainees can see only their own records.")
            query = select(User).where(
                User.role == TRAINEE,
                User.is_guest.is_(False),
                User.deleted_at.is_(None),
                record_scope(who, User.id),
            )
            if cohort_id is not None:
                visible = session.scalar(
                    select(Cohort.id).where(Cohort.id == cohort_id, cohort_scope(who, Cohort.id))
                )
                if visible is None:
                    raise NotFound("There is no such cohort among the cohorts you supervise.")
                query = query.where(
                    User.id.in_(
                        select(CohortMember.user_id).where(
                            CohortMember.cohort_id == cohort_id, CohortMember.role == TRAINEE
                        )
                    )
                )
            users = list(session.scalars(query.order_by(func.lower(User.display_name), User.id)))
            ids = [user.id for user in users]
            if not ids:
                return []
            totals = {
                user_id: (total, completed or 0, last)
                for user_id, total, completed, last in session.execute(
                    select(
                        Attempt.user_id,
                        func.count(),
                        func.sum(case((Attempt.status == "completed", 1), else_=0)),
                        func.max(Attempt.updated_at),
                    )
                    .where(Attempt.user_id.in_(ids))
                    .group_by(Attempt.user_id)
                )
            }
            cohorts: dict[int, list[str]] = {}
            for user_id, name in session.execute(
                select(CohortMember.user_id, Cohort.name)
                .join(Cohort, Cohort.id == CohortMember.cohort_id)
                .where(
                    CohortMember.user_id.in_(ids), CohortMember.role == TRAINEE, cohort_scope(who, Cohort.id)
                )
                .order_by(Cohort.name)
            ):
                cohorts.setdefault(user_id, []).append(name)
            return [
                TraineeSummary(
                    id=user.id,
                    display_name=user.display_name,
                    pseudonym=user.pseudonym,
                    username=user.username,
                    email=user.email,
                    cohorts=tuple(cohorts.get(user.id, ())),
                    attempts=totals.get(user.id, (0, 0, None))[0],
                    completed=int(totals.get(user.id, (0, 0, None))[1]),
                    last_activity=totals.get(user.id, (0, 0, None))[2],
                )
                for user in users
            ]

    def attempts_of(self, viewer: Viewer, trainee_id: int) -> list[AttemptRecord]:
        """A trainee's attempts, oldest first; audited when the viewer is someone else."""
        with self.store.read() as session:
            who = actor(session, viewer)
            self._visible_user(session, who, trainee_id)
            rows = session.execute(
                select(Attempt, ScenarioVersion.title)
                .join(ScenarioVersion, ScenarioVersion.content_hash == Attempt.content_hash)
                .where(Attempt.user_id == trainee_id, record_scope(who, Attempt.user_id))
                .order_by(Attempt.started_at, Attempt.id)
            ).all()
            records = [attempt_record(attempt, title) for attempt, title in rows]
        self._audit_view(who, trainee_id, audit.VIEW_RECORDS, attempts=len(records))
        return records

    def attempt_detail(self, viewer: Viewer, attempt_id: str) -> AttemptDetail:
        """One attempt with its steps, per-dimension scores and reflection."""
        with self.store.read() as session:
            who = actor(session, viewer)
            row = session.execute(
                select(Attempt, ScenarioVersion.title)
                .join(ScenarioVersion, ScenarioVersion.content_hash == Attempt.content_hash)
                .where(Attempt.id == attempt_id, record_scope(who, Attempt.user_id))
            ).first()
            if row is None:
                raise NotFound(NO_ATTEMPT)
            attempt, title = row
            detail = AttemptDetail(
                attempt=attempt_record(attempt, title),
                reflection=attempt.reflection,
                reflection_at=attempt.reflection_at,
                steps=tuple(steps_of(session, [attempt.id])[attempt.id]),
            )
        self._audit_view(who, detail.attempt.user_id, audit.VIEW_ATTEMPT, attempt_id=attempt_id)
        return detail

    def open_attempt(self, viewer: Viewer, attempt_id: str) -> AttemptState:
        """An attempt replayed for the debrief view, after the same check (and audit) as `attempt_detail`."""
        if self.practice is None:  # pragma: no cover - wiring error
            raise RuntimeError("RecordsService was built without a PracticeService")
        detail = self.attempt_detail(viewer, attempt_id)
        return self.practice.load(attempt_id, detail.attempt.user_id)

    # -- helpers --------------------------------------------------------------------------

    def _visible_user(self, session: Session, who: Actor, user_id: int) -> User:
        user = session.scalar(select(User).where(User.id == user_id, record_scope(who, User.id)))
        if user is None:
            raise NotFound(NO_TRAINEE)
        return user

    def _audit_view(self, who: Actor, subject_id: int, action: str, **detail: object) -> None:
        if subject_id == who.user_id:
            return  # one's own records: nothing to account for
        with self.store.write() as session:
            audit.record(session, who.user_id, action, subject_id, at=self.clock(), **detail)
