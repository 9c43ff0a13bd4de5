"""Live group sessions: a host runs one scenario with a room of trainees.

All live state is in the database (`db/tables_groups.py`), read afresh by
every call, so any number of app processes sharing one database serve the
same session; nothing here caches anything but scenario versions.

Two modes:

* **supervisor-paced**: the group stands at one node. Trainees answer
  privately at each decision (one answer per participant and step, which can
  be changed until the reveal); the host reveals the anonymous distribution,
  picks the branch the group follows (default: most chosen, ties to the
  higher score) and advances; narration is continued by the host. When the
  group reaches an ending, each participant who answered gets one completed
  practice `Attempt` (mode ``"group"``) whose steps are the group's path with
  *their own* choices and scores, linked through `group_attempts`: that is how
  the results join the trainee's and the cohort's records.
* **self-paced**: each participant plays their own ordinary practice attempt
  of the session's scenario version, linked through `group_attempts`; the
  host watches a board of progress and zones.

Who may do what (docs/group-sessions.md):

* hosting needs a supervisor or admin account; on a fresh install where no
  administrator exists yet, anyone may host when the deployment allows guest
  practice (`guests_allowed`), so a single machine works at once;
* the host, an admin, and the supervisors of the session's cohort manage a
  session and see its board (pseudonyms only: it is meant for a projector);
* anyone signed in may join with the code; guests only where guests are
  allowed; participants see the anonymous distribution, never names;
* sessions outside a viewer's reach are `NotFound`, as in `access.py`.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import Playthrough, Rubric, Scenario

from ..db import Store
from ..db.tables import Attempt, AttemptStep, Cohort, StepScore, User, random_code, utcnow
from ..db.tables_groups import (
    CLOSED,
    OPEN,
    SELF_PACED,
    SUPERVISOR_PACED,
    GroupAnswer,
    GroupAttempt,
    GroupParticipant,
    GroupSession,
    GroupStep,
)
from .access import (
    ADMIN,
    SUPERVISOR,
    Actor,
    Viewer,
    actor,
    cohort_scope,
    supervised_cohort_ids,
)
from .catalog import Catalog
from .errors import Conflict, Forbidden, NotFound, UserFacingError
from .group_scoring import (
    GroupDebriefData,
    Tally,
    TraineeResult,
    group_debrief,
    replay,
    tally,
    trainee_result,
)
from .practice import MODES, AttemptState, PracticeService, new_token

MODES_GROUP = (SUPERVISOR_PACED, SELF_PACED)
GROUP_ATTEMPT_MODE = "group"  # Attempt.mode of the records a supervisor-paced session writes
CODE_LENGTH = 6
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NO_SESSION = "There is no such group session among the ones you can see."
MODE_LABELS = {
    SUPERVISOR_PACED: "Supervisor-paced: the group decides together, node by node",
    SELF_PACED: "Self-paced: everyone plays on their own while you watch the board",
}


def clean_code(raw: str | None) -> str:
    """A join code as typed, normalised: upper case, spaces and dashes dropped."""
    code = unicodedata.normalize("NFKC", raw or "").upper()
    return "".join(ch for ch in code if ch.isalnum())


# -- what callers get back --------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    id: str
    code: str
    scenario_id: str
    title: str
    content_hash: str
    mode: str
    feedback_mode: str
    status: str
    cohort_id: int | None
    cohort_name: str | None
    host_user_id: int
    position: int
    revealed: bool
    created_at: datetime
    closed_at: datetime | None
    finished_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def supervisor_paced(self) -> bool:
        return self.mode == SUPERVISOR_PACED

    @property
    def mode_label(self) -> str:
        return "supervisor-paced" if self.supervisor_paced else "self-paced"


@dataclass(frozen=True)
class Membership:
    session_id: str
    participant_id: int
    user_id: int


@dataclass(frozen=True)
class LiveToken:
    """What changes when the group moves on: compared by the live fragments."""

    status: str
    position: int
    revealed: bool


@dataclass(frozen=True)
class Counts:
    answered: int  # answers at the current step
    joined: int


@dataclass(frozen=True)
class OfferedChoice:
    id: str
    text: str


@dataclass
class Position:
    """The group's current node, for anyone looking at a supervisor-paced session."""

    session: SessionInfo
    scenario: Scenario
    rubric: Rubric
    play: Playthrough
    step: int
    kind: str  # decision | narration | ending
    node_id: str
    text: str
    cue: str | None
    decisions_passed: int

    @property
    def finished(self) -> bool:
        return self.kind == "ending"


