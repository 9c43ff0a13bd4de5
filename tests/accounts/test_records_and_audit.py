"""Supervisors' and admins' view of trainees' records: scoped in the query, audited on every look."""

from __future__ import annotations

import json

import pytest
from accounttools import START, Clock, World
from sqlalchemy import select

from repairlab.db import Store
from repairlab.db.tables import AuditEntry
from repairlab.services.access import Viewer
from repairlab.services.accounts import AccountService
from repairlab.services.audit import AuditService
from repairlab.services.errors import Forbidden, NotFound
from repairlab.services.records import NO_ATTEMPT, NO_TRAINEE, RecordsService


def _audit_rows(store: Store) -> list[tuple]:
    with store.read() as session:
        return session.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.subject_user_id, AuditEntry.detail)
            .where(AuditEntry.action.in_(["view_records", "view_attempt"]))
            .order_by(AuditEntry.id)
        ).all()


def test_a_supervisor_lists_only_the_trainees_of_the_cohorts_they_supervise(
    records: RecordsService, world: World
) -> None:
    listed = records.list_trainees(world.sup_a.viewer)
    assert [(t.display_name, t.cohorts, t.attempts, t.completed) for t in listed] == [
        ("Tara One", ("MFT 2026",), 1, 1),
        ("Theo Two", ("MFT 2026",), 1, 1),
    ]
    assert [t.id for t in records.list_trainees(world.sup_a.viewer, world.cohort_a.id)] == [
        world.t1.id,
        world.t2.id,
    ]
    with pytest.raises(NotFound, match="no such cohort among the cohorts you supervise"):
        records.list_trainees(world.sup_a.viewer, world.cohort_b.id)
    assert {t.id for t in records.list_trainees(world.admin.viewer)} == {
        world.t1.id,
        world.t2.id,
        world.t3.id,
    }
    with pytest.raises(Forbidden, match="Trainees can see only their own records"):
        records.list_trainees(world.t1.viewer)


def test_asking_for_a_trainee_of_another_cohort_by_id_looks_exactly_like_asking_for_no_one(
    records: RecordsService, world: World
) -> None:
    messages = []
    for trainee_id in (world.t3.id, 999_999):
        with pytest.raises(NotFound) as refused:
            records.attempts_of(world.sup_a.viewer, trainee_id)
        messages.append(str(refused.value))
    for attempt_id in (world.attempts["t3"], "no-such-attempt"):
        with pytest.raises(NotFound) as refused:
            records.attempt_detail(world.sup_a.viewer, attempt_id)
        messages.append(str(refused.value))
    assert messages == [NO_TRAINEE, NO_TRAINEE, NO_ATTEMPT, NO_ATTEMPT]


def test_looking_at_another_persons_records_writes_an_audit_row_and_ones_own_does_not(
    store: Store, records: RecordsService, clock: Clock, world: World
) -> None:
    records.attempts_of(world.t1.viewer, world.t1.id)
    records.attempt_detail(world.t1.viewer, world.attempts["t1"])
    assert _audit_rows(store) == []

    clock.advance(minutes=5)
    records.attempts_of(world.sup_a.viewer, world.t2.id)
    detail = records.attempt_detail(world.sup_a.viewer, world.attempts["t2"])
    rows = _audit_rows(store)
    assert [(a, action, s) for a, action, s, _ in rows] == [
        (world.sup_a.id, "view_records", world.t2.id),
        (world.sup_a.id, "view_attempt", world.t2.id),
    ]
    assert json.loads(rows[1][3]) == {"attempt_id": world.attempts["t2"]}
    assert detail.reflection == "Reflection of Theo Two"
    assert detail.steps and all(step.dimension_scores for step in detail.steps if step.choice_id)

    with pytest.raises(NotFound):
        records.attempts_of(world.sup_b.viewer, world.t2.id)
    assert len(_audit_rows(store)) == 2  # a refused look is not a look


def test_the_audit_log_says_who_looked_at_whose_records_and_when_to_admins_only(
    records: RecordsService, audit_log: AuditService, clock: Clock, world: World
) -> None:
    clock.advance(hours=2)
    records.attempts_of(world.sup_a.viewer, world.t2.id)
    entries = [
        e
        for e in audit_log.entries(world.admin.viewer, subject_user_id=world.t2.id)
        if e.action == "view_records"
    ]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor_id, entry.actor_name, entry.actor_role) == (
        world.sup_a.id,
        "Sam Supervisor-A",
        "supervisor",
    )
    assert entry.at.replace(tzinfo=None) == (START.replace(tzinfo=None) + (clock.now - START))
    with pytest.raises(Forbidden, match="Only an administrator can read the audit log"):
        audit_log.entries(world.sup_a.viewer)


def test_a_supervisor_opens_a_trainees_attempt_for_the_debrief_view(
    records: RecordsService, world: World
) -> None:
    state = records.open_attempt(world.sup_a.viewer, world.attempts["t1"])
    assert state.user_id == world.t1.id and state.finished
    with pytest.raises(NotFound):
        records.open_attempt(world.sup_b.viewer, world.attempts["t1"])


def test_a_disabled_or_unknown_viewer_sees_nothing(
    records: RecordsService, accounts: AccountService, world: World
) -> None:
    accounts.set_disabled(world.admin.viewer, world.sup_a.id)
    with pytest.raises(Forbidden, match="not active"):
        records.attempts_of(world.sup_a.viewer, world.t1.id)
    with pytest.raises(Forbidden, match="not active"):
        records.list_trainees(Viewer(424242, "admin"))
