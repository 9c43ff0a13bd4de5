"""Practice: start an attempt, record each action durably, resume, reflect, review.

Every action is written in its own transaction before the UI moves on, keyed
by (attempt, step) so that a double click, a retried request or a second tab
can never record a step twice or out of order. An attempt's state is rebuilt
by replaying its recorded steps on the exact scenario version it started on;
a click on a page that still holds the state it was drawn from appends to
that state instead (see `PracticeService._record`).
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.exc import IntegrityError

from engine import Choice, PlayError, Playthrough, Rubric, Scenario
from engine.runtime import CONTINUE

from ..db import Store
from ..db.prepared import Prepared
from ..db.tables import Attempt, AttemptStep, StepScore, User, utcnow
from .catalog import Catalog
from .errors import Conflict, Forbidden, NotFound, UserFacingError

MODES = ("coached", "assessment")
MAX_NAME = 60
MAX_REFLECTION = 5_000


def clean_display_name(raw: str) -> str:
    """A display name as typed, trimmed; raises a readable error when unusable."""
    name = " ".join((raw or "").split())
    if not name:
        raise UserFacingError("Please enter a name to practise under (it can be a nickname).")
    if len(name) > MAX_NAME:
        raise UserFacingError(f"Names can be at most {MAX_NAME} characters; yours has {len(name)}.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise UserFacingError("Names cannot contain control characters.")
    return name


def new_token() -> str:
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class UserRef:
    id: int
    public_id: str
    display_name: str
    is_guest: bool
    role: str


@dataclass
class AttemptState:
    id: str
    user_id: int
    scenario_id: str
    content_hash: str
    mode: str
    status: str
    started_at: datetime
    reflection: str | None
    scenario: Scenario
    rubric: Rubric
    play: Playthrough

    @property
    def finished(self) -> bool:
        return self.play.finished

    @property
    def coached(self) -> bool:
        return self.mode == "coached"

    def offered_choices(self) -> list[Choice]:
        """Offered choices in this attempt's own stable shuffled order."""
        return self.play.offered_choices(shuffle_seed=self.id)


@dataclass(frozen=True)
class AttemptSummary:
    id: str
    scenario_id: str
    title: str
    mode: str
    status: str
    started_at: datetime
    completed_at: datetime | None
    ending: str | None
    score: float | None
    zone: str | None


_ATTEMPTS, _STEPS = Attempt.__table__, AttemptStep.__table__
# One query for an attempt and its recorded actions: one row per step (one row of NULLs if none yet).
_ATTEMPT_WITH_ACTIONS = (
    select(_ATTEMPTS, _STEPS.c.step_no.label("recorded_step"), _STEPS.c.choice_id.label("recorded_action"))
    .outerjoin(_STEPS, _STEPS.c.attempt_id == _ATTEMPTS.c.id)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .order_by(_STEPS.c.step_no)
)
# PostgreSQL locks the attempt's row; SQLite writers already queue at BEGIN IMMEDIATE.
_ATTEMPT_WITH_ACTIONS_FOR_UPDATE = _ATTEMPT_WITH_ACTIONS.with_for_update(of=_ATTEMPTS)
# The writes of a click, run on the DBAPI cursor (see repairlab/db/prepared.py).
_INSERT_STEP = Prepared(_STEPS.insert())
_INSERT_SCORE = Prepared(StepScore.__table__.insert())
# First in every recording transaction: it checks the owner and locks the attempt's row (on
# PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the database) before any step row is written,
# the same order as the read-back path's SELECT ... FOR UPDATE, so two writers cannot deadlock.
_CLAIM_ATTEMPT = Prepared(
    _ATTEMPTS.update()
    .where((_ATTEMPTS.c.id == bindparam("attempt_id")) & (_ATTEMPTS.c.user_id == bindparam("owner")))
    .values(updated_at=bindparam("updated_at"))
)
_COMPLETE_ATTEMPT = Prepared(
    _ATTEMPTS.update()
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(  # updated_at was set by _CLAIM_ATTEMPT in the same transaction
        status="completed",
        completed_at=bindparam("completed_at"),
        ending=bindparam("ending"),
        score=bindparam("score"),
        zone=bindparam("zone"),
    )
)


