"""Cohorts and enrolment: invite codes, roster uploads (all or nothing), leaving a cohort."""

from __future__ import annotations

import pytest
from accounttools import PASSWORD, World
from sqlalchemy import func, select

from repairlab.db import Store
from repairlab.db.tables import UNAMBIGUOUS, CohortMember, User
from repairlab.services.access import Viewer
from repairlab.services.accounts import AccountService
from repairlab.services.cohorts import CohortService, normalise_invite_code
from repairlab.services.errors import Conflict, Forbidden, NotFound, UserFacingError
from repairlab.services.practice import PracticeService
from repairlab.services.records import RecordsService
from repairlab.services.roster import RosterRejected, parse_roster
from repairlab.services.signin import SignInService


def _counts(store: Store) -> tuple[int, int]:
    with store.read() as session:
        return (
            session.scalar(select(func.count()).select_from(User)),
            session.scalar(select(func.count()).select_from(CohortMember)),
        )


# -- cohorts and invite codes ------------------------------------------------------------


def test_cohort_names_are_unique_whatever_their_case_and_years_are_checked(
    cohorts: CohortService, world: World
) -> None:
    with pytest.raises(Conflict, match="A cohort called 'mft 2026' already exists"):
        cohorts.create_cohort(world.admin.viewer, "mft 2026")
    with pytest.raises(UserFacingError, match="year must be a whole number between 1900 and 2200"):
        cohorts.create_cohort(world.admin.viewer, "Couples", year=26)
    with pytest.raises(UserFacingError, match="Cohort names can be at most 100 characters"):
        cohorts.create_cohort(world.admin.viewer, "C" * 101)
    renamed = cohorts.update_cohort(world.admin.viewer, world.cohort_a.id, name="MFT 2026 (autumn)")
    assert renamed.name == "MFT 2026 (autumn)" and renamed.trainees == 2 and renamed.supervisors == 1


def test_invite_codes_are_short_unambiguous_and_regenerable(cohorts: CohortService, world: World) -> None:
    code = world.cohort_a.invite_code
    assert code is not None and len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set(UNAMBIGUOUS)
    assert not set("01OIL") & set(code)
    new = cohorts.regenerate_invite_code(world.sup_a.viewer, world.cohort_a.id)
    assert new != code
    assert cohorts.cohort(world.sup_a.viewer, world.cohort_a.id).invite_code == new
    with pytest.raises(NotFound):
        cohorts.regenerate_invite_code(world.sup_b.viewer, world.cohort_a.id)
    # trainees see their cohorts, never the codes
    assert [(c.name, c.invite_code) for c in cohorts.list_cohorts(world.t1.viewer)] == [("MFT 2026", None)]


def test_a_trainee_joins_with_an_invite_code_typed_loosely_and_the_supervisor_then_sees_them(
    cohorts: CohortService, accounts: AccountService, records: RecordsService, world: World
) -> None:
    newbie = accounts.create_user(world.admin.viewer, "newbie", "New Bie", password=PASSWORD)
    code = world.cohort_b.invite_code
    loose = f"  {code.lower().replace('-', ' ')} "
    joined = cohorts.join_with_code(newbie.viewer, loose)
    assert joined.id == world.cohort_b.id and joined.invite_code is None
    assert cohorts.join_with_code(newbie.viewer, code).id == world.cohort_b.id  # twice is harmless
    assert newbie.id in {t.id for t in records.list_trainees(world.sup_b.viewer)}
    assert newbie.id not in {t.id for t in records.list_trainees(world.sup_a.viewer)}
    assert normalise_invite_code(" k7qm-4xpa ") == "K7QM4XPA"