@dataclass
class ParticipantView:
    """What one participant sees now (supervisor-paced): never anyone else's identity."""

    position: Position
    participant_id: int
    choices: list[OfferedChoice]  # in this participant's own stable shuffled order
    my_answer: str | None
    revealed: bool
    results: Tally | None  # the anonymous distribution, once revealed
    counts: Counts

    @property
    def can_answer(self) -> bool:
        return self.position.session.is_open and self.position.kind == "decision" and not self.revealed


@dataclass
class HostView:
    position: Position
    counts: Counts
    tally: Tally | None  # at a decision: always computed; the UI shows it after the reveal


@dataclass(frozen=True)
class BoardRow:
    pseudonym: str
    decisions: int
    finished: bool
    ending: str | None
    score: float | None
    last_zone: str | None
    started: bool


@dataclass
class Board:
    """Self-paced progress for the host: pseudonyms only (it is shown on a projector)."""

    session: SessionInfo
    rows: list[BoardRow]
    zones: list[tuple[str, int]]  # zone label -> responses in it so far
    final_zones: list[tuple[str, int]]  # zone label -> finished attempts with that overall zone
    joined: int
    finished: int


@dataclass
class TraineeDebrief:
    session: SessionInfo
    scenario: Scenario
    rubric: Rubric
    result: TraineeResult
    attempt_id: str | None  # the recorded attempt, once the group reached an ending


