"""Group sessions through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from repairlab.db import Store
from repairlab.db.tables import Attempt, AttemptStep, StepScore, User
from repairlab.db.tables_groups import GroupAnswer, GroupParticipant, GroupSession
from repairlab.services.access import Viewer
from repairlab.services.errors import Conflict, Forbidden, NotFound, UserFacingError
from repairlab.services.groups import CODE_ALPHABET, CODE_LENGTH, GroupService, clean_code
from repairlab.services.records import RecordsService

from .conftest import EXAMPLE, LISA, make_cohort


def join_three(groups: GroupService, practice, people, code: str) -> list[Viewer]:
    """Three participants: a guest with a display name and two trainee accounts."""
    guest = practice.create_guest("Guest Gil")
    viewers = [Viewer(guest.id), people("Tina Trainee"), people("Tom Trainee")]
    for viewer in viewers:
        groups.join(viewer.user_id, code)
    return viewers


def answer_rows(store: Store, session_id: str) -> int:
    with store.read() as session:
        return session.scalar(
            select(func.count()).select_from(GroupAnswer).where(GroupAnswer.session_id == session_id)
        )


def test_a_supervisor_paced_session_runs_end_to_end_with_three_trainees(
    groups, practice, people, supervisor, store
):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    assert len(info.code) == CODE_LENGTH and set(info.code) <= set(CODE_ALPHABET)
    gil, tina, tom = join_three(groups, practice, people, info.code)

    host = groups.host_view(supervisor, info.id)
    assert host.position.node_id == "opening" and host.position.kind == "decision"
    assert (host.counts.answered, host.counts.joined) == (0, 3)

    groups.answer(info.id, gil.user_id, 0, "own-it")
    groups.answer(info.id, tina.user_id, 0, "own-it")
    groups.answer(info.id, tom.user_id, 0, "grovel")
    assert groups.counts(info.id).answered == 3

    # Before the reveal nobody sees the distribution; afterwards every participant does.
    before = groups.participant_view(info.id, tom.user_id)
    assert before.results is None and before.my_answer == "grovel" and before.can_answer
    groups.reveal(supervisor, info.id, 0)
    after = groups.participant_view(info.id, tom.user_id)
    assert after.revealed and not after.can_answer
    counts = {c.choice_id: c.count for c in after.results.choices}
    assert counts == {"own-it": 2, "grovel": 1, "explain": 0, "move-on": 0}
    own_it = after.results.by_id("own-it")
    assert own_it.score == 100 and own_it.zone == "Balanced repair" and own_it.feedback
    assert after.results.default_branch == "own-it"

    # The supervisor follows the default (most chosen) branch, then continues the narration.
    groups.advance(supervisor, info.id, 0)
    view = groups.participant_view(info.id, gil.user_id)
    assert view.position.node_id == "opens-up" and view.position.kind == "narration" and not view.choices
    groups.advance(supervisor, info.id, 1)
    final = groups.participant_view(info.id, gil.user_id)
    assert final.position.finished and final.position.node_id == "end-repaired"

    # Every participant who answered now has a completed attempt on the group's path.
    with store.read() as session:
        attempts = session.scalars(select(Attempt).where(Attempt.mode == "group")).all()
        assert sorted(a.user_id for a in attempts) == sorted(v.user_id for v in (gil, tina, tom))
        assert {a.status for a in attempts} == {"completed"} and {a.ending for a in attempts} == {"repaired"}
        toms = next(a for a in attempts if a.user_id == tom.user_id)
        steps = session.scalars(
            select(AttemptStep).where(AttemptStep.attempt_id == toms.id).order_by(AttemptStep.step_no)
        ).all()
        assert [(s.node_id, s.choice_id) for s in steps] == [("opening", "grovel"), ("opens-up", None)]
        assert toms.zone == "over-apology" and toms.score == pytest.approx(steps[0].score)
        dims = dict(
            session.execute(
                select(StepScore.dimension, StepScore.value).where(StepScore.attempt_id == toms.id)
            ).all()
        )
        assert dims == {"accountability": 3, "self_focus": 4, "exploration": 1}

    # Tom's own debrief scores his answer at the group's node; the path and ending are the group's.
    mine = groups.trainee_debrief(info.id, tom.user_id)
    assert mine.attempt_id == toms.id
    assert [(r.node_id, r.answer.choice) for r in mine.result.rows] == [("opening", "grovel")]
    assert mine.result.rows[0].group_choice_text.startswith("I started fifteen minutes late")
    assert mine.result.ending == "repaired"

    debrief = groups.group_debrief(info.id, viewer=supervisor)
    assert [d.node_id for d in debrief.decisions] == ["opening"] and debrief.decisions[0].branch == "own-it"
    assert debrief.answers == 3 and debrief.participants == 3
    assert dict(debrief.zones)["Balanced repair"] == 2 and dict(debrief.zones)["Over-apology"] == 1
    assert {p.choice_id: p.count for p in debrief.points} == {"own-it": 2, "grovel": 1}
    assert dict(debrief.strategies)["Acknowledge own contribution"] == 3
    assert debrief.ending == "repaired"


def test_answering_twice_or_changing_before_the_reveal_keeps_one_row_per_participant_and_step(
    groups, practice, people, supervisor, store
):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    trainee = people("Dana")
    groups.join(trainee.user_id, info.code)
    groups.join(trainee.user_id, info.code)  # a second tab joins again: the same membership
    for _ in range(3):
        groups.answer(info.id, trainee.user_id, 0, "explain")
    groups.answer(info.id, trainee.user_id, 0, "own-it")  # changed before the reveal
    assert answer_rows(store, info.id) == 1
    assert groups.participant_view(info.id, trainee.user_id).my_answer == "own-it"
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(GroupParticipant)) == 1

    groups.reveal(supervisor, info.id, 0)
    groups.answer(info.id, trainee.user_id, 0, "own-it")  # the same answer re-sent: fine
    with pytest.raises(Conflict, match="revealed"):
        groups.answer(info.id, trainee.user_id, 0, "grovel")
    groups.advance(supervisor, info.id, 0, "own-it")
    groups.answer(info.id, trainee.user_id, 0, "own-it")  # a late duplicate of a recorded answer
    with pytest.raises(Conflict, match="moved on"):
        groups.answer(info.id, trainee.user_id, 0, "explain")
    with pytest.raises(Conflict, match="nothing to answer"):
        groups.answer(info.id, trainee.user_id, 1, "own-it")
    assert answer_rows(store, info.id) == 1


def test_concurrent_answers_from_many_trainees_are_all_counted_once(groups, people, supervisor, store):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    trainees = [people(f"T{i}") for i in range(16)]
    for viewer in trainees:
        groups.join(viewer.user_id, info.code)
    errors: list[BaseException] = []
    choices = ["own-it", "grovel", "explain", "move-on"]

    def answer(index: int, viewer: Viewer) -> None:
        try:
            for _ in range(2):  # each trainee "double clicks"
                groups.answer(info.id, viewer.user_id, 0, choices[index % 4])
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=answer, args=(i, v)) for i, v in enumerate(trainees)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert answer_rows(store, info.id) == 16
    assert groups.counts(info.id).answered == 16


def test_a_late_joiner_lands_on_the_current_node(groups, people, supervisor):
    info = groups.create_session(supervisor, LISA, "supervisor")
    early = people("Early")
    groups.join(early.user_id, info.code)
    host = groups.host_view(supervisor, info.id)
    # Move the group through narration and its first decision.
    for _ in range(10):
        host = groups.host_view(supervisor, info.id)
        if host.position.kind == "decision" and host.position.decisions_passed == 1:
            break
        if host.position.kind == "decision":
            groups.answer(info.id, early.user_id, host.position.step, host.tally.choices[0].choice_id)
            groups.reveal(supervisor, info.id, host.position.step)
        groups.advance(supervisor, info.id, host.position.step)
    late = people("Late")
    groups.join(late.user_id, info.code)
    view = groups.participant_view(info.id, late.user_id)
    assert view.position.node_id == host.position.node_id and view.position.step == host.position.step
    assert view.can_answer and view.my_answer is None
    assert {c.id for c in view.choices} == {c.choice_id for c in host.tally.choices}


def test_rejoining_after_a_refresh_or_on_another_device_restores_the_answers(
    groups, practice, people, supervisor, store, catalog, reopen
):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    trainee = people("Remy")
    first = groups.join(trainee.user_id, info.code)
    groups.answer(info.id, trainee.user_id, 0, "move-on")
    order = [c.id for c in groups.participant_view(info.id, trainee.user_id).choices]

    # Another process (a new Store, as after a server restart or on another replica).
    other_store = reopen(store)
    from repairlab.services.catalog import Catalog
    from repairlab.services.practice import PracticeService

    other_catalog = Catalog(other_store, catalog.root)
    other = GroupService(other_store, other_catalog, PracticeService(other_store, other_catalog))
    again = other.join(trainee.user_id, clean_code(info.code.lower()))  # typed in lower case
    assert again == first
    view = other.participant_view(info.id, trainee.user_id)
    assert view.my_answer == "move-on"
    assert [c.id for c in view.choices] == order  # the same private shuffled order


def test_each_participant_gets_their_own_stable_shuffled_order(groups, people, supervisor):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    orders = set()
    for index in range(8):
        viewer = people(f"P{index}")
        groups.join(viewer.user_id, info.code)
        order = tuple(c.id for c in groups.participant_view(info.id, viewer.user_id).choices)
        assert order == tuple(c.id for c in groups.participant_view(info.id, viewer.user_id).choices)
        orders.add(order)
    assert len(orders) > 1


def test_advancing_needs_the_reveal_and_a_double_click_advances_once(groups, people, supervisor, store):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    with pytest.raises(Conflict, match="Reveal"):
        groups.advance(supervisor, info.id, 0)
    groups.reveal(supervisor, info.id, 0)
    groups.reveal(supervisor, info.id, 0)
    groups.advance(supervisor, info.id, 0, "explain")
    groups.advance(supervisor, info.id, 0, "explain")  # the double click
    with pytest.raises(Conflict, match="already moved on"):
        groups.advance(supervisor, info.id, 0, "own-it")
    with store.read() as session:
        assert session.get(GroupSession, info.id).position == 1
    assert groups.host_view(supervisor, info.id).position.node_id == "closes-down"
    with pytest.raises(Conflict, match="out of date"):
        groups.advance(supervisor, info.id, 5)
    other = groups.create_session(supervisor, EXAMPLE, "supervisor")
    groups.reveal(supervisor, other.id, 0)
    with pytest.raises(Conflict, match="not one of the responses"):
        groups.advance(supervisor, other.id, 0, "nope")


def test_with_no_answers_the_default_branch_is_the_best_scoring_response(groups, supervisor):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    groups.reveal(supervisor, info.id, 0)
    assert groups.host_view(supervisor, info.id).tally.default_branch == "own-it"


def test_ties_go_to_the_higher_scoring_response(groups, people, supervisor):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    a, b, c = people("A"), people("B"), people("C")
    for viewer, choice in ((a, "explain"), (b, "grovel"), (c, "move-on")):
        groups.join(viewer.user_id, info.code)
        groups.answer(info.id, viewer.user_id, 0, choice)
    tally = groups.host_view(supervisor, info.id).tally
    scores = {row.choice_id: row.score for row in tally.choices}
    expected = max(("explain", "grovel", "move-on"), key=scores.get)
    assert tally.default_branch == expected


def test_closing_stops_joining_and_answering_and_reopening_brings_the_session_back(
    groups, people, supervisor, store
):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    trainee = people("Cleo")
    groups.join(trainee.user_id, info.code)
    groups.answer(info.id, trainee.user_id, 0, "own-it")
    closed = groups.close(supervisor, info.id)
    assert closed.status == "closed" and closed.closed_at is not None
    groups.close(supervisor, info.id)  # idempotent
    with pytest.raises(NotFound, match="has been closed"):
        groups.join(people("Late").user_id, info.code)
    with pytest.raises(Conflict, match="closed"):
        groups.answer(info.id, trainee.user_id, 0, "grovel")
    with pytest.raises(Conflict, match="closed"):
        groups.reveal(supervisor, info.id, 0)
    # A participant can still read their session and answers for review.
    assert groups.participant_view(info.id, trainee.user_id).my_answer == "own-it"

    reopened = groups.reopen(supervisor, info.id)
    assert reopened.is_open and reopened.code == info.code
    groups.answer(info.id, trainee.user_id, 0, "grovel")
    assert groups.participant_view(info.id, trainee.user_id).my_answer == "grovel"


def test_a_reopened_session_gets_a_new_code_when_its_old_one_is_in_use(
    groups, supervisor, store, monkeypatch
):
    first = groups.create_session(supervisor, EXAMPLE, "supervisor")
    groups.close(supervisor, first.id)
    import repairlab.services.groups as module

    codes = iter([first.code, "ZZZZZZ"])
    monkeypatch.setattr(module, "random_code", lambda length: next(codes))
    second = groups.create_session(supervisor, EXAMPLE, "supervisor")  # reuses the freed code
    assert second.code == first.code
    reopened = groups.reopen(supervisor, first.id)
    assert reopened.code == "ZZZZZZ"


def test_a_new_session_never_takes_the_code_of_an_open_one(groups, supervisor, monkeypatch):
    first = groups.create_session(supervisor, EXAMPLE, "supervisor")
    import repairlab.services.groups as module

    codes = iter([first.code, first.code, "YYYYYY"])
    monkeypatch.setattr(module, "random_code", lambda length: next(codes))
    assert groups.create_session(supervisor, EXAMPLE, "supervisor").code == "YYYYYY"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "enter the join code"),
        ("ABC", "is not a join code"),
        ("ABCDE0", "is not a join code"),
        ("ABCDEF", "no open group session with the code ABCDEF"),
    ],
)
def test_unknown_or_malformed_codes_get_a_clear_message(groups, people, typed, message):
    with pytest.raises(UserFacingError, match=message):
        groups.join(people("Val").user_id, typed)


def test_self_paced_board_shows_progress_and_the_zone_distribution_by_pseudonym(
    groups, people, supervisor, practice, store
):
    info = groups.create_session(supervisor, EXAMPLE, "self", feedback_mode="assessment")
    ana, ben, cai = people("Ana Real"), people("Ben Real"), people("Cai Real")
    for viewer in (ana, ben, cai):
        groups.join(viewer.user_id, info.code)
    ana_attempt = groups.own_attempt(info.id, ana.user_id)
    assert groups.own_attempt(info.id, ana.user_id).id == ana_attempt.id  # a refresh: the same attempt
    assert ana_attempt.mode == "assessment" and ana_attempt.content_hash == info.content_hash
    state = practice.choose(ana_attempt.id, 0, "own-it", ana.user_id)
    practice.proceed(state.id, 1, ana.user_id)
    ben_attempt = groups.own_attempt(info.id, ben.user_id)
    practice.choose(ben_attempt.id, 0, "grovel", ben.user_id)

    board = groups.board(supervisor, info.id)
    assert board.joined == 3 and board.finished == 1
    by_name = {row.pseudonym: row for row in board.rows}
    with store.read() as session:
        pseudonyms = {u.id: u.pseudonym for u in session.scalars(select(User))}
    ana_row = by_name[pseudonyms[ana.user_id]]
    assert ana_row.finished and ana_row.ending == "repaired" and ana_row.decisions == 1
    ben_row = by_name[pseudonyms[ben.user_id]]
    assert not ben_row.finished and ben_row.last_zone == "Over-apology"
    assert not by_name[pseudonyms[cai.user_id]].started
    assert dict(board.zones) == {"Balanced repair": 1, "Over-apology": 1, "Defensive": 0, "Dismissive": 0}
    assert dict(board.final_zones)["Balanced repair"] == 1
    assert "Real" not in repr(board)  # names never reach the board

    with pytest.raises(Conflict, match="self-paced"):
        groups.participant_view(info.id, ana.user_id)
    groups.close(supervisor, info.id)
    with pytest.raises(Conflict, match="closed before you started"):
        groups.own_attempt(info.id, cai.user_id)
    # The attempts are ordinary practice attempts: they stay in the trainees' records.
    assert [a.id for a in practice.history(ana.user_id)] == [ana_attempt.id]


def test_results_join_the_cohorts_records(groups, people, supervisor, store, practice):
    trainee = people("Rhea")
    cohort = make_cohort(store, "MFT 2026", [supervisor], [trainee])
    assert groups.host_cohorts(supervisor) == [(cohort, "MFT 2026")]
    info = groups.create_session(supervisor, EXAMPLE, "supervisor", cohort_id=cohort)
    assert info.cohort_name == "MFT 2026"
    groups.join(trainee.user_id, info.code)
    groups.answer(info.id, trainee.user_id, 0, "explain")
    groups.reveal(supervisor, info.id, 0)
    groups.advance(supervisor, info.id, 0)
    groups.advance(supervisor, info.id, 1)
    records = RecordsService(store, practice).attempts_of(supervisor, trainee.user_id)
    assert [(r.mode, r.status, r.zone) for r in records] == [("group", "completed", "defensive")]
    attempt_id = records[0].id
    assert groups.session_of_attempt(attempt_id) == info.id
    # Advancing again (a double click at the ending) records nothing twice.
    groups.advance(supervisor, info.id, 1)
    assert len(RecordsService(store, practice).attempts_of(supervisor, trainee.user_id)) == 1


def test_participants_see_only_anonymous_results_and_cannot_manage_the_session(
    groups, people, supervisor, practice, store
):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    guest = practice.create_guest("Secret Sam")
    other = people("Hidden Hana")
    for user_id in (guest.id, other.user_id):
        groups.join(user_id, info.code)
    groups.answer(info.id, guest.id, 0, "own-it")
    groups.answer(info.id, other.user_id, 0, "grovel")
    groups.reveal(supervisor, info.id, 0)
    view = groups.participant_view(info.id, other.user_id)
    debrief = groups.group_debrief(info.id, user_id=other.user_id)
    with store.read() as session:
        identities = [
            value
            for user in session.scalars(select(User))
            for value in (user.display_name, user.pseudonym, user.public_id, user.username)
            if value
        ]
    shown = repr(view) + repr(debrief)
    for identity in identities:
        assert identity not in shown
    assert sum(c.count for c in view.results.choices) == 2

    trainee = Viewer(other.user_id)
    with pytest.raises(NotFound):
        groups.host_view(trainee, info.id)
    with pytest.raises(NotFound):
        groups.reveal(trainee, info.id, 0)
    with pytest.raises(NotFound):
        groups.board(trainee, info.id)
    outsider = people("Outsider")
    with pytest.raises(NotFound):
        groups.participant_view(info.id, outsider.user_id)
    with pytest.raises(NotFound):
        groups.trainee_debrief(info.id, outsider.user_id)
    with pytest.raises(NotFound):
        groups.group_debrief(info.id, user_id=outsider.user_id)


def test_only_the_host_their_cohorts_supervisors_and_admins_manage_a_session(
    groups, people, supervisor, admin, store
):
    colleague = people("Colleague", "supervisor")
    stranger = people("Stranger", "supervisor")
    cohort = make_cohort(store, "Cohort A", [supervisor, colleague], [])
    make_cohort(store, "Cohort B", [stranger], [])
    info = groups.create_session(supervisor, EXAMPLE, "supervisor", cohort_id=cohort)
    assert groups.session_for_host(colleague, info.id).id == info.id
    assert groups.session_for_host(admin, info.id).id == info.id
    with pytest.raises(NotFound):
        groups.session_for_host(stranger, info.id)
    assert [s.id for s in groups.hosted_sessions(colleague)] == [info.id]
    assert groups.hosted_sessions(stranger) == []
    with pytest.raises(NotFound, match="cohort"):
        groups.create_session(stranger, EXAMPLE, "supervisor", cohort_id=cohort)


def test_hosting_needs_a_supervisor_or_admin_once_an_administrator_exists(
    groups, people, store, catalog, practice
):
    trainee = people("Tess")
    # A fresh install with guest practice allowed and no admin: the local host may run a session.
    assert groups.can_host(trainee)
    groups.create_session(trainee, EXAMPLE, "supervisor")
    strict = GroupService(store, catalog, practice, guests_allowed=False)
    assert not strict.can_host(trainee)
    with pytest.raises(Forbidden, match="Only supervisors and administrators"):
        strict.create_session(trainee, EXAMPLE, "supervisor")
    people("Root", "admin")
    assert not groups.can_host(trainee)
    with pytest.raises(Forbidden):
        groups.create_session(trainee, EXAMPLE, "supervisor")


def test_guests_join_only_where_the_deployment_allows_guests(groups, store, catalog, practice, supervisor):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    guest = practice.create_guest("Gwen")
    strict = GroupService(store, catalog, practice, guests_allowed=False)
    with pytest.raises(Forbidden, match="sign in"):
        strict.join(guest.id, info.code)
    assert groups.join(guest.id, info.code).user_id == guest.id


def test_a_multi_decision_session_scores_each_trainee_at_the_groups_nodes(groups, people, supervisor):
    info = groups.create_session(supervisor, LISA, "supervisor")
    keen, quiet = people("Keen"), people("Quiet")
    for viewer in (keen, quiet):
        groups.join(viewer.user_id, info.code)
    answered_by_quiet = 0
    for _ in range(40):
        host = groups.host_view(supervisor, info.id)
        if host.position.finished:
            break
        step = host.position.step
        if host.position.kind == "decision":
            worst = min(host.tally.choices, key=lambda c: c.score)
            groups.answer(info.id, keen.user_id, step, worst.choice_id)
            if host.position.decisions_passed == 0:
                groups.answer(info.id, quiet.user_id, step, worst.choice_id)
                answered_by_quiet += 1
            groups.reveal(supervisor, info.id, step)
            best = max(host.tally.choices, key=lambda c: c.score)
            groups.advance(supervisor, info.id, step, best.choice_id)  # the group takes the best branch
        else:
            groups.advance(supervisor, info.id, step)
    assert host.position.finished
    keen_debrief = groups.trainee_debrief(info.id, keen.user_id).result
    assert keen_debrief.decisions >= 2 and all(row.answer for row in keen_debrief.rows)
    assert all(row.answer.score <= row.answer.best_score for row in keen_debrief.rows)
    quiet_debrief = groups.trainee_debrief(info.id, quiet.user_id).result
    assert len(quiet_debrief.outcomes) == answered_by_quiet == 1
    assert quiet_debrief.decisions == keen_debrief.decisions
    group = groups.group_debrief(info.id, viewer=supervisor)
    assert len(group.decisions) == keen_debrief.decisions
    assert len(group.path_outcomes) == len(group.decisions)
    assert all(o.score == o.best_score for o in group.path_outcomes)


@pytest.mark.postgres
def test_two_processes_on_one_postgresql_database_serve_the_same_live_session(pg_url, library_dir, people):
    """Two Store instances (as two app processes would have) share every bit of live state."""
    from repairlab.services.catalog import Catalog
    from repairlab.services.practice import PracticeService

    def process() -> tuple[Store, GroupService]:
        store = Store(pg_url)
        catalog = Catalog(store, library_dir)
        return store, GroupService(store, catalog, PracticeService(store, catalog))

    store_a, one = process()
    store_a.upgrade()
    store_b, two = process()
    try:
        from .conftest import make_user

        host = make_user(store_a, "Host", "supervisor")
        info = one.create_session(host, EXAMPLE, "supervisor")
        trainee_a = make_user(store_a, "On A")
        trainee_b = make_user(store_b, "On B")
        one.join(trainee_a.user_id, info.code)
        two.join(trainee_b.user_id, info.code)
        two.answer(info.id, trainee_b.user_id, 0, "grovel")
        one.answer(info.id, trainee_a.user_id, 0, "grovel")
        assert one.counts(info.id) == two.counts(info.id)
        assert one.counts(info.id).answered == 2
        two.reveal(host, info.id, 0)  # the host's page served by the other process
        assert one.participant_view(info.id, trainee_a.user_id).results.by_id("grovel").count == 2
        one.advance(host, info.id, 0)
        assert two.live_token(info.id).position == 1
        assert two.participant_view(info.id, trainee_b.user_id).position.node_id == "closes-down"
    finally:
        store_a.dispose()
        store_b.dispose()


def test_a_guest_who_signs_up_keeps_their_group_participation(groups, practice, people, supervisor, store):
    from repairlab.services.groups import move_participations

    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    guest = practice.create_guest("Gus")
    groups.join(guest.id, info.code)
    groups.answer(info.id, guest.id, 0, "own-it")
    account = people("Gus Account")
    with store.write() as session:
        assert move_participations(session, guest.id, account.user_id) == 1
    assert groups.participant_view(info.id, account.user_id).my_answer == "own-it"


def test_the_group_migration_downgrades_and_upgrades_cleanly(store):
    from sqlalchemy import inspect

    from repairlab.db.migrate import downgrade, upgrade

    downgrade(store, "0003")
    with store.read() as session:
        assert not {t for t in inspect(session.get_bind()).get_table_names() if t.startswith("group_")}
    upgrade(store, "head")
    with store.read() as session:
        tables = set(inspect(session.get_bind()).get_table_names())
    assert {
        "group_sessions",
        "group_steps",
        "group_participants",
        "group_answers",
        "group_attempts",
    } <= tables


def test_the_live_state_a_trainee_watches_moves_with_answers_and_the_reveal(
    groups, practice, people, supervisor
):
    info = groups.create_session(supervisor, EXAMPLE, "supervisor")
    gil, tina, _tom = join_three(groups, practice, people, info.code)
    token, counts = groups.live_state(info.id)
    assert (token.position, token.revealed, counts.answered, counts.joined) == (0, False, 0, 3)

    groups.answer(info.id, gil.user_id, 0, "own-it")
    groups.answer(info.id, tina.user_id, 0, "grovel")
    groups.reveal(supervisor, info.id, 0)
    token, counts = groups.live_state(info.id)
    assert token == groups.live_token(info.id) and token.revealed
    assert counts == groups.counts(info.id) and counts.answered == 2
    assert groups.live_state("no-such-session") is None