def test_unknown_or_stale_invite_codes_get_a_clear_message_and_change_nothing(
    store: Store, cohorts: CohortService, accounts: AccountService, world: World
) -> None:
    newbie = accounts.create_user(world.admin.viewer, "newbie", "New Bie", password=PASSWORD)
    old = world.cohort_a.invite_code
    cohorts.regenerate_invite_code(world.admin.viewer, world.cohort_a.id)
    before = _counts(store)
    for code in ("ZZZZ-ZZZZ", old, "", "not a code at all"):
        with pytest.raises(
            NotFound, match="There is no cohort with the invite code .* Check the code with your supervisor"
        ):
            cohorts.join_with_code(newbie.viewer, code)
    assert _counts(store) == before


def test_invite_codes_enrol_only_trainee_accounts_into_open_cohorts(
    cohorts: CohortService, practice: PracticeService, world: World
) -> None:
    guest = practice.create_guest("Drop-in")
    with pytest.raises(Forbidden, match="create an account or sign in"):
        cohorts.join_with_code(Viewer(guest.id), world.cohort_a.invite_code)
    with pytest.raises(Conflict, match="Invite codes enrol trainees"):
        cohorts.join_with_code(world.sup_b.viewer, world.cohort_a.invite_code)
    cohorts.update_cohort(world.admin.viewer, world.cohort_a.id, archived=True)
    with pytest.raises(Conflict, match="MFT 2026 is archived and no longer takes new members"):
        cohorts.join_with_code(world.t3.viewer, world.cohort_a.invite_code)
    with pytest.raises(Conflict, match="MFT 2026 is archived"):
        cohorts.import_roster(world.admin.viewer, world.cohort_a.id, GOOD_ROSTER)


def test_registering_with_an_invite_code_creates_a_trainee_who_can_sign_in(
    cohorts: CohortService, signin: SignInService, records: RecordsService, world: World
) -> None:
    account = cohorts.register_with_invite(world.cohort_a.invite_code, "Newbie", "New Bie", PASSWORD)
    assert (account.username, account.role) == ("newbie", "trainee")
    assert signin.authenticate("newbie", PASSWORD).account.id == account.id
    assert signin.resolve(signin.open_session(account.id).token).id == account.id  # signed in right away
    assert account.id in {t.id for t in records.list_trainees(world.sup_a.viewer)}
    with pytest.raises(NotFound, match="no cohort with the invite code"):
        cohorts.register_with_invite("WRONG-CODE", "other", "Other", PASSWORD)
    with pytest.raises(Conflict, match="already taken"):
        cohorts.register_with_invite(world.cohort_a.invite_code, "NEWBIE", "Again", PASSWORD)


# -- roster uploads -------------------------------------------------------------------------

GOOD_ROSTER = """username,display_name,email,role
amy,Amy Adams,amy@example.org,
Ben,Ben Brown,ben@example.org,trainee

theo,Theo Two,theo@example.org,
"""


def test_a_roster_creates_passwordless_accounts_and_enrols_existing_trainees(
    store: Store, cohorts: CohortService, signin: SignInService, world: World
) -> None:
    result = cohorts.import_roster(world.sup_a.viewer, world.cohort_a.id, GOOD_ROSTER.encode("utf-8-sig"))
    assert result.created == ("amy", "ben") and result.enrolled == () and result.unchanged == ("theo",)
    roster = {m.username: m for m in cohorts.roster(world.sup_a.viewer, world.cohort_a.id)}
    assert {"amy", "ben", "theo", "tara", "sup.a"} == set(roster)
    assert roster["amy"].role == "trainee" and not roster["amy"].can_sign_in
    with pytest.raises(UserFacingError):
        signin.authenticate("amy", "")  # no password until one is set (or single sign-on links it)
    again = cohorts.import_roster(world.sup_a.viewer, world.cohort_a.id, GOOD_ROSTER)
    assert again.created == () and set(again.unchanged) == {"amy", "ben", "theo"}
    # an admin can move existing trainees into another cohort with a roster
    moved = cohorts.import_roster(
        world.admin.viewer, world.cohort_b.id, "username;display_name;email\namy;Amy;a@b.org\n"
    )
    assert moved.enrolled == ("amy",)


