"""Who may see whose records: the one place the access rules are written down.

Every service that reads or changes people's records takes a `Viewer` and
calls `actor()` first, which re-reads the viewer's role from the database (a
role changed or an account disabled since sign-in takes effect at once), and
builds its queries with `record_scope()`, so the WHERE clause itself limits
the rows to what the viewer may see. Hiding pages in the UI is a courtesy on
top of this, never the protection.

The rules (docs/accounts.md):

* a **trainee** (and a guest) sees only their own attempts and reflections;
* a **supervisor** sees their own records plus those of the trainees enrolled
  in the cohorts they supervise, and nothing else;
* an **admin** manages users and cohorts and may read any trainee's records
  for a privacy request; reading someone else's records is always audited.

Out-of-scope objects are reported as `NotFound`, exactly as if they did not
exist, so asking for ids one by one tells nobody which trainees exist in
other cohorts. `Forbidden` is kept for actions a role may never take at all
(a trainee listing trainees, a supervisor managing users).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from ..db.tables import CohortMember, User
from .errors import Forbidden

TRAINEE = "trainee"
SUPERVISOR = "supervisor"
ADMIN = "admin"
ROLES = (TRAINEE, SUPERVISOR, ADMIN)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person a request is made for (a guest too).

    `role` is what the UI believed at sign-in; services trust only the role
    stored in the database (see `actor`).
    """

    user_id: int
    role: str = TRAINEE


@dataclass(frozen=True)
class Actor:
    """A viewer checked against the database: exists, active, current role."""

    user_id: int
    role: str
    is_guest: bool

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_supervisor(self) -> bool:
        return self.role == SUPERVISOR


def actor(session: Session, viewer: Viewer | None) -> Actor:
    """The viewer as the database knows them now; refuses unknown, disabled or deleted users."""
    if viewer is None:
        raise Forbidden("Please sign in first.")
    user = session.get(User, viewer.user_id)
    if user is None or user.deleted_at is not None or user.disabled:
        raise Forbidden("Your account is not active any more. Please sign in again.")
    return Actor(user.id, user.role if user.role in ROLES else TRAINEE, user.is_guest)


def require_admin(session: Session, viewer: Viewer | None, doing: str) -> Actor:
    """The actor, who must be an admin; `doing` completes "Only an administrator can ..."."""
    who = actor(session, viewer)
    if not who.is_admin:
        raise Forbidden(f"Only an administrator can {doing}.")
    return who


def supervised_cohort_ids(user_id: int) -> Select[tuple[int]]:
    """The cohorts a user supervises (a subquery)."""
    return select(CohortMember.cohort_id).where(
        CohortMember.user_id == user_id, CohortMember.role == SUPERVISOR
    )


def supervised_trainee_ids(user_id: int) -> Select[tuple[int]]:
    """Trainees enrolled in a cohort this user supervises, deleted ones excluded (a subquery)."""
    return (
        select(CohortMember.user_id)
        .join(User, User.id == CohortMember.user_id)
        .where(
            CohortMember.cohort_id.in_(supervised_cohort_ids(user_id)),
            CohortMember.role == TRAINEE,
            User.deleted_at.is_(None),
        )
    )


def record_scope(who: Actor, user_id_column: ColumnElement[int]) -> ColumnElement[bool]:
    """The WHERE condition limiting rows owned by `user_id_column` to what `who` may see."""
    if who.is_admin:
        return true()
    if who.is_supervisor:
        return or_(user_id_column == who.user_id, user_id_column.in_(supervised_trainee_ids(who.user_id)))
    return user_id_column == who.user_id


def cohort_scope(who: Actor, cohort_id_column: ColumnElement[int]) -> ColumnElement[bool]:
    """The WHERE condition limiting cohorts to those `who` may manage (admin: all; supervisor: theirs)."""
    if who.is_admin:
        return true()
    if who.is_supervisor:
        return cohort_id_column.in_(supervised_cohort_ids(who.user_id))
    return false()  # trainees manage no cohort
