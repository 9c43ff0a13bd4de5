"""Privacy requests: export everything about one trainee; delete their personal data.

* **Export** (an administrator, or the trainee about themselves): one JSON
  document with the profile, cohort memberships, every attempt with its
  steps, per-dimension scores and reflection, group sessions joined with the
  answers given there, sign-in sessions (never their tokens) and every audit
  entry about them, including this export's own.
* **Delete** (an administrator, on the trainee's request): the name becomes
  "Deleted trainee"; username, email, password, single sign-on link and
  reflections are erased; sessions end; the account is closed; its public id
  and pseudonym are replaced, so no old link or board label points at it.
  Attempts, steps, scores and cohort memberships stay, attached to that
  anonymous row, so cohort statistics do not change. Hard-deleting the row
  would silently rewrite the history of a whole cohort.

Both are audited in the same transaction as the operation itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import (
    Attempt,
    AuthSession,
    Cohort,
    CohortMember,
    ScenarioVersion,
    User,
    as_utc,
    new_pseudonym,
    utcnow,
)
from . import audit
from .access import TRAINEE, Viewer, actor
from .accounts import DELETED_NAME
from .errors import Conflict, Forbidden, NotFound
from .practice import new_token
from .records import steps_of

EXPORT_FORMAT = "repairlab.personal-data/1"


@dataclass(frozen=True)
class DeletionReport:
    user_id: int
    pseudonym: str
    attempts_kept: int
    reflections_erased: int
    sessions_ended: int


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


class PrivacyService:
    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    def export_trainee(self, viewer: Viewer, user_id: int) -> dict:
        """Everything stored about one person, as JSON-ready data; audited."""
        with self.store.write() as session:
            who = actor(session, viewer)
            if not who.is_admin and user_id != who.user_id:
                raise Forbidden(
                    "Only an administrator can export someone's data (anyone can export their own)."
                )
            user = session.get(User, user_id)
            if user is None:
                raise NotFound("There is no such person.")
            now = self.clock()
            audit.record(session, who.user_id, audit.EXPORT, user.id, at=now)
            session.flush()
            return {
                "format": EXPORT_FORMAT,
                "exported_at": now.isoformat(),
                "exported_by": who.user_id,
                "profile": _profile(user),
                "memberships": _memberships(session, user.id),
                "attempts": _attempts(session, user.id),
                "group_sessions": _group_participations(session, user.id),
                "sessions": _sessions(session, user.id),
                "audit": [entry.as_json() for entry in audit.entries_about(session, user.id)],
            }

    def export_trainee_json(self, viewer: Viewer, user_id: int) -> str:
        """The export as a UTF-8 JSON text, ready for a download button."""
        return json.dumps(self.export_trainee(viewer, user_id), indent=2, ensure_ascii=False)

    def delete_personal_data(self, viewer: Viewer, user_id: int) -> DeletionReport:
        """Erase a trainee's personal data, keeping their anonymised scores; audited."""
        with self.store.write() as session:
            who = actor(session, viewer)
            if not who.is_admin:
                raise Forbidden("Only an administrator can delete a trainee's personal data.")
            user = session.get(User, user_id, with_for_update=not self.store.is_sqlite)
            if user is None:
                raise NotFound("There is no such person.")
            if user.deleted_at is not None:
                raise Conflict(
                    f"This trainee's personal data was already deleted on {user.deleted_at:%Y-%m-%d}."
                )
            if user.role != TRAINEE:
                raise Conflict(
                    f"{user.display_name} is {user.role}, not a trainee. Change their role to trainee first "
                    "(their supervision records stay in the audit log)."
                )
            now = self.clock()
            attempts = session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.user_id == user.id)
            )
            erased = session.execute(
                update(Attempt)
                .where(Attempt.user_id == user.id, Attempt.reflection.is_not(None))
                .values(reflection=None, reflection_at=None)
            ).rowcount
            ended = session.execute(delete(AuthSession).where(AuthSession.user_id == user.id)).rowcount
            user.display_name = DELETED_NAME
            user.username = None
            user.email = None
            user.password_hash = None
            user.oidc_subject = None
            user.disabled = True
            user.deleted_at = now
            user.public_id = new_token()
            user.pseudonym = _free_pseudonym(session)
            audit.record(
                session,
                who.user_id,
                audit.DELETE,
                user.id,
                at=now,
                attempts_kept=attempts,
                reflections_erased=erased,
                sessions_ended=ended,
            )
            return DeletionReport(user.id, user.pseudonym, attempts, erased, ended)