BAD_ROSTER = "\n".join(
    [
        "Username,Display Name,Email,Role",  # row 1: header, any case, spaces allowed
        "good.one,Good One,good@example.org,trainee",  # row 2: fine
        ",No Username,nouser@example.org,",  # row 3: missing username
        "no.name,,noname@example.org,",  # row 4: missing display name
        f"{'u' * 65},Too Long,long@example.org,",  # row 5: over-long username
        f"long.name,{'N' * 101},ln@example.org,",  # row 6: over-long display name
        "bad name,Bad Name,bad@example.org,",  # row 7: bad characters
        "bad.email,Bad Email,not-an-email,",  # row 8: bad email
        "GOOD.ONE,Good Twice,twice@example.org,",  # row 9: duplicate of row 2, ignoring case
        "bad.role,Bad Role,role@example.org,owner",  # row 10: bad role
        "sup.b,Sue,sue@example.org,trainee",  # row 11: exists as a supervisor
        "tom,Tom Three,tom@example.org,",  # row 12: a cohort-B trainee (outside supervisor A's cohorts)
        "new.sup,New Supervisor,ns@example.org,supervisor",  # row 13: supervisors are added by admins
        "a,b,c@d.org,trainee,extra",  # row 14: too many values
    ]
)


def test_a_roster_with_any_bad_row_imports_nothing_and_names_every_bad_row(
    store: Store, cohorts: CohortService, world: World
) -> None:
    before = _counts(store)
    with pytest.raises(RosterRejected) as rejected:
        cohorts.import_roster(world.sup_a.viewer, world.cohort_a.id, BAD_ROSTER)
    problems = {p.row: p.message for p in rejected.value.problems}
    # the file's own problems are all reported together first
    assert set(problems) == {3, 4, 5, 6, 7, 8, 9, 10, 14}
    assert problems[3] == "Missing username."
    assert problems[4] == "Missing display_name."
    assert "Usernames can be at most 64 characters" in problems[5]
    assert "Display names can be at most 100 characters" in problems[6]
    assert "'bad name' has ' '" in problems[7]
    assert "'not-an-email' is not a valid email address" in problems[8]
    assert problems[9] == "The username 'good.one' is already used in row 2."
    assert problems[10] == "The role 'owner' is not trainee or supervisor."
    assert "has 5 values but the header has 4 columns" in problems[14]
    assert str(rejected.value).startswith("Nothing was imported: 9 rows have problems.")
    assert "Row 7: " in str(rejected.value)
    assert _counts(store) == before

    # with the file's own problems fixed, the checks against existing accounts speak up
    lines = BAD_ROSTER.splitlines()
    fixed = "\n".join([lines[0], lines[1], *lines[10:13]])
    with pytest.raises(RosterRejected) as rejected:
        cohorts.import_roster(world.sup_a.viewer, world.cohort_a.id, fixed)
    messages = [str(p) for p in rejected.value.problems]
    assert messages == [
        "Row 3: 'sup.b' already has an account as supervisor; this row says trainee.",
        "Row 4: 'tom' is an existing account outside your cohorts; they can join with the invite code, "
        "or an administrator can add them.",
        "Row 5: Only an administrator can add supervisors; leave the role empty or 'trainee', "
        "or ask an administrator.",
    ]
    assert _counts(store) == before  # good.one (row 2) was not imported either


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty"),
        ("username,display_name\nann,Ann\n", "lacks the column email"),
        ("username,display_name,email,phone\n", "Unknown column: 'phone'"),
        ("username,display_name,email,email\n", "email appears twice"),
        ("username,display_name,email\n\n\n", "header but no people"),
        (b"username,display_name,email\nz\xe9,Z,z@e.org\n", "not UTF-8"),
    ],
)
def test_a_roster_file_that_cannot_be_read_is_refused_as_a_whole(content: str | bytes, message: str) -> None:
    rows, problems = parse_roster(content)
    assert rows == [] and len(problems) >= 1
    assert problems[0].row is None and message in problems[0].message


# -- leaving and removing ------------------------------------------------------------------