class PracticeService:
    def __init__(self, store: Store, catalog: Catalog) -> None:
        self.store = store
        self.catalog = catalog

    # -- people ---------------------------------------------------------------

    def create_guest(self, display_name: str) -> UserRef:
        name = clean_display_name(display_name)
        with self.store.write() as session:
            user = User(public_id=new_token(), display_name=name, is_guest=True, role="trainee")
            session.add(user)
            session.flush()
            return _user_ref(user)

    def user_by_public_id(self, public_id: str | None) -> UserRef | None:
        if not public_id:
            return None
        with self.store.read() as session:
            user = session.scalar(select(User).where(User.public_id == public_id))
            return _user_ref(user) if user else None

    def user_by_id(self, user_id: int) -> UserRef | None:
        with self.store.read() as session:
            user = session.get(User, user_id)
            return _user_ref(user) if user else None

    # -- attempts -------------------------------------------------------------

    def start(self, user_id: int, scenario_id: str, mode: str) -> AttemptState:
        if mode not in MODES:
            raise UserFacingError(f"Unknown feedback mode '{mode}'; choose coached or assessment.")
        entry = self.catalog.entry(scenario_id)
        version = self.catalog.ensure_stored(entry)
        attempt_id = new_token()
        with self.store.write() as session:
            session.add(
                Attempt(
                    id=attempt_id,
                    user_id=user_id,
                    content_hash=version,
                    scenario_id=entry.scenario.id,
                    mode=mode,
                    status="in_progress",
                )
            )
        return self.load(attempt_id, user_id)

    def load(self, attempt_id: str, user_id: int | None = None) -> AttemptState:
        with self.store.read() as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None:
                raise NotFound("That attempt does not exist. It may have been deleted.")
            if user_id is not None and attempt.user_id != user_id:
                raise Forbidden("That attempt belongs to someone else.")
            steps = list(
                session.scalars(
                    select(AttemptStep).where(AttemptStep.attempt_id == attempt_id).order_by(AttemptStep.step_no)
                )
            )
            return self._state(attempt, [s.choice_id for s in steps])

    def _state(self, attempt: Attempt | Row[Any], actions: list[str | None]) -> AttemptState:
        scenario, rubric = self.catalog.version(attempt.content_hash)
        try:
            play = Playthrough.resume(scenario, rubric, actions)
        except PlayError as error:  # pragma: no cover - only if stored data were corrupted
            raise UserFacingError(f"This attempt's record cannot be replayed: {error}") from error
        return AttemptState(
            id=attempt.id,
            user_id=attempt.user_id,
            scenario_id=attempt.scenario_id,
            content_hash=attempt.content_hash,
            mode=attempt.mode,
            status=attempt.status,
            started_at=attempt.started_at,
            reflection=attempt.reflection,
            scenario=scenario,
            rubric=rubric,
            play=play,
        )

    def choose(
        self, attempt_id: str, step_no: int, choice_id: str, user_id: int | None = None, drawn: AttemptState | None = None
    ) -> AttemptState:
        """Record the choice made at step `step_no` and return the attempt's new state.

        `drawn` is the state the page was drawn from, if the caller still has it: see `_record`.
        """
        return self._record(attempt_id, step_no, choice_id, user_id, drawn)

    def proceed(
        self, attempt_id: str, step_no: int, user_id: int | None = None, drawn: AttemptState | None = None
    ) -> AttemptState:
        return self._record(attempt_id, step_no, CONTINUE, user_id, drawn)

    def _record(
        self, attempt_id: str, step_no: int, action: str | None, user_id: int | None, drawn: AttemptState | None
    ) -> AttemptState:
        """Append one action, exactly once per attempt and step.

        With the state the page was drawn from, for the same attempt and step, the action is
        appended to it without reading the attempt back: the attempt's row is claimed for its
        owner first (no row if it was deleted or now belongs to someone else), and the primary
        key (attempt, step) refuses the step if another tab recorded it meanwhile. In those
        cases, and without a drawn state, the attempt is read back and the action checked
        against what is recorded. `drawn` is consumed: it is changed in place.
        """
        if (
            drawn is not None
            and drawn.id == attempt_id
            and (user_id is None or drawn.user_id == user_id)
            and drawn.play.step == step_no
            and not drawn.play.finished
        ):
            try:
                with self.store.write_connection() as connection:
                    appended = self._append(connection, drawn, step_no, action)
                if appended is not None:
                    return appended
            except IntegrityError:
                pass  # recorded elsewhere meanwhile: read it back below
        for _ in range(3):
            try:
                return self._record_once(attempt_id, step_no, action, user_id)
            except IntegrityError:
                continue  # a concurrent writer recorded this step first: re-read and compare
        raise Conflict("This step could not be saved; please try again.")

    def _record_once(self, attempt_id: str, step_no: int, action: str | None, user_id: int | None) -> AttemptState:
        # Prepared Core statements, not the ORM unit of work: this runs on every click.
        with self.store.write_connection() as connection:
            query = _ATTEMPT_WITH_ACTIONS if self.store.is_sqlite else _ATTEMPT_WITH_ACTIONS_FOR_UPDATE
            rows = connection.execute(query, {"attempt_id": attempt_id}).all()
            if not rows:
                raise NotFound("That attempt does not exist. It may have been deleted.")
            attempt = rows[0]
            if user_id is not None and attempt.user_id != user_id:
                raise Forbidden("That attempt belongs to someone else.")
            actions = [row.recorded_action for row in rows if row.recorded_step is not None]
            if 0 <= step_no < len(actions):
                if actions[step_no] == action:
                    return self._state(attempt, actions)  # already recorded: idempotent
                raise Conflict("This step was already answered (perhaps in another tab); showing where you are now.")
            if step_no < 0 or step_no > len(actions):
                raise Conflict("This page was out of date; showing where you are now.")
            appended = self._append(connection, self._state(attempt, actions), step_no, action)
            if appended is None:  # cannot happen: the row is locked and its owner was just read
                raise Conflict("This step could not be saved; please try again.")
            return appended

    def _append(
        self, connection: Connection, state: AttemptState, step_no: int, action: str | None
    ) -> AttemptState | None:
        """Insert the step (and its scores) that `action` makes at `state`, advancing `state`.

        None, with nothing written, if the attempt is gone or no longer belongs to `state`'s owner.
        """
        attempt_id = state.id
        play = state.play
        node_id = play.node_id
        now = utcnow()
        if _CLAIM_ATTEMPT.execute(connection, {"attempt_id": attempt_id, "owner": state.user_id, "updated_at": now}) != 1:
            return None
        try:
            outcome = play.choose(action) if action is not CONTINUE else None
            if action is CONTINUE:
                play.proceed()
        except PlayError as error:
            raise Conflict(f"That response is not available at this point ({error}).") from error
        _INSERT_STEP.execute(
            connection,
            {
                "attempt_id": attempt_id,
                "step_no": step_no,
                "node_id": node_id,
                "choice_id": action,
                "score": outcome.score if outcome else None,
                "best_score": outcome.best_score if outcome else None,
                "zone": outcome.zone if outcome else None,
                "created_at": now,
            },
        )
        if outcome is not None and outcome.scores:
            _INSERT_SCORE.executemany(
                connection,
                [
                    {"attempt_id": attempt_id, "step_no": step_no, "dimension": name, "value": value}
                    for name, value in outcome.scores.items()
                ],
            )
        if play.finished:
            report = play.report()
            _COMPLETE_ATTEMPT.execute(
                connection,
                {
                    "attempt_id": attempt_id, "completed_at": now,
                    "ending": report.ending, "score": report.score, "zone": report.zone,
                },
            )
            state.status = "completed"
        return state

    def save_reflection(self, attempt_id: str, text: str, user_id: int | None = None) -> None:
        cleaned = (text or "").strip()
        if len(cleaned) > MAX_REFLECTION:
            raise UserFacingError(
                f"Reflections can be at most {MAX_REFLECTION:,} characters; yours has {len(cleaned):,}."
            )
        with self.store.write() as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None:
                raise NotFound("That attempt does not exist.")
            if user_id is not None and attempt.user_id != user_id:
                raise Forbidden("That attempt belongs to someone else.")
            attempt.reflection = cleaned or None
            attempt.reflection_at = utcnow()

    def history(self, user_id: int) -> list[AttemptSummary]:
        from ..db.tables import ScenarioVersion

        with self.store.read() as session:
            rows = session.execute(
                select(Attempt, ScenarioVersion.title)
                .join(ScenarioVersion, ScenarioVersion.content_hash == Attempt.content_hash)
                .where(Attempt.user_id == user_id)
                .order_by(Attempt.started_at)
            ).all()
            return [
                AttemptSummary(
                    id=a.id,
                    scenario_id=a.scenario_id,
                    title=title,
                    mode=a.mode,
                    status=a.status,
                    started_at=a.started_at,
                    completed_at=a.completed_at,
                    ending=a.ending,
                    score=a.score,
                    zone=a.zone,
                )
                for a, title in rows
            ]


def _user_ref(user: User) -> UserRef:
    return UserRef(user.id, user.public_id, user.display_name, user.is_guest, user.role)