def _free_pseudonym(session: Session) -> str:
    for attempt in range(50):
        candidate = new_pseudonym(4 if attempt < 20 else 6)
        if session.scalar(select(User.id).where(User.pseudonym == candidate)) is None:
            return candidate
    raise Conflict("Could not make a new pseudonym; please try again.")  # pragma: no cover


def _profile(user: User) -> dict:
    return {
        "id": user.id,
        "public_id": user.public_id,
        "display_name": user.display_name,
        "username": user.username,
        "email": user.email,
        "pseudonym": user.pseudonym,
        "role": user.role,
        "is_guest": user.is_guest,
        "single_sign_on_subject": user.oidc_subject,
        "has_password": user.password_hash is not None,
        "disabled": bool(user.disabled),
        "created_at": _iso(user.created_at),
        "deleted_at": _iso(user.deleted_at),
    }


def _memberships(session: Session, user_id: int) -> list[dict]:
    rows = session.execute(
        select(CohortMember, Cohort)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.user_id == user_id)
        .order_by(CohortMember.joined_at, Cohort.id)
    ).all()
    return [
        {
            "cohort_id": cohort.id,
            "cohort": cohort.name,
            "program": cohort.program,
            "year": cohort.year,
            "role": member.role,
            "joined_at": _iso(member.joined_at),
        }
        for member, cohort in rows
    ]


def _attempts(session: Session, user_id: int) -> list[dict]:
    rows = session.execute(
        select(Attempt, ScenarioVersion.title)
        .join(ScenarioVersion, ScenarioVersion.content_hash == Attempt.content_hash)
        .where(Attempt.user_id == user_id)
        .order_by(Attempt.started_at, Attempt.id)
    ).all()
    steps = steps_of(session, [attempt.id for attempt, _ in rows])
    return [
        {
            "id": attempt.id,
            "scenario_id": attempt.scenario_id,
            "scenario_title": title,
            "scenario_version": attempt.content_hash,
            "mode": attempt.mode,
            "status": attempt.status,
            "started_at": _iso(attempt.started_at),
            "updated_at": _iso(attempt.updated_at),
            "completed_at": _iso(attempt.completed_at),
            "ending": attempt.ending,
            "score": attempt.score,
            "zone": attempt.zone,
            "reflection": attempt.reflection,
            "reflection_at": _iso(attempt.reflection_at),
            "steps": [
                {
                    "step": step.step_no,
                    "node": step.node_id,
                    "choice": step.choice_id,
                    "score": step.score,
                    "best_score": step.best_score,
                    "zone": step.zone,
                    "at": _iso(step.created_at),
                    "dimension_scores": step.dimension_scores,
                }
                for step in steps[attempt.id]
            ],
        }
        for attempt, title in rows
    ]


def _group_participations(session: Session, user_id: int) -> list[dict]:
    """Group sessions joined, with the private answers given (their attempts are under "attempts")."""
    from ..db.tables_groups import GroupAnswer, GroupParticipant, GroupSession

    rows = session.execute(
        select(GroupParticipant, GroupSession.scenario_id)
        .join(GroupSession, GroupSession.id == GroupParticipant.session_id)
        .where(GroupParticipant.user_id == user_id)
        .order_by(GroupParticipant.joined_at, GroupParticipant.id)
    ).all()
    answers: dict[int, list[dict]] = {}
    ids = [participant.id for participant, _ in rows]
    if ids:
        for answer in session.scalars(
            select(GroupAnswer).where(GroupAnswer.participant_id.in_(ids)).order_by(GroupAnswer.step_no)
        ):
            answers.setdefault(answer.participant_id, []).append(
                {
                    "step": answer.step_no,
                    "node": answer.node_id,
                    "choice": answer.choice_id,
                    "at": _iso(answer.answered_at),
                }
            )
    return [
        {
            "session_id": participant.session_id,
            "scenario_id": scenario_id,
            "joined_at": _iso(participant.joined_at),
            "answers": answers.get(participant.id, []),
        }
        for participant, scenario_id in rows
    ]


def _sessions(session: Session, user_id: int) -> list[dict]:
    rows = session.scalars(
        select(AuthSession).where(AuthSession.user_id == user_id).order_by(AuthSession.created_at)
    )
    return [
        {
            "created_at": _iso(row.created_at),
            "last_seen_at": _iso(row.last_seen_at),
            "expires_at": _iso(row.expires_at),
            "client": row.client,
        }
        for row in rows
    ]
