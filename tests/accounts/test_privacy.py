"""Privacy requests: export everything about a trainee; delete their personal data but keep the scores."""

from __future__ import annotations

import json

import pytest
from accounttools import PASSWORD, World
from sqlalchemy import func, select

from repairlab.db import Store
from repairlab.db.tables import Attempt, AttemptStep, AuditEntry, AuthSession, CohortMember, StepScore, User
from repairlab.db.tables_groups import GroupAnswer, GroupParticipant, GroupSession
from repairlab.services.cohorts import CohortService
from repairlab.services.errors import Conflict, Forbidden
from repairlab.services.practice import PracticeService
from repairlab.services.privacy import EXPORT_FORMAT, PrivacyService
from repairlab.services.records import RecordsService
from repairlab.services.signin import SignInFailed, SignInService


def test_an_export_holds_everything_about_the_trainee_and_is_audited(
    store: Store, privacy: PrivacyService, records: RecordsService, signin: SignInService, world: World
) -> None:
    signin.authenticate("tara", PASSWORD, client="Firefox on a laptop")
    with store.write() as session:  # Tara answered once in a group session
        attempt = session.get(Attempt, world.attempts["t1"])
        session.add(
            GroupSession(
                id="g1",
                code="G1",
                content_hash=attempt.content_hash,
                scenario_id=attempt.scenario_id,
                mode="supervisor",
                host_user_id=world.sup_a.id,
            )
        )
        session.flush()
        participant = GroupParticipant(session_id="g1", user_id=world.t1.id)
        session.add(participant)
        session.flush()
        session.add(
            GroupAnswer(
                session_id="g1",
                participant_id=participant.id,
                step_no=0,
                node_id="opening",
                choice_id="own-it",
            )
        )
    records.attempts_of(world.sup_a.viewer, world.t1.id)  # a look the export must report
    data = json.loads(privacy.export_trainee_json(world.admin.viewer, world.t1.id))

    assert data["format"] == EXPORT_FORMAT and data["exported_by"] == world.admin.id
    profile = data["profile"]
    assert (profile["display_name"], profile["username"], profile["email"]) == (
        "Tara One",
        "tara",
        "tara@example.org",
    )
    assert profile["pseudonym"].startswith("Trainee ") and profile["has_password"] is True
    assert [(m["cohort"], m["role"]) for m in data["memberships"]] == [("MFT 2026", "trainee")]

    [attempt] = data["attempts"]
    assert attempt["id"] == world.attempts["t1"] and attempt["reflection"] == "Reflection of Tara One"
    assert attempt["status"] == "completed" and attempt["score"] is not None and attempt["zone"]
    with store.read() as session:
        steps = session.scalar(
            select(func.count()).select_from(AttemptStep).where(AttemptStep.attempt_id == attempt["id"])
        )
        scores = session.scalar(
            select(func.count()).select_from(StepScore).where(StepScore.attempt_id == attempt["id"])
        )
    assert len(attempt["steps"]) == steps
    assert sum(len(step["dimension_scores"]) for step in attempt["steps"]) == scores
    assert set(attempt["steps"][0]["dimension_scores"]) == {"accountability", "self_focus", "exploration"}

    [group] = data["group_sessions"]
    assert group["session_id"] == "g1" and [(a["node"], a["choice"]) for a in group["answers"]] == [
        ("opening", "own-it")
    ]
    assert [s["client"] for s in data["sessions"]] == ["Firefox on a laptop"]
    assert "token" not in json.dumps(data["sessions"])
    actions = [(e["action"], e["actor_id"]) for e in data["audit"]]
    assert ("view_records", world.sup_a.id) in actions
    assert actions[-1] == ("export_personal_data", world.admin.id)  # the export reports itself
    with store.read() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "export_personal_data", AuditEntry.subject_user_id == world.t1.id)
            )
            == 1
        )


def test_a_trainee_may_export_their_own_data_but_no_one_elses(privacy: PrivacyService, world: World) -> None:
    own = privacy.export_trainee(world.t1.viewer, world.t1.id)
    assert own["profile"]["id"] == world.t1.id
    for who in ("t1", "sup_a"):
        with pytest.raises(Forbidden, match="Only an administrator can export"):
            privacy.export_trainee(world.viewer(who), world.t2.id)


def test_deleting_a_trainees_personal_data_keeps_their_anonymised_scores(
    store: Store,
    privacy: PrivacyService,
    signin: SignInService,
    records: RecordsService,
    cohorts: CohortService,
    practice: PracticeService,
    world: World,
) -> None:
    token = signin.authenticate("tara", PASSWORD).token
    with store.read() as session:
        before = session.get(User, world.t1.id)
        old_pseudonym, old_public_id = before.pseudonym, before.public_id
        kept = {
            table.__name__: session.scalar(select(func.count()).select_from(table))
            for table in (Attempt, AttemptStep, StepScore, CohortMember)
        }
        scores = session.execute(select(Attempt.id, Attempt.score, Attempt.zone).order_by(Attempt.id)).all()

    report = privacy.delete_personal_data(world.admin.viewer, world.t1.id)
    assert (report.attempts_kept, report.reflections_erased, report.sessions_ended) == (1, 1, 1)

    with store.read() as session:
        user = session.get(User, world.t1.id)
        assert user.display_name == "Deleted trainee"
        assert (user.username, user.email, user.password_hash, user.oidc_subject) == (None, None, None, None)
        assert user.disabled and user.deleted_at is not None
        assert user.pseudonym != old_pseudonym and user.pseudonym == report.pseudonym
        assert user.public_id != old_public_id
        assert session.scalar(select(Attempt.reflection).where(Attempt.user_id == world.t1.id)) is None
        assert session.scalar(select(func.count()).select_from(AuthSession)) == 0
        assert {
            table.__name__: session.scalar(select(func.count()).select_from(table))
            for table in (Attempt, AttemptStep, StepScore, CohortMember)
        } == kept  # scores and memberships stay for cohort statistics
        assert (
            session.execute(select(Attempt.id, Attempt.score, Attempt.zone).order_by(Attempt.id)).all()
            == scores
        )
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete_personal_data")).all()
        assert (entry.actor_id, entry.subject_user_id) == (world.admin.id, world.t1.id)
        assert "Tara" not in entry.detail

    assert signin.resolve(token) is None
    with pytest.raises(SignInFailed):
        signin.authenticate("tara", PASSWORD)
    assert practice.user_by_public_id(old_public_id) is None
    assert [t.id for t in records.list_trainees(world.sup_a.viewer)] == [world.t2.id]
    roster = cohorts.roster(world.admin.viewer, world.cohort_a.id)
    assert "Tara One" not in {m.display_name for m in roster}
    with pytest.raises(Conflict, match="already deleted"):
        privacy.delete_personal_data(world.admin.viewer, world.t1.id)


def test_only_trainees_personal_data_is_deleted_this_way(privacy: PrivacyService, world: World) -> None:
    with pytest.raises(Conflict, match="is supervisor, not a trainee"):
        privacy.delete_personal_data(world.admin.viewer, world.sup_a.id)
    with pytest.raises(Forbidden, match="Only an administrator"):
        privacy.delete_personal_data(world.sup_a.viewer, world.t1.id)
