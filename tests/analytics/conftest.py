"""A small program with hand-computable numbers, on both backends.

``program`` builds, on the parametrised ``store``:

* cohort A (supervisor ``sup_a``) with trainees a1, a2, a3 and a4, whose
  personal data is deleted after practising; cohort B (supervisor ``sup_b``)
  with trainee b1; an admin; a guest who is in no cohort;
* attempts at ``two-steps`` (two decisions) played through the real practice
  service, then given fixed completion times (UTC) in January and February
  2025, as listed in `ATTEMPTS`; a3 also has one attempt still in progress;
* reflections on two of a1's and b1's attempts.

Choice scores (rubric formula): own 100, grovel 26.40, deny 17.08.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from repairlab.db import Store
from repairlab.db.tables import Attempt, AttemptStep, Cohort, CohortMember, User
from repairlab.services.access import Viewer
from repairlab.services.analytics_versions import VERSIONS
from repairlab.services.catalog import Catalog
from repairlab.services.practice import PracticeService
from repairlab.services.privacy import PrivacyService

SCENARIO = "two-steps"
TWO_STEPS = """\
id: two-steps
title: Two steps
client: Robin
difficulty: beginner
mistake: The therapist forgot the client's news from last week.
rupture: withdrawal
summary: Two decisions in a row.
start: first
nodes:
  first:
    text: You don't remember, do you?
    choices:
      - id: own
        text: I forgot, and that matters.
        scores: {accountability: 4, self_focus: 0, exploration: 4}
        strategies: [acknowledge, invite-exploration]
        feedback: Plain ownership.
        next: second
      - id: grovel
        text: I am so sorry, I feel awful.
        scores: {accountability: 3, self_focus: 4, exploration: 1}
        strategies: [acknowledge]
        feedback: Asks the client to look after you.
        next: second
      - id: deny
        text: I am sure you did not tell me.
        scores: {accountability: 0, self_focus: 1, exploration: 0}
        strategies: [redirect]
        feedback: Puts it on the client.
        next: second
  second:
    text: Right.
    choices:
      - id: own
        text: I would like to hear how that felt.
        scores: {accountability: 4, self_focus: 0, exploration: 4}
        strategies: [invite-exploration]
        feedback: Opens the door.
        next: end-good
      - id: deny
        text: Let us move on.
        scores: {accountability: 0, self_focus: 1, exploration: 0}
        strategies: [redirect]
        feedback: Closes it down.
        next: end-bad
  end-good:
    text: She nods.
    ending: repaired
  end-bad:
    text: She leaves.
    ending: unrepaired
"""

# (trainee, completed at, first choice, second choice, reflection)
ATTEMPTS = [
    ("a1", datetime(2025, 1, 10, 10, tzinfo=UTC), "grovel", "deny", "I apologised too much."),
    ("a2", datetime(2025, 1, 20, 10, tzinfo=UTC), "deny", "deny", None),
    ("a4", datetime(2025, 1, 25, 10, tzinfo=UTC), "own", "own", "Gone with the deletion."),
    ("b1", datetime(2025, 1, 12, 10, tzinfo=UTC), "deny", "own", "Cohort B thoughts."),
    ("a1", datetime(2025, 2, 5, 10, tzinfo=UTC), "own", "own", "Ownership first worked."),
    ("a2", datetime(2025, 2, 10, 10, tzinfo=UTC), "grovel", "own", None),
    ("a3", datetime(2025, 2, 15, 10, tzinfo=UTC), "own", "deny", None),
    ("b1", datetime(2025, 2, 20, 10, tzinfo=UTC), "own", "own", None),
]
NAMES = {"a1": "Ada Alpha", "a2": "Ben Beta", "a3": "Cy Gamma", "a4": "Di Delta", "b1": "Bo Bravo"}


@dataclass
class Program:
    store: Store
    practice: PracticeService
    users: dict[str, int]
    cohorts: dict[str, int]
    attempts: list[tuple[str, str, datetime, str, str]] = field(default_factory=list)  # (who, id, at, c1, c2)
    in_progress: str = ""

    def viewer(self, name: str) -> Viewer:
        role = {"admin": "admin", "sup_a": "supervisor", "sup_b": "supervisor"}.get(name, "trainee")
        return Viewer(self.users[name], role)


def _user(session, name: str, role: str, display: str, guest: bool = False) -> int:  # type: ignore[no-untyped-def]
    user = User(public_id=f"pub-{name}", display_name=display, is_guest=guest, role=role,
                username=None if guest else name, email=None if guest else f"{name}@example.org")
    session.add(user)
    session.flush()
    return user.id


@pytest.fixture
def analytics_library(library_dir: Path) -> Path:
    (library_dir / f"{SCENARIO}.yaml").write_text(TWO_STEPS, encoding="utf-8")
    return library_dir


@pytest.fixture
def program(store: Store, analytics_library: Path) -> Program:
    VERSIONS.clear()
    practice = PracticeService(store, Catalog(store, analytics_library))
    users: dict[str, int] = {}
    cohorts: dict[str, int] = {}
    with store.write() as session:
        users["admin"] = _user(session, "admin", "admin", "Ann Admin")
        users["sup_a"] = _user(session, "sup_a", "supervisor", "Sam Supervisor")
        users["sup_b"] = _user(session, "sup_b", "supervisor", "Sue Supervisor")
        for key, display in NAMES.items():
            users[key] = _user(session, key, "trainee", display)
        users["guest"] = _user(session, "guest", "trainee", "Gus Guest", guest=True)
        for cohort, supervisor, members in (("A", "sup_a", ["a1", "a2", "a3", "a4"]), ("B", "sup_b", ["b1"])):
            row = Cohort(name=f"Cohort {cohort}", year=2025)
            session.add(row)
            session.flush()
            cohorts[cohort] = row.id
            session.add(CohortMember(cohort_id=row.id, user_id=users[supervisor], role="supervisor"))
            for member in members:
                session.add(CohortMember(cohort_id=row.id, user_id=users[member], role="trainee"))
    made = Program(store, practice, users, cohorts)
    for who, at, first, second, reflection in ATTEMPTS:
        attempt_id = play(practice, users[who], [first, second], at)
        if reflection:
            practice.save_reflection(attempt_id, reflection, users[who])
        made.attempts.append((who, attempt_id, at, first, second))
    state = practice.start(users["a3"], SCENARIO, "coached")
    practice.choose(state.id, 0, "own", users["a3"])
    made.in_progress = state.id
    guest_attempt = play(practice, users["guest"], ["own", "own"], datetime(2025, 1, 11, tzinfo=UTC))
    assert guest_attempt
    PrivacyService(store).delete_personal_data(Viewer(users["admin"], "admin"), users["a4"])
    return made


def play(practice: PracticeService, user_id: int, choices: list[str], at: datetime) -> str:
    state = practice.start(user_id, SCENARIO, "assessment")
    for step, choice in enumerate(choices):
        state = practice.choose(state.id, step, choice, user_id)
    assert state.finished
    with practice.store.write() as session:
        session.execute(
            update(Attempt).where(Attempt.id == state.id).values(started_at=at.replace(hour=9), completed_at=at,
                                                                   updated_at=at)
        )
        session.execute(update(AttemptStep).where(AttemptStep.attempt_id == state.id).values(created_at=at))
    return state.id
