"""Cohorts and enrolment: who supervises whom, invite codes, roster uploads.

Membership is what gives a supervisor sight of a trainee's records (see
`access.py`), so enrolment is guarded as carefully as the records:

* an admin creates cohorts and assigns supervisors (accounts whose role is
  supervisor or admin);
* a trainee joins with the cohort's invite code (their consent), or is put
  in by an admin; a supervisor may upload a roster that *creates* accounts,
  or add trainees they can already see (from another cohort of theirs), but
  cannot pull an existing trainee from someone else's cohort into theirs:
  that would open that trainee's records without their consent;
* a supervisor may remove trainees, and themselves unless it is the last
  cohort they supervise; only an admin removes other supervisors.

Every change is one transaction: a roster with one bad row imports nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db import Store
from ..db.tables import Cohort, CohortMember, User, random_code, utcnow
from . import audit
from .access import (
    ADMIN,
    SUPERVISOR,
    TRAINEE,
    Actor,
    Viewer,
    actor,
    cohort_scope,
    record_scope,
    require_admin,
)
from .accounts import Account, AccountService, account_of, clean_name, new_account
from .errors import Conflict, Forbidden, NotFound, UserFacingError
from .roster import RosterRejected, RosterRow, RowProblem, parse_roster

INVITE_LENGTH = 8
YEAR_RANGE = (1900, 2200)
NO_COHORT = "There is no such cohort among the cohorts you can manage."


def format_invite_code(code: str) -> str:
    """ "K7QM4XPA" -> "K7QM-4XPA", easier to read aloud and copy."""
    return f"{code[:4]}-{code[4:]}" if len(code) == INVITE_LENGTH else code


def normalise_invite_code(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


@dataclass(frozen=True)
class CohortInfo:
    id: int
    name: str
    program: str | None
    year: int | None
    archived: bool
    invite_code: str | None  # formatted; only for those who manage the cohort
    trainees: int
    supervisors: int
    created_at: datetime


@dataclass(frozen=True)
class Member:
    user_id: int
    display_name: str
    username: str | None
    email: str | None
    pseudonym: str | None
    role: str  # in this cohort: trainee | supervisor
    joined_at: datetime
    can_sign_in: bool  # has a password or a single sign-on link


@dataclass(frozen=True)
class RosterResult:
    created: tuple[str, ...]  # usernames of new accounts (no password yet)
    enrolled: tuple[str, ...]  # existing accounts added to the cohort
    unchanged: tuple[str, ...]  # already in the cohort in that role


class CohortService:
    def __init__(
        self, store: Store, accounts: AccountService | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.store = store
        self.accounts = accounts or AccountService(store, clock=clock)
        self.clock = clock

    # -- cohorts ----------------------------------------------------------------------------

    def create_cohort(
        self, viewer: Viewer, name: str, program: str | None = None, year: int | None = None
    ) -> CohortInfo:
        name, program, year = _clean_cohort(name, program, year)
        with self.store.write() as session:
            who = require_admin(session, viewer, "create cohorts")
            self._refuse_duplicate_name(session, name)
            cohort = Cohort(
                name=name, program=program, year=year, archived=False, invite_code=self._free_code(session)
            )
            session.add(cohort)
            session.flush()
            audit.record(
                session, who.user_id, audit.CREATE_COHORT, None, at=self.clock(), cohort_id=cohort.id
            )
            return self._info(session, cohort, show_code=True)

    def update_cohort(
        self,
        viewer: Viewer,
        cohort_id: int,
        name: str | None = None,
        program: str | None = None,
        year: int | None = None,
        archived: bool | None = None,
    ) -> CohortInfo:
        """Rename, re-describe or (un)archive a cohort; arguments left as None are unchanged."""
        with self.store.write() as session:
            who = require_admin(session, viewer, "change cohorts")
            cohort = self._cohort(session, who, cohort_id)
            new_name, new_program, new_year = _clean_cohort(
                cohort.name if name is None else name,
                cohort.program if program is None else program,
                cohort.year if year is None else year,
            )
            if new_name.lower() != cohort.name.lower():
                self._refuse_duplicate_name(session, new_name)
            cohort.name, cohort.program, cohort.year = new_name, new_program, new_year
            if archived is not None:
                cohort.archived = archived
            audit.record(
                session,
                who.user_id,
                audit.UPDATE_COHORT,
                None,
                at=self.clock(),
                cohort_id=cohort.id,
                archived=cohort.archived,
            )
            return self._info(session, cohort, show_code=True)

    def list_cohorts(self, viewer: Viewer, include_archived: bool = True) -> list[CohortInfo]:
        """Admin: every cohort; supervisor: theirs; trainee: the ones they are in (no invite codes)."""
        with self.store.read() as session:
            who = actor(session, viewer)
            if who.is_admin or who.is_supervisor:
                query = select(Cohort).where(cohort_scope(who, Cohort.id))
            else:
                query = select(Cohort).where(
                    Cohort.id.in_(select(CohortMember.cohort_id).where(CohortMember.user_id == who.user_id))
                )
            if not include_archived:
                query = query.where(Cohort.archived.is_(False))
            cohorts = list(session.scalars(query.order_by(Cohort.archived, Cohort.name)))
            manage = who.is_admin or who.is_supervisor
            return [self._info(session, cohort, show_code=manage) for cohort in cohorts]

    def cohort(self, viewer: Viewer, cohort_id: int) -> CohortInfo:
        with self.store.read() as session:
            who = actor(session, viewer)
            return self._info(session, self._cohort(session, who, cohort_id), show_code=True)

    def roster(self, viewer: Viewer, cohort_id: int) -> list[Member]:
        """Everyone in a cohort, supervisors first (admins and the cohort's supervisors only)."""
        with self.store.read() as session:
            who = actor(session, viewer)
            cohort = self._cohort(session, who, cohort_id)
            rows = session.execute(
                select(CohortMember, User)
                .join(User, User.id == CohortMember.user_id)
                .where(CohortMember.cohort_id == cohort.id, User.deleted_at.is_(None))
                .order_by(CohortMember.role.desc(), func.lower(User.display_name), User.id)
            ).all()
            return [
                Member(
                    user_id=user.id,
                    display_name=user.display_name,
                    username=user.username,
                    email=user.email,
                    pseudonym=user.pseudonym,
                    role=member.role,
                    joined_at=member.joined_at,
                    can_sign_in=user.password_hash is not None or user.oidc_subject is not None,
                )
                for member, user in rows
            ]

    # -- membership -------------------------------------------------------------------------

    def assign_supervisor(self, viewer: Viewer, cohort_id: int, user_id: int) -> None:
        with self.store.write() as session:
            who = require_admin(session, viewer, "assign supervisors")
            cohort = self._cohort(session, who, cohort_id)
            user = self._account(session, user_id)
            if user.role not in (SUPERVISOR, ADMIN):
                raise Conflict(
                    f"{user.display_name} is a trainee account; make them a supervisor first "
                    "(user management), then assign them."
                )
            self._add(session, who, cohort, user, SUPERVISOR)

    def add_trainee(self, viewer: Viewer, cohort_id: int, user_id: int) -> None:
        """Enrol an existing trainee account (a supervisor: only trainees already in one of their cohorts)."""
        with self.store.write() as session:
            who = actor(session, viewer)
            cohort = self._cohort(session, who, cohort_id)
            user = self._account(session, user_id)
            if user.role != TRAINEE:
                raise Conflict(f"{user.display_name} is {user.role}, not a trainee account.")
            if (
                not who.is_admin
                and session.scalar(select(User.id).where(User.id == user.id, record_scope(who, User.id)))
                is None
            ):
                raise Forbidden(
                    f"{user.display_name} is not in a cohort you supervise. They can join with the cohort's "
                    "invite code, or an administrator can add them."
                )
            self._add(session, who, cohort, user, TRAINEE)

    def remove_member(self, viewer: Viewer, cohort_id: int, user_id: int) -> None:
        with self.store.write() as session:
            who = actor(session, viewer)
            cohort = self._cohort(session, who, cohort_id)
            member = session.get(CohortMember, (cohort.id, user_id))
            if member is None:
                raise NotFound(f"That person is not a member of {cohort.name}.")
            if member.role == SUPERVISOR and not who.is_admin:
                if user_id != who.user_id:
                    raise Forbidden("Only an administrator can remove another supervisor from a cohort.")
                others = session.scalar(
                    select(func.count())
                    .select_from(CohortMember)
                    .join(Cohort, Cohort.id == CohortMember.cohort_id)
                    .where(
                        CohortMember.user_id == who.user_id,
                        CohortMember.role == SUPERVISOR,
                        CohortMember.cohort_id != cohort.id,
                        Cohort.archived.is_(False),
                    )
                )
                if not others:
                    raise Conflict(
                        f"You cannot leave {cohort.name}: it is the last cohort you supervise, and you would "
                        "lose sight of every trainee in it. Ask an administrator to assign another supervisor "
                        "or to remove you."
                    )
            session.delete(member)
            audit.record(
                session,
                who.user_id,
                audit.REMOVE_MEMBER,
                user_id,
                at=self.clock(),
                cohort_id=cohort.id,
                role=member.role,
            )

    # -- invite codes -----------------------------------------------------------------------

    def regenerate_invite_code(self, viewer: Viewer, cohort_id: int) -> str:
        """A new code for the cohort; the old one stops working at once."""
        with self.store.write() as session:
            who = actor(session, viewer)
            cohort = self._cohort(session, who, cohort_id)
            cohort.invite_code = self._free_code(session)
            audit.record(
                session, who.user_id, audit.NEW_INVITE_CODE, None, at=self.clock(), cohort_id=cohort.id
            )
            return format_invite_code(cohort.invite_code)

    def join_with_code(self, viewer: Viewer, code: str) -> CohortInfo:
        """A signed-in trainee joins a cohort with its invite code (joining twice is harmless)."""
        with self.store.write() as session:
            who = actor(session, viewer)
            if who.is_guest:
                raise Forbidden(
                    "Please create an account or sign in to join a cohort; your guest practice can come with you."
                )
            cohort = self._cohort_by_code(session, code)
            if who.role != TRAINEE:
                raise Conflict(
                    "Invite codes enrol trainees. To supervise a cohort, ask an administrator to assign you."
                )
            user = session.get(User, who.user_id)
            self._add(session, who, cohort, user, TRAINEE, via="invite code")
            return self._info(session, cohort, show_code=False)

    def register_with_invite(
        self, code: str, username: str, display_name: str, password: str, email: str | None = None
    ) -> Account:
        """Self-registration: a new local trainee account, enrolled with the invite code, in one step."""
        values = self.accounts.check_new_account(username, display_name, password, email)
        if values["password_hash"] is None:
            raise UserFacingError("Please choose a password.")
        with self.store.write() as session:
            cohort = self._cohort_by_code(session, code)
            user = self.accounts.insert_account(session, values, TRAINEE)
            audit.record(
                session, user.id, audit.CREATE_USER, user.id, at=self.clock(), role=TRAINEE, via="invite code"
            )
            who = Actor(user.id, TRAINEE, False)
            self._add(session, who, cohort, user, TRAINEE, via="invite code")
            return account_of(user)

    # -- roster upload ----------------------------------------------------------------------

    def import_roster(self, viewer: Viewer, cohort_id: int, data: str | bytes) -> RosterResult:
        """Create and enrol everyone in a roster CSV, or nothing at all if any row is bad.

        New accounts have no password: an admin sets one, or the person signs
        in with single sign-on (linked on first sign-in by verified email).
        """
        rows, problems = parse_roster(data)
        if problems:
            raise RosterRejected(problems)
        try:
            with self.store.write() as session:
                who = actor(session, viewer)
                cohort = self._cohort(session, who, cohort_id)
                if cohort.archived:
                    raise Conflict(f"{cohort.name} is archived and no longer takes new members.")
                plan = self._plan_roster(session, who, cohort, rows)
                created, enrolled, unchanged = [], [], []
                for row, existing in plan:
                    if existing is None:
                        existing = new_account(
                            session,
                            username=row.username,
                            display_name=row.display_name,
                            role=row.role,
                            email=row.email,
                        )
                        created.append(row.username)
                        session.add(
                            CohortMember(
                                cohort_id=cohort.id,
                                user_id=existing.id,
                                role=row.role,
                                joined_at=self.clock(),
                            )
                        )
                    elif session.get(CohortMember, (cohort.id, existing.id)) is None:
                        enrolled.append(row.username)
                        session.add(
                            CohortMember(
                                cohort_id=cohort.id,
                                user_id=existing.id,
                                role=row.role,
                                joined_at=self.clock(),
                            )
                        )
                    else:
                        unchanged.append(row.username)
                session.flush()
                audit.record(
                    session,
                    who.user_id,
                    audit.IMPORT_ROSTER,
                    None,
                    at=self.clock(),
                    cohort_id=cohort.id,
                    created=len(created),
                    enrolled=len(enrolled),
                    unchanged=len(unchanged),
                )
                return RosterResult(tuple(created), tuple(enrolled), tuple(unchanged))
        except IntegrityError:
            raise Conflict(
                "Someone changed these accounts while the roster was importing; nothing was imported. "
                "Please upload the file again."
            ) from None

    def _plan_roster(
        self, session: Session, who: Actor, cohort: Cohort, rows: list[RosterRow]
    ) -> list[tuple[RosterRow, User | None]]:
        existing = {
            user.username: user
            for user in session.scalars(select(User).where(User.username.in_([row.username for row in rows])))
        }
        members = {
            member.user_id: member.role
            for member in session.scalars(select(CohortMember).where(CohortMember.cohort_id == cohort.id))
        }
        visible = set()
        if not who.is_admin and existing:
            visible = set(
                session.scalars(
                    select(User.id).where(
                        User.id.in_([u.id for u in existing.values()]), record_scope(who, User.id)
                    )
                )
            )
        problems: list[RowProblem] = []
        plan: list[tuple[RosterRow, User | None]] = []
        for row in rows:
            if row.role == SUPERVISOR and not who.is_admin:
                problems.append(
                    RowProblem(
                        row.row,
                        "Only an administrator can add supervisors; leave the role "
                        "empty or 'trainee', or ask an administrator.",
                    )
                )
                continue
            user = existing.get(row.username)
            if user is None:
                plan.append((row, None))
                continue
            fits = user.role == row.role or (row.role == SUPERVISOR and user.role == ADMIN)
            if not fits:
                problems.append(
                    RowProblem(
                        row.row,
                        f"'{row.username}' already has an account as {user.role}; this row says {row.role}.",
                    )
                )
            elif user.disabled:
                problems.append(RowProblem(row.row, f"The account '{row.username}' is disabled."))
            elif user.id in members and members[user.id] != row.role:
                problems.append(
                    RowProblem(
                        row.row, f"'{row.username}' is already in {cohort.name} as {members[user.id]}."
                    )
                )
            elif not who.is_admin and user.id not in visible and user.id not in members:
                problems.append(
                    RowProblem(
                        row.row,
                        f"'{row.username}' is an existing account outside your "
                        "cohorts; they can join with the invite code, or an administrator "
                        "can add them.",
                    )
                )
            else:
                plan.append((row, user))
        if problems:
            raise RosterRejected(problems)
        return plan

    # -- helpers ------------------------------------------------------------------------------

    def _cohort(self, session: Session, who: Actor, cohort_id: int) -> Cohort:
        if not (who.is_admin or who.is_supervisor):
            raise Forbidden("Only supervisors and administrators manage cohorts.")
        cohort = session.scalar(select(Cohort).where(Cohort.id == cohort_id, cohort_scope(who, Cohort.id)))
        if cohort is None:
            raise NotFound(NO_COHORT)
        return cohort

    def _cohort_by_code(self, session: Session, code: str) -> Cohort:
        normal = normalise_invite_code(code)
        cohort = session.scalar(select(Cohort).where(Cohort.invite_code == normal)) if normal else None
        if cohort is None:
            shown = (code or "").strip()[:20]
            raise NotFound(
                f"There is no cohort with the invite code '{shown}'. Check the code with your supervisor: "
                f"it has {INVITE_LENGTH} letters and digits, like {format_invite_code('K7QM4XPA')} "
                "(a code stops working when a new one is made)."
            )
        if cohort.archived:
            raise Conflict(f"{cohort.name} is archived and no longer takes new members.")
        return cohort

    def _account(self, session: Session, user_id: int) -> User:
        user = session.get(User, user_id)
        if user is None or user.deleted_at is not None or user.is_guest:
            raise NotFound("There is no such account.")
        if user.disabled:
            raise Conflict(f"The account of {user.display_name} is disabled.")
        return user

    def _add(
        self, session: Session, who: Actor, cohort: Cohort, user: User, role: str, via: str | None = None
    ) -> None:
        member = session.get(CohortMember, (cohort.id, user.id))
        if member is not None:
            if member.role != role:
                raise Conflict(f"{user.display_name} is already in {cohort.name} as {member.role}.")
            return
        if cohort.archived:
            raise Conflict(f"{cohort.name} is archived and no longer takes new members.")
        session.add(CohortMember(cohort_id=cohort.id, user_id=user.id, role=role, joined_at=self.clock()))
        session.flush()
        action = audit.JOIN_COHORT if via else audit.ADD_MEMBER
        audit.record(session, who.user_id, action, user.id, at=self.clock(), cohort_id=cohort.id, role=role)

    def _free_code(self, session: Session) -> str:
        for _ in range(20):
            code = random_code(INVITE_LENGTH)
            if session.scalar(select(Cohort.id).where(Cohort.invite_code == code)) is None:
                return code
        raise Conflict("Could not make a new invite code; please try again.")  # pragma: no cover

    def _refuse_duplicate_name(self, session: Session, name: str) -> None:
        if session.scalar(select(Cohort.id).where(func.lower(Cohort.name) == name.lower())) is not None:
            raise Conflict(
                f"A cohort called '{name}' already exists; choose another name (e.g. add the year)."
            )

    def _info(self, session: Session, cohort: Cohort, show_code: bool) -> CohortInfo:
        counts = dict(
            session.execute(
                select(CohortMember.role, func.count())
                .join(User, User.id == CohortMember.user_id)
                .where(CohortMember.cohort_id == cohort.id, User.deleted_at.is_(None))
                .group_by(CohortMember.role)
            ).all()
        )
        return CohortInfo(
            id=cohort.id,
            name=cohort.name,
            program=cohort.program,
            year=cohort.year,
            archived=bool(cohort.archived),
            invite_code=format_invite_code(cohort.invite_code) if show_code and cohort.invite_code else None,
            trainees=counts.get(TRAINEE, 0),
            supervisors=counts.get(SUPERVISOR, 0),
            created_at=cohort.created_at,
        )


def _clean_cohort(
    name: str | None, program: str | None, year: int | None
) -> tuple[str, str | None, int | None]:
    name = clean_name(name, "Cohort names")
    program = clean_name(program, "Program names") if program and program.strip() else None
    if year is not None and (
        isinstance(year, bool) or not isinstance(year, int) or not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]
    ):
        raise UserFacingError(f"The year must be a whole number between {YEAR_RANGE[0]} and {YEAR_RANGE[1]}.")
    return name, program, year