class GroupService:
    def __init__(
        self, store: Store, catalog: Catalog, practice: PracticeService, guests_allowed: bool = True
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.practice = practice
        self.guests_allowed = guests_allowed

    # -- hosting --------------------------------------------------------------------------

    def can_host(self, viewer: Viewer | None) -> bool:
        if viewer is None:
            return False
        with self.store.read() as session:
            try:
                self._require_host_role(session, viewer)
            except UserFacingError:
                return False
            return True

    def host_cohorts(self, viewer: Viewer) -> list[tuple[int, str]]:
        """The cohorts a session may be tied to by this host: (id, name)."""
        with self.store.read() as session:
            who = actor(session, viewer)
            rows = session.execute(
                select(Cohort.id, Cohort.name)
                .where(cohort_scope(who, Cohort.id), Cohort.archived.is_(False))
                .order_by(Cohort.name)
            ).all()
            return [(cohort_id, name) for cohort_id, name in rows]

    def create_session(
        self,
        viewer: Viewer | None,
        scenario_id: str,
        mode: str = SUPERVISOR_PACED,
        cohort_id: int | None = None,
        feedback_mode: str = "coached",
    ) -> SessionInfo:
        if mode not in MODES_GROUP:
            raise UserFacingError(f"Unknown session mode '{mode}'; choose supervisor-paced or self-paced.")
        if feedback_mode not in MODES:
            raise UserFacingError(f"Unknown feedback mode '{feedback_mode}'; choose coached or assessment.")
        with self.store.read() as session:
            self._require_host_role(session, viewer)
        entry = self.catalog.entry(scenario_id)
        version = self.catalog.ensure_stored(entry)
        for _ in range(20):
            code = random_code(CODE_LENGTH)
            try:
                with self.store.write() as session:
                    who = self._require_host_role(session, viewer)
                    if cohort_id is not None:
                        allowed = session.scalar(
                            select(Cohort.id).where(Cohort.id == cohort_id, cohort_scope(who, Cohort.id))
                        )
                        if allowed is None:
                            raise NotFound("There is no such cohort among the ones you supervise.")
                    row = GroupSession(
                        id=new_token(),
                        code=code,
                        open_code=code,
                        content_hash=version,
                        scenario_id=entry.scenario.id,
                        mode=mode,
                        feedback_mode=feedback_mode,
                        status=OPEN,
                        cohort_id=cohort_id,
                        host_user_id=who.user_id,
                        position=0,
                        revealed=False,
                    )
                    session.add(row)
                    session.flush()
                    return self._info(session, row)
            except IntegrityError:
                continue  # that code is in use by another open session: draw again
        raise Conflict("Could not find a free join code; please try again.")  # pragma: no cover

    def hosted_sessions(self, viewer: Viewer, limit: int = 20) -> list[SessionInfo]:
        """Sessions this person may manage, newest first (a host's refresh loses nothing)."""
        with self.store.read() as session:
            who = actor(session, viewer)
            rows = session.scalars(
                select(GroupSession)
                .where(self._manage_scope(who))
                .order_by(GroupSession.created_at.desc())
                .limit(limit)
            ).all()
            return [self._info(session, row) for row in rows]

    def session_for_host(self, viewer: Viewer, session_id: str) -> SessionInfo:
        with self.store.read() as session:
            return self._info(session, self._managed(session, viewer, session_id))

    def host_view(self, viewer: Viewer, session_id: str) -> HostView:
        with self.store.read() as session:
            row = self._managed(session, viewer, session_id)
            position = self._position(session, row)
            counts = self._counts(session, row)
            counted = None
            if position.kind == "decision":
                counted = tally(position.play, self._answers_at(session, row.id, row.position), row.position)
            return HostView(position, counts, counted)

    def reveal(self, viewer: Viewer, session_id: str, step: int) -> None:
        """Show the current decision's distribution to everyone; answers close. Idempotent."""
        with self.store.write() as session:
            row = self._managed(session, viewer, session_id, lock=True)
            self._require_supervisor_paced_open(row)
            if step != row.position:
                if step < row.position:
                    return  # already revealed and moved on (a second tab, a double click)
                raise Conflict("This page was out of date; showing where the group is now.")
            position = self._position(session, row)
            if position.kind != "decision":
                raise Conflict("There is nothing to reveal here: this is not a decision.")
            if not row.revealed:
                row.revealed = True
                row.updated_at = utcnow()

    def advance(self, viewer: Viewer, session_id: str, step: int, choice_id: str | None = None) -> None:
        """Move the group on from `step`: along `choice_id` (default: the most chosen) or past narration.

        Idempotent: a second Advance for a step already taken with the same
        branch does nothing; with another branch it is refused.
        """
        with self.store.write() as session:
            row = self._managed(session, viewer, session_id, lock=True)
            self._require_supervisor_paced_open(row)
            if step < row.position:
                taken = session.get(GroupStep, (row.id, step))
                if taken is not None and (choice_id is None or taken.choice_id == choice_id):
                    return
                raise Conflict("The group has already moved on from there; showing where it is now.")
            if step > row.position:
                raise Conflict("This page was out of date; showing where the group is now.")
            position = self._position(session, row)
            play = position.play
            if position.kind == "ending":
                raise Conflict("The group has reached an ending; there is nowhere further to go.")
            if position.kind == "decision":
                if not row.revealed:
                    raise Conflict("Reveal the answers before moving on, so everyone sees the results.")
                counted = tally(play, self._answers_at(session, row.id, row.position), row.position)
                branch = choice_id or counted.default_branch
                if counted.by_id(branch) is None:
                    raise Conflict(f"'{branch}' is not one of the responses offered here.")
                node_id = play.node_id
                play.choose(branch)
            else:
                branch = None
                node_id = play.node_id
                play.proceed()
            session.add(GroupStep(session_id=row.id, step_no=step, node_id=node_id, choice_id=branch))
            row.position = step + 1
            row.revealed = False
            row.updated_at = utcnow()
            if play.finished:
                row.finished_at = row.updated_at
                session.flush()
                self._record_attempts(session, row, position.scenario, position.rubric)

    def close(self, viewer: Viewer, session_id: str) -> SessionInfo:
        """Close the session: no more joining or answering; the code is freed. Idempotent."""
        with self.store.write() as session:
            row = self._managed(session, viewer, session_id, lock=True)
            if row.status != CLOSED:
                row.status = CLOSED
                row.open_code = None
                row.closed_at = utcnow()
                row.updated_at = row.closed_at
            return self._info(session, row)

    def reopen(self, viewer: Viewer, session_id: str) -> SessionInfo:
        """Open a closed session again (for review, or to carry on); keeps its code if it is free."""
        for attempt in range(20):
            try:
                with self.store.write() as session:
                    row = self._managed(session, viewer, session_id, lock=True)
                    if row.status == OPEN:
                        return self._info(session, row)
                    taken = session.scalar(select(GroupSession.id).where(GroupSession.open_code == row.code))
                    if taken is not None or attempt > 0:
                        row.code = random_code(CODE_LENGTH)
                    row.status = OPEN
                    row.open_code = row.code
                    row.closed_at = None
                    row.updated_at = utcnow()
                    session.flush()
                    return self._info(session, row)
            except IntegrityError:
                continue
        raise Conflict("Could not find a free join code; please try again.")  # pragma: no cover

    def board(self, viewer: Viewer, session_id: str) -> Board:
        """Self-paced progress: each participant's decisions, ending and zones, by pseudonym."""
        with self.store.read() as session:
            row = self._managed(session, viewer, session_id)
            scenario, rubric = self.catalog.version(row.content_hash)
            people = session.execute(
                select(GroupParticipant.id, User.pseudonym, GroupAttempt.attempt_id)
                .join(User, User.id == GroupParticipant.user_id)
                .outerjoin(
                    GroupAttempt,
                    (GroupAttempt.participant_id == GroupParticipant.id)
                    & (GroupAttempt.session_id == row.id),
                )
                .where(GroupParticipant.session_id == row.id)
                .order_by(GroupParticipant.joined_at, GroupParticipant.id)
            ).all()
            attempt_ids = [a for _, _, a in people if a]
            attempts = (
                {a.id: a for a in session.scalars(select(Attempt).where(Attempt.id.in_(attempt_ids)))}
                if attempt_ids
                else {}
            )
            steps: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
            if attempt_ids:
                for attempt_id, step_no, zone in session.execute(
                    select(AttemptStep.attempt_id, AttemptStep.step_no, AttemptStep.zone)
                    .where(AttemptStep.attempt_id.in_(attempt_ids), AttemptStep.choice_id.is_not(None))
                    .order_by(AttemptStep.attempt_id, AttemptStep.step_no)
                ):
                    steps[attempt_id].append((step_no, zone))
            rows = []
            zone_counts: Counter[str] = Counter()
            final_counts: Counter[str] = Counter()
            for _participant_id, pseudonym, attempt_id in people:
                attempt = attempts.get(attempt_id) if attempt_id else None
                made = steps.get(attempt_id, []) if attempt_id else []
                for _, zone in made:
                    if zone in rubric.zones:
                        zone_counts[rubric.zone_label(zone)] += 1
                finished = attempt is not None and attempt.status == "completed"
                if finished and attempt.zone in rubric.zones:
                    final_counts[rubric.zone_label(attempt.zone)] += 1
                last = made[-1][1] if made else None
                rows.append(
                    BoardRow(
                        pseudonym=pseudonym or "Trainee",
                        decisions=len(made),
                        finished=finished,
                        ending=attempt.ending if finished else None,
                        score=attempt.score if finished else None,
                        last_zone=rubric.zone_label(last) if last in rubric.zones else None,
                        started=attempt is not None,
                    )
                )
            labels = [zone.label for zone in rubric.zones.values()]
            return Board(
                session=self._info(session, row),
                rows=rows,
                zones=[(label, zone_counts.get(label, 0)) for label in labels],
                final_zones=[(label, final_counts.get(label, 0)) for label in labels],
                joined=len(people),
                finished=sum(1 for r in rows if r.finished),
            )

    # -- joining ----------------------------------------------------------------------------

    def find_open(self, code: str | None) -> SessionInfo:
        """The open session with this join code, or a message saying what is wrong."""
        cleaned = clean_code(code)
        if not cleaned:
            raise UserFacingError("Please enter the join code shown on the projector.")
        if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
            raise NotFound(
                f"'{cleaned}' is not a join code: codes have {CODE_LENGTH} letters and digits "
                "(never 0, O, 1, I or L). Please check the code on the projector."
            )
        with self.store.read() as session:
            row = session.scalar(select(GroupSession).where(GroupSession.open_code == cleaned))
            if row is None:
                closed = session.scalar(
                    select(GroupSession.id).where(GroupSession.code == cleaned, GroupSession.status == CLOSED)
                )
                if closed is not None:
                    raise NotFound(
                        f"The group session with the code {cleaned} has been closed by its host. "
                        "Ask them to reopen it, or for the code of the new session."
                    )
                raise NotFound(
                    f"There is no open group session with the code {cleaned}. Please check the code on the "
                    "projector."
                )
            return self._info(session, row)

    def join(self, user_id: int, code: str | None) -> Membership:
        """Join the open session with `code` (idempotent: joining again returns the same membership)."""
        found = self.find_open(code)
        for _ in range(3):
            try:
                with self.store.write() as session:
                    user = session.get(User, user_id)
                    if user is None or user.deleted_at is not None or user.disabled:
                        raise Forbidden("Your account is not active any more. Please sign in again.")
                    row = session.get(GroupSession, found.id)
                    if row is None or row.status != OPEN:
                        raise NotFound("That group session has just been closed by its host.")
                    existing = session.scalar(
                        select(GroupParticipant).where(
                            GroupParticipant.session_id == row.id, GroupParticipant.user_id == user_id
                        )
                    )
                    if existing is not None:
                        return Membership(row.id, existing.id, user_id)
                    if user.is_guest and not self.guests_allowed:
                        raise Forbidden("Please sign in to join: this deployment does not allow guests.")
                    participant = GroupParticipant(session_id=row.id, user_id=user_id)
                    session.add(participant)
                    session.flush()
                    return Membership(row.id, participant.id, user_id)
            except IntegrityError:
                continue  # the same person joined twice at once: the second finds the first's row
        raise Conflict("Joining did not complete; please try again.")  # pragma: no cover

    def membership(self, session_id: str, user_id: int) -> Membership | None:
        with self.store.read() as session:
            participant_id = session.scalar(
                select(GroupParticipant.id).where(
                    GroupParticipant.session_id == session_id, GroupParticipant.user_id == user_id
                )
            )
            return Membership(session_id, participant_id, user_id) if participant_id is not None else None

    def session_for_participant(self, session_id: str, user_id: int) -> SessionInfo:
        """A session this person joined (open or closed), or NotFound."""
        with self.store.read() as session:
            return self._info(session, self._joined(session, session_id, user_id)[0])

    def live_token(self, session_id: str) -> LiveToken | None:
        """A cheap read of what the live fragments watch for changes."""
        with self.store.read() as session:
            found = session.execute(
                select(GroupSession.status, GroupSession.position, GroupSession.revealed).where(
                    GroupSession.id == session_id
                )
            ).first()
            return LiveToken(found[0], found[1], bool(found[2])) if found else None

    def live_state(self, session_id: str) -> tuple[LiveToken, Counts] | None:
        """The live token and the counts in one read (what a trainee's live fragment shows)."""
        with self.store.read() as session:
            row = session.get(GroupSession, session_id)
            if row is None:
                return None
            return LiveToken(row.status, row.position, bool(row.revealed)), self._counts(session, row)

    def counts(self, session_id: str) -> Counts:
        with self.store.read() as session:
            row = session.get(GroupSession, session_id)
            if row is None:
                raise NotFound(NO_SESSION)
            return self._counts(session, row)

    # -- supervisor-paced: the participant's side --------------------------------------

    def participant_view(self, session_id: str, user_id: int) -> ParticipantView:
        with self.store.read() as session:
            row, participant_id = self._joined(session, session_id, user_id)
            if row.mode != SUPERVISOR_PACED:
                raise Conflict("This is a self-paced session: play your own attempt.")
            position = self._position(session, row)
            choices: list[OfferedChoice] = []
            my_answer = None
            results = None
            if position.kind == "decision":
                seed = f"{row.id}:{participant_id}"
                choices = [
                    OfferedChoice(c.id, c.text) for c in position.play.offered_choices(shuffle_seed=seed)
                ]
                my_answer = session.scalar(
                    select(GroupAnswer.choice_id).where(
                        GroupAnswer.session_id == row.id,
                        GroupAnswer.participant_id == participant_id,
                        GroupAnswer.step_no == row.position,
                    )
                )
                if row.revealed:
                    results = tally(
                        position.play, self._answers_at(session, row.id, row.position), row.position
                    )
            return ParticipantView(
                position=position,
                participant_id=participant_id,
                choices=choices,
                my_answer=my_answer,
                revealed=bool(row.revealed),
                results=results,
                counts=self._counts(session, row),
            )

    def answer(self, session_id: str, user_id: int, step: int, choice_id: str) -> str:
        """Record (or change, until the reveal) this participant's answer at `step`.

        One row per participant and step whatever happens: a double click, a
        refresh or a second device re-sending the same answer changes nothing.
        Returns the choice id now recorded.
        """
        for _ in range(3):
            try:
                return self._answer_once(session_id, user_id, step, choice_id)
            except IntegrityError:
                continue  # the same participant answered twice at once: re-read and compare
        raise Conflict("Your answer could not be saved; please try again.")  # pragma: no cover

    def _answer_once(self, session_id: str, user_id: int, step: int, choice_id: str) -> str:
        with self.store.write() as session:
            participant_id = session.scalar(
                select(GroupParticipant.id).where(
                    GroupParticipant.session_id == session_id, GroupParticipant.user_id == user_id
                )
            )
            # A shared lock: answers do not wait for each other, but a reveal or an
            # advance (which take the row exclusively) cannot slip in half-way.
            row = session.get(
                GroupSession, session_id, with_for_update=None if self.store.is_sqlite else {"read": True}
            )
            if row is None or participant_id is None:
                raise NotFound("You are not in this group session; join it with its code first.")
            if row.mode != SUPERVISOR_PACED:
                raise Conflict("This is a self-paced session: play your own attempt.")
            if row.status != OPEN:
                raise Conflict("The session has been closed; answers can no longer be given.")
            existing = session.get(GroupAnswer, (row.id, participant_id, step))
            if step != row.position:
                if existing is not None and existing.choice_id == choice_id:
                    return choice_id  # already recorded: idempotent
                raise Conflict("The group has moved on; showing where it is now.")
            if row.revealed:
                if existing is not None and existing.choice_id == choice_id:
                    return choice_id
                raise Conflict("The answers for this decision have been revealed; answering is closed.")
            play = self._position(session, row).play
            if play.kind != "decision":
                raise Conflict("There is nothing to answer here.")
            if choice_id not in {c.id for c in play.offered_choices()}:
                raise Conflict("That response is not offered at this point.")
            if existing is not None:
                if existing.choice_id != choice_id:
                    existing.choice_id = choice_id
                    existing.answered_at = utcnow()
                return choice_id
            session.add(
                GroupAnswer(
                    session_id=row.id,
                    participant_id=participant_id,
                    step_no=step,
                    node_id=play.node_id,
                    choice_id=choice_id,
                )
            )
            session.flush()
            return choice_id

    # -- results ------------------------------------------------------------------------

    def group_debrief(
        self, session_id: str, viewer: Viewer | None = None, user_id: int | None = None
    ) -> GroupDebriefData:
        """The anonymous group debrief: for the session's managers (`viewer`) or a participant (`user_id`)."""
        with self.store.read() as session:
            if viewer is not None:
                row = self._managed(session, viewer, session_id)
            elif user_id is not None:
                row = self._joined(session, session_id, user_id)[0]
            else:
                raise Forbidden("Please sign in first.")
            scenario, rubric = self.catalog.version(row.content_hash)
            actions = self._actions(session, row.id)
            by_step: dict[int, list[str]] = defaultdict(list)
            for step_no, choice_id in session.execute(
                select(GroupAnswer.step_no, GroupAnswer.choice_id).where(GroupAnswer.session_id == row.id)
            ):
                by_step[step_no].append(choice_id)
            participants = self._counts(session, row).joined
            return group_debrief(scenario, rubric, actions, by_step, bool(row.revealed), participants)

    def trainee_debrief(self, session_id: str, user_id: int) -> TraineeDebrief:
        """One participant's own answers, scored at each decision of the group's path."""
        with self.store.read() as session:
            row, participant_id = self._joined(session, session_id, user_id)
            scenario, rubric = self.catalog.version(row.content_hash)
            actions = self._actions(session, row.id)
            answers = dict(
                session.execute(
                    select(GroupAnswer.step_no, GroupAnswer.choice_id).where(
                        GroupAnswer.session_id == row.id, GroupAnswer.participant_id == participant_id
                    )
                ).all()
            )
            attempt_id = session.scalar(
                select(GroupAttempt.attempt_id).where(
                    GroupAttempt.session_id == row.id, GroupAttempt.participant_id == participant_id
                )
            )
            return TraineeDebrief(
                self._info(session, row),
                scenario,
                rubric,
                trainee_result(scenario, rubric, actions, answers),
                attempt_id,
            )

    def session_of_attempt(self, attempt_id: str) -> str | None:
        """The group session an attempt belongs to, if any (for linking history to the group page)."""
        with self.store.read() as session:
            return session.scalar(
                select(GroupAttempt.session_id).where(GroupAttempt.attempt_id == attempt_id)
            )

    # -- self-paced: the participant's own attempt ---------------------------------------

    def own_attempt(self, session_id: str, user_id: int) -> AttemptState:
        """This participant's attempt of a self-paced session, started on first call."""
        for _ in range(3):
            try:
                with self.store.write() as session:
                    row, participant_id = self._joined(session, session_id, user_id)
                    if row.mode != SELF_PACED:
                        raise Conflict("This session is supervisor-paced: the group plays together.")
                    attempt_id = session.scalar(
                        select(GroupAttempt.attempt_id).where(
                            GroupAttempt.session_id == row.id, GroupAttempt.participant_id == participant_id
                        )
                    )
                    if attempt_id is None:
                        if row.status != OPEN:
                            raise Conflict("The session has been closed before you started playing.")
                        attempt_id = new_token()
                        session.add(
                            Attempt(
                                id=attempt_id,
                                user_id=user_id,
                                content_hash=row.content_hash,
                                scenario_id=row.scenario_id,
                                mode=row.feedback_mode,
                                status="in_progress",
                            )
                        )
                        session.flush()
                        session.add(
                            GroupAttempt(
                                attempt_id=attempt_id, session_id=row.id, participant_id=participant_id
                            )
                        )
                break
            except IntegrityError:
                continue  # two tabs started at once: the second finds the first's attempt
        else:  # pragma: no cover
            raise Conflict("Your attempt could not be started; please try again.")
        return self.practice.load(attempt_id, user_id)

    # -- helpers ------------------------------------------------------------------------

    def _require_host_role(self, session: Session, viewer: Viewer | None) -> Actor:
        who = actor(session, viewer)
        if who.role in (SUPERVISOR, ADMIN):
            return who
        if self.guests_allowed:
            admin = session.scalar(
                select(User.id).where(User.role == ADMIN, User.deleted_at.is_(None)).limit(1)
            )
            if admin is None:
                return who  # a fresh single-machine install: the local host may run a session
        raise Forbidden(
            "Only supervisors and administrators can host group sessions. "
            "To take part in one, join it with the code your supervisor shows."
        )

    def _manage_scope(self, who: Actor):  # type: ignore[no-untyped-def]
        if who.is_admin:
            return GroupSession.id.is_not(None)
        if who.is_supervisor:
            return (GroupSession.host_user_id == who.user_id) | GroupSession.cohort_id.in_(
                supervised_cohort_ids(who.user_id)
            )
        return GroupSession.host_user_id == who.user_id

    def _managed(
        self, session: Session, viewer: Viewer | None, session_id: str, lock: bool = False
    ) -> GroupSession:
        who = actor(session, viewer)
        row = session.get(GroupSession, session_id, with_for_update=lock and not self.store.is_sqlite)
        if row is None:
            raise NotFound(NO_SESSION)
        if who.is_admin or row.host_user_id == who.user_id:
            return row
        if who.is_supervisor and row.cohort_id is not None:
            supervised = set(session.scalars(supervised_cohort_ids(who.user_id)))
            if row.cohort_id in supervised:
                return row
        raise NotFound(NO_SESSION)

    def _joined(self, session: Session, session_id: str, user_id: int) -> tuple[GroupSession, int]:
        row = session.get(GroupSession, session_id)
        participant_id = (
            session.scalar(
                select(GroupParticipant.id).where(
                    GroupParticipant.session_id == session_id, GroupParticipant.user_id == user_id
                )
            )
            if row is not None
            else None
        )
        if row is None or participant_id is None:
            raise NotFound("You are not in this group session; join it with its code first.")
        return row, participant_id

    def _require_supervisor_paced_open(self, row: GroupSession) -> None:
        if row.mode != SUPERVISOR_PACED:
            raise Conflict("This is a self-paced session: everyone plays at their own pace.")
        if row.status != OPEN:
            raise Conflict("The session is closed. Reopen it to carry on.")

    def _actions(self, session: Session, session_id: str) -> list[str | None]:
        return list(
            session.scalars(
                select(GroupStep.choice_id)
                .where(GroupStep.session_id == session_id)
                .order_by(GroupStep.step_no)
            )
        )

    def _answers_at(self, session: Session, session_id: str, step: int) -> list[str]:
        return list(
            session.scalars(
                select(GroupAnswer.choice_id).where(
                    GroupAnswer.session_id == session_id, GroupAnswer.step_no == step
                )
            )
        )

    def _position(self, session: Session, row: GroupSession) -> Position:
        scenario, rubric = self.catalog.version(row.content_hash)
        actions = self._actions(session, row.id)
        play = replay(scenario, rubric, actions)
        node = play.node
        return Position(
            session=self._info(session, row),
            scenario=scenario,
            rubric=rubric,
            play=play,
            step=play.step,
            kind=play.kind,
            node_id=play.node_id,
            text=node.text,
            cue=node.cue,
            decisions_passed=len(play.outcomes),
        )

    def _counts(self, session: Session, row: GroupSession) -> Counts:
        joined = session.scalar(
            select(func.count()).select_from(GroupParticipant).where(GroupParticipant.session_id == row.id)
        )
        answered = 0
        if row.mode == SUPERVISOR_PACED:
            answered = session.scalar(
                select(func.count())
                .select_from(GroupAnswer)
                .where(GroupAnswer.session_id == row.id, GroupAnswer.step_no == row.position)
            )
        return Counts(answered=answered or 0, joined=joined or 0)

    def _info(self, session: Session, row: GroupSession) -> SessionInfo:
        try:
            title = self.catalog.version(row.content_hash)[0].title
        except NotFound:  # pragma: no cover - the version row is a foreign key
            title = row.scenario_id
        cohort_name = (
            session.scalar(select(Cohort.name).where(Cohort.id == row.cohort_id)) if row.cohort_id else None
        )
        return SessionInfo(
            id=row.id,
            code=row.code,
            scenario_id=row.scenario_id,
            title=title,
            content_hash=row.content_hash,
            mode=row.mode,
            feedback_mode=row.feedback_mode,
            status=row.status,
            cohort_id=row.cohort_id,
            cohort_name=cohort_name,
            host_user_id=row.host_user_id,
            position=row.position,
            revealed=bool(row.revealed),
            created_at=row.created_at,
            closed_at=row.closed_at,
            finished_at=row.finished_at,
        )

    def _record_attempts(
        self, session: Session, row: GroupSession, scenario: Scenario, rubric: Rubric
    ) -> int:
        """One completed attempt per participant who answered, in the advance's transaction."""
        actions = self._actions(session, row.id)
        play = replay(scenario, rubric, actions)
        nodes = play.path  # node of each step: path[i] is where step i was taken
        answers: dict[int, dict[int, str]] = defaultdict(dict)
        for participant_id, step_no, choice_id in session.execute(
            select(GroupAnswer.participant_id, GroupAnswer.step_no, GroupAnswer.choice_id).where(
                GroupAnswer.session_id == row.id
            )
        ):
            answers[participant_id][step_no] = choice_id
        recorded = set(
            session.scalars(select(GroupAttempt.participant_id).where(GroupAttempt.session_id == row.id))
        )
        people = dict(
            session.execute(
                select(GroupParticipant.id, GroupParticipant.user_id).where(
                    GroupParticipant.session_id == row.id
                )
            ).all()
        )
        now = utcnow()
        count = 0
        for participant_id, mine in answers.items():
            if participant_id in recorded or participant_id not in people:
                continue
            result = trainee_result(scenario, rubric, actions, mine)
            if not result.outcomes:
                continue
            attempt_id = new_token()
            session.add(
                Attempt(
                    id=attempt_id,
                    user_id=people[participant_id],
                    content_hash=row.content_hash,
                    scenario_id=row.scenario_id,
                    mode=GROUP_ATTEMPT_MODE,
                    status="completed",
                    started_at=row.created_at,
                    updated_at=now,
                    completed_at=now,
                    ending=result.ending,
                    score=result.score,
                    zone=result.zone,
                )
            )
            session.flush()
            by_step = {o.step: o for o in result.outcomes}
            for step_no, action in enumerate(actions):
                outcome = by_step.get(step_no)
                if action is None:  # narration the group continued past
                    session.add(
                        AttemptStep(
                            attempt_id=attempt_id, step_no=step_no, node_id=nodes[step_no], choice_id=None
                        )
                    )
                elif outcome is not None:
                    session.add(
                        AttemptStep(
                            attempt_id=attempt_id,
                            step_no=step_no,
                            node_id=outcome.node,
                            choice_id=outcome.choice,
                            score=outcome.score,
                            best_score=outcome.best_score,
                            zone=outcome.zone,
                        )
                    )
                # a decision this participant did not answer leaves a gap in step_no
            session.flush()
            for outcome in result.outcomes:
                session.add_all(
                    StepScore(attempt_id=attempt_id, step_no=outcome.step, dimension=name, value=value)
                    for name, value in outcome.scores.items()
                )
            session.add(GroupAttempt(attempt_id=attempt_id, session_id=row.id, participant_id=participant_id))
            count += 1
        return count


def move_participations(session: Session, guest_user_id: int, account_user_id: int) -> int:
    """Hand a guest's group participations to the account claiming the guest's practice.

    For `AccountService.claim_guest_attempts`, inside its transaction and
    before the guest row is deleted (participants reference users). Where the
    account had joined the same session itself, the account's participation
    wins and the guest's (with its answers) is dropped.
    """
    already = select(GroupParticipant.session_id).where(GroupParticipant.user_id == account_user_id)
    moved = session.execute(
        update(GroupParticipant)
        .where(GroupParticipant.user_id == guest_user_id, GroupParticipant.session_id.not_in(already))
        .values(user_id=account_user_id)
    ).rowcount
    session.execute(GroupParticipant.__table__.delete().where(GroupParticipant.user_id == guest_user_id))
    return moved or 0
