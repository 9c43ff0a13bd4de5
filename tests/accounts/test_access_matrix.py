"""Every role x resource x action: allowed where the rules say, refused (and nothing changed) elsewhere.

The world (see conftest): cohort A = supervisor A + trainees T1, T2;
cohort B = supervisor B + trainee T3; one admin. The trainee acting is T1.
"Refused" means `Forbidden` (the role may never do this) or `NotFound` (the
object is outside the viewer's scope, reported as if it did not exist).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from accounttools import SCENARIO, World
from sqlalchemy import func, select

from repairlab.db import Store
from repairlab.db.tables import Attempt, AttemptStep, AuditEntry, Cohort, CohortMember, User
from repairlab.services.accounts import AccountService
from repairlab.services.cohorts import CohortService
from repairlab.services.errors import Forbidden, NotFound
from repairlab.services.practice import PracticeService
from repairlab.services.privacy import PrivacyService
from repairlab.services.records import RecordsService

ALLOW, DENY = "allowed", "refused"
ACTORS = ("t1", "sup_a", "sup_b", "admin")


@dataclass
class Services:
    accounts: AccountService
    cohorts: CohortService
    records: RecordsService
    privacy: PrivacyService
    practice: PracticeService


Operation = Callable[[Services, World, str], object]


def _own_attempts_read(s: Services, w: World, who: str) -> object:
    return s.records.attempts_of(w.viewer(who), getattr(w, who).id)


def _own_attempts_write(s: Services, w: World, who: str) -> object:
    return s.practice.save_reflection(w.attempts[who], "Next time, slower.", getattr(w, who).id)


def _attempts_read(trainee: str) -> Operation:
    def read(s: Services, w: World, who: str) -> object:
        found = s.records.attempts_of(w.viewer(who), getattr(w, trainee).id)
        assert [a.id for a in found] == [w.attempts[trainee]]
        return found

    return read


def _attempts_write(s: Services, w: World, who: str) -> object:
    state = s.practice.start(w.t2.id, SCENARIO, "coached")  # T2's own attempt, in progress
    choice = state.play.offered_choices()[0].id
    return s.practice.choose(state.id, 0, choice, getattr(w, who).id)


def _reflection_read(trainee: str) -> Operation:
    def read(s: Services, w: World, who: str) -> object:
        detail = s.records.attempt_detail(w.viewer(who), w.attempts[trainee])
        assert detail.reflection == f"Reflection of {getattr(w, trainee).display_name}"
        return detail

    return read


def _reflection_write(s: Services, w: World, who: str) -> object:
    return s.practice.save_reflection(w.attempts["t2"], "Overwritten by someone else", getattr(w, who).id)


def _roster_read(cohort: str) -> Operation:
    def read(s: Services, w: World, who: str) -> object:
        return s.cohorts.roster(w.viewer(who), getattr(w, cohort).id)

    return read


def _roster_write(s: Services, w: World, who: str) -> object:
    csv = "username,display_name,email\nnew.one,New One,new.one@example.org\n"
    return s.cohorts.import_roster(w.viewer(who), w.cohort_a.id, csv)


def _roster_remove(s: Services, w: World, who: str) -> object:
    return s.cohorts.remove_member(w.viewer(who), w.cohort_a.id, w.t2.id)


def _cohort_create(s: Services, w: World, who: str) -> object:
    return s.cohorts.create_cohort(w.viewer(who), "Couples 2026")


def _export(trainee: str) -> Operation:
    def export(s: Services, w: World, who: str) -> object:
        return s.privacy.export_trainee(w.viewer(who), getattr(w, trainee).id)

    return export


def _own_export(s: Services, w: World, who: str) -> object:
    return s.privacy.export_trainee(w.viewer(who), getattr(w, who).id)


def _delete(s: Services, w: World, who: str) -> object:
    return s.privacy.delete_personal_data(w.viewer(who), w.t2.id)


def _users_read(s: Services, w: World, who: str) -> object:
    return s.accounts.list_users(w.viewer(who))


def _users_write(s: Services, w: World, who: str) -> object:
    return s.accounts.create_user(w.viewer(who), "newcomer", "New Comer")


def _role_write(s: Services, w: World, who: str) -> object:
    return s.accounts.set_role(w.viewer(who), w.sup_b.id, "admin")


# resource, action, operation, outcome for (T1, supervisor A, supervisor B, admin).
# Run in this order against one world per actor: reads first, then writes,
# the ones that change the world most (removal, role change, deletion) last.
MATRIX: list[tuple[str, str, Operation, tuple[str, str, str, str]]] = [
    ("own attempts", "read", _own_attempts_read, (ALLOW, ALLOW, ALLOW, ALLOW)),
    ("own data export", "read", _own_export, (ALLOW, ALLOW, ALLOW, ALLOW)),
    ("attempts of a cohort-A trainee", "read", _attempts_read("t2"), (DENY, ALLOW, DENY, ALLOW)),
    ("attempts of a cohort-B trainee", "read", _attempts_read("t3"), (DENY, DENY, ALLOW, ALLOW)),
    ("reflection of a cohort-A trainee", "read", _reflection_read("t2"), (DENY, ALLOW, DENY, ALLOW)),
    ("reflection of a cohort-B trainee", "read", _reflection_read("t3"), (DENY, DENY, ALLOW, ALLOW)),
    ("cohort A roster", "read", _roster_read("cohort_a"), (DENY, ALLOW, DENY, ALLOW)),
    ("cohort B roster", "read", _roster_read("cohort_b"), (DENY, DENY, ALLOW, ALLOW)),
    ("export of a cohort-A trainee", "read", _export("t2"), (DENY, DENY, DENY, ALLOW)),
    ("export of a cohort-B trainee", "read", _export("t3"), (DENY, DENY, DENY, ALLOW)),
    ("user management", "read", _users_read, (DENY, DENY, DENY, ALLOW)),
    ("own attempts", "write", _own_attempts_write, (ALLOW, ALLOW, ALLOW, ALLOW)),
    ("attempts of a cohort-A trainee", "write", _attempts_write, (DENY, DENY, DENY, DENY)),
    ("reflection of a cohort-A trainee", "write", _reflection_write, (DENY, DENY, DENY, DENY)),
    ("cohort A roster (upload)", "write", _roster_write, (DENY, ALLOW, DENY, ALLOW)),
    ("cohorts", "write", _cohort_create, (DENY, DENY, DENY, ALLOW)),
    ("user management (create)", "write", _users_write, (DENY, DENY, DENY, ALLOW)),
    ("cohort A roster (remove a trainee)", "write", _roster_remove, (DENY, ALLOW, DENY, ALLOW)),
    ("user management (roles)", "write", _role_write, (DENY, DENY, DENY, ALLOW)),
    ("deletion of a cohort-A trainee", "write", _delete, (DENY, DENY, DENY, ALLOW)),
]


def _fingerprint(store: Store) -> tuple:
    """Everything a refused operation must leave alone."""
    with store.read() as session:
        counts = tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (User, Cohort, CohortMember, Attempt, AttemptStep, AuditEntry)
        )
        people = tuple(session.execute(select(User.id, User.display_name, User.role).order_by(User.id)).all())
        reflections = tuple(
            session.execute(select(Attempt.id, Attempt.reflection).order_by(Attempt.id)).all()
        )
        return counts, people, reflections


def test_the_matrix_covers_every_role_for_every_resource_and_action() -> None:
    assert len({(resource, action) for resource, action, _, _ in MATRIX}) == len(MATRIX)
    assert all(len(outcomes) == len(ACTORS) for *_, outcomes in MATRIX)
    assert {action for _, action, _, _ in MATRIX} == {"read", "write"}


@pytest.mark.parametrize("who", ACTORS)
def test_each_role_may_do_exactly_what_the_rules_allow_to_each_resource(
    store: Store,
    world: World,
    accounts: AccountService,
    cohorts: CohortService,
    records: RecordsService,
    privacy: PrivacyService,
    practice: PracticeService,
    subtests: pytest.Subtests,
    who: str,
) -> None:
    """One world per role and backend (building one per cell would take minutes); each cell a subtest."""
    services = Services(accounts, cohorts, records, privacy, practice)
    column = ACTORS.index(who)
    for resource, action, operation, outcomes in MATRIX:
        outcome = outcomes[column]
        with subtests.test(f"{who} {action} {resource}: {outcome}"):
            if outcome == ALLOW:
                operation(services, world, who)
                continue
            before = _fingerprint(store)
            with pytest.raises((Forbidden, NotFound)) as refused:
                operation(services, world, who)
            assert str(refused.value)  # a message for a person, never empty
            if operation is not _attempts_write:  # that one first starts T2's own attempt, legitimately
                assert _fingerprint(store) == before