def test_a_supervisor_cannot_remove_themselves_from_their_last_cohort(
    store: Store, cohorts: CohortService, world: World
) -> None:
    before = _counts(store)
    with pytest.raises(Conflict, match="You cannot leave MFT 2026: it is the last cohort you supervise"):
        cohorts.remove_member(world.sup_a.viewer, world.cohort_a.id, world.sup_a.id)
    assert _counts(store) == before
    # with another (open) cohort to supervise, leaving is fine
    cohorts.assign_supervisor(world.admin.viewer, world.cohort_b.id, world.sup_a.id)
    cohorts.remove_member(world.sup_a.viewer, world.cohort_a.id, world.sup_a.id)
    assert [c.name for c in cohorts.list_cohorts(world.sup_a.viewer)] == ["MFT 2027"]


def test_an_archived_cohort_does_not_count_as_somewhere_else_to_supervise(
    cohorts: CohortService, world: World
) -> None:
    cohorts.assign_supervisor(world.admin.viewer, world.cohort_b.id, world.sup_a.id)
    cohorts.update_cohort(world.admin.viewer, world.cohort_b.id, archived=True)
    with pytest.raises(Conflict, match="last cohort you supervise"):
        cohorts.remove_member(world.sup_a.viewer, world.cohort_a.id, world.sup_a.id)


def test_only_an_admin_removes_another_supervisor_and_removal_ends_their_sight_at_once(
    cohorts: CohortService, records: RecordsService, world: World
) -> None:
    cohorts.assign_supervisor(world.admin.viewer, world.cohort_a.id, world.sup_b.id)
    with pytest.raises(Forbidden, match="Only an administrator can remove another supervisor"):
        cohorts.remove_member(world.sup_a.viewer, world.cohort_a.id, world.sup_b.id)
    assert world.t2.id in {t.id for t in records.list_trainees(world.sup_b.viewer)}
    cohorts.remove_member(world.admin.viewer, world.cohort_a.id, world.sup_b.id)
    with pytest.raises(NotFound):
        records.attempts_of(world.sup_b.viewer, world.t2.id)


def test_removing_a_trainee_from_a_cohort_ends_the_supervisors_sight_of_them(
    cohorts: CohortService, records: RecordsService, world: World
) -> None:
    cohorts.remove_member(world.sup_a.viewer, world.cohort_a.id, world.t2.id)
    assert [t.id for t in records.list_trainees(world.sup_a.viewer)] == [world.t1.id]
    with pytest.raises(NotFound, match="no trainee with that id among the records you can see"):
        records.attempts_of(world.sup_a.viewer, world.t2.id)
    with pytest.raises(NotFound, match="not a member of MFT 2026"):
        cohorts.remove_member(world.sup_a.viewer, world.cohort_a.id, world.t2.id)


def test_supervisors_and_trainees_are_kept_in_their_roles(
    cohorts: CohortService, accounts: AccountService, world: World
) -> None:
    with pytest.raises(Conflict, match="Tara One is a trainee account; make them a supervisor first"):
        cohorts.assign_supervisor(world.admin.viewer, world.cohort_b.id, world.t1.id)
    with pytest.raises(Conflict, match="is supervisor, not a trainee account"):
        cohorts.add_trainee(world.admin.viewer, world.cohort_b.id, world.sup_a.id)
    with pytest.raises(Conflict, match="Tara One is enrolled as a trainee in MFT 2026; remove them"):
        accounts.set_role(world.admin.viewer, world.t1.id, "supervisor")
    with pytest.raises(Conflict, match="Sam Supervisor-A supervises MFT 2026; remove them"):
        accounts.set_role(world.admin.viewer, world.sup_a.id, "trainee")
    # a supervisor may not pull a trainee of someone else's cohort into theirs
    with pytest.raises(Forbidden, match="Tom Three is not in a cohort you supervise"):
        cohorts.add_trainee(world.sup_a.viewer, world.cohort_a.id, world.t3.id)
