"""The audit log: who viewed, exported, changed or deleted whose records, and when.

Trainees are told that every look at their records by someone else is
written down; this module is where that promise is kept. Entries are written
with `record()` inside the transaction of the operation they describe (or,
for reads, before the data is returned), so an operation and its audit entry
stand or fall together. Details hold ids and counts only, never names or
free text, so the log keeps no copy of personal data that a deletion clears.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import AuditEntry, User, as_utc, utcnow
from .access import Viewer, require_admin

# Actions, as stored in audit_log.action.
VIEW_RECORDS = "view_records"
VIEW_ATTEMPT = "view_attempt"
EXPORT = "export_personal_data"
DELETE = "delete_personal_data"
CREATE_USER = "create_user"
SET_ROLE = "set_role"
SET_PASSWORD = "set_password"
SET_DISABLED = "set_disabled"
FIRST_ADMIN = "setup_first_admin"
CLAIM_GUEST = "claim_guest_attempts"
CREATE_COHORT = "create_cohort"
UPDATE_COHORT = "update_cohort"
ADD_MEMBER = "add_member"
REMOVE_MEMBER = "remove_member"
IMPORT_ROSTER = "import_roster"
NEW_INVITE_CODE = "new_invite_code"
JOIN_COHORT = "join_cohort"


def record(
    session: Session,
    actor_id: int | None,
    action: str,
    subject_user_id: int | None = None,
    at: datetime | None = None,
    **detail: object,
) -> None:
    """Add one audit entry to the caller's transaction."""
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor_id=actor_id,
            action=action,
            subject_user_id=subject_user_id,
            detail=json.dumps(detail, sort_keys=True, default=str),
        )
    )


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    actor_role: str | None
    action: str
    subject_user_id: int | None
    detail: dict

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "at": as_utc(self.at).isoformat(),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_role": self.actor_role,
            "action": self.action,
            "subject_user_id": self.subject_user_id,
            "detail": self.detail,
        }


def entries_about(session: Session, subject_user_id: int) -> list[AuditRecord]:
    """Every entry about one person, oldest first (no permission check: callers check)."""
    return _entries(session, AuditEntry.subject_user_id == subject_user_id, limit=None)


def _entries(session: Session, condition, limit: int | None) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    query = (
        select(AuditEntry, User.display_name, User.role)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(condition)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    if limit is not None:
        query = query.order_by(None).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    rows = session.execute(query).all()
    records = [
        AuditRecord(
            id=entry.id,
            at=entry.at,
            actor_id=entry.actor_id,
            actor_name=name,
            actor_role=role,
            action=entry.action,
            subject_user_id=entry.subject_user_id,
            detail=json.loads(entry.detail or "{}"),
        )
        for entry, name, role in rows
    ]
    return records if limit is None else list(reversed(records))


class AuditService:
    """Reading the log: administrators only."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock

    def entries(
        self, viewer: Viewer, subject_user_id: int | None = None, limit: int = 500
    ) -> list[AuditRecord]:
        """The newest `limit` entries (about one person if given), oldest first."""
        with self.store.read() as session:
            require_admin(session, viewer, "read the audit log")
            condition = (
                AuditEntry.subject_user_id == subject_user_id
                if subject_user_id is not None
                else AuditEntry.id.is_not(None)
            )
            return _entries(session, condition, limit=limit)
