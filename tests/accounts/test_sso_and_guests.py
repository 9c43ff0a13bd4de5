"""Single sign-on by the provider's `sub`, guest practice claimed by an account, and the guest policy."""

from __future__ import annotations

import pytest
from accounttools import PASSWORD, play_through
from sqlalchemy import func, select

from repairlab.db import Store
from repairlab.db.tables import Attempt, AttemptStep, StepScore, User
from repairlab.db.tables_groups import GroupParticipant, GroupSession
from repairlab.services.accounts import AccountService
from repairlab.services.cohorts import CohortService
from repairlab.services.errors import Forbidden, NotFound
from repairlab.services.guests import guest_practice_allowed
from repairlab.services.practice import PracticeService


def test_single_sign_on_finds_people_by_sub_never_by_email(store: Store, accounts: AccountService) -> None:
    first = accounts.sign_in_oidc("sub-123", "kim@uni.example", "Kim Lee", email_verified=True)
    assert (first.role, first.uses_sso, first.has_password, first.username) == ("trainee", True, False, None)
    # a changed email is the same person
    again = accounts.sign_in_oidc("sub-123", "kim.lee@uni.example", "Kim Lee")
    assert again.id == first.id and again.email == "kim.lee@uni.example"
    # a different sub with the old email is someone else, verified or not
    other = accounts.sign_in_oidc("sub-999", "kim@uni.example", "Not Kim", email_verified=True)
    assert other.id != first.id
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2


def test_an_account_made_by_roster_is_linked_to_sso_once_and_only_by_a_verified_email(
    accounts: AccountService, cohorts: CohortService
) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    cohort = cohorts.create_cohort(admin.viewer, "MFT 2026")
    cohorts.import_roster(
        admin.viewer, cohort.id, "username,display_name,email\nkim,Kim Lee,Kim@Uni.example\n"
    )
    provisioned = next(m for m in cohorts.roster(admin.viewer, cohort.id) if m.username == "kim")

    unverified = accounts.sign_in_oidc("sub-kim", "kim@uni.example", "Kim", email_verified=False)
    assert unverified.id != provisioned.user_id  # an unverified email links nothing
    linked = accounts.sign_in_oidc("sub-kim-2", "kim@uni.example", "Kim", email_verified=True)
    assert linked.id == provisioned.user_id and linked.uses_sso and linked.display_name == "Kim Lee"
    # once linked, the email helps no one else
    assert accounts.sign_in_oidc("sub-evil", "kim@uni.example", "Kim", email_verified=True).id != linked.id
    # administrators are never linked by email
    accounts.create_user(admin.viewer, "boss", "Boss", role="admin", email="boss@uni.example")
    assert (
        accounts.sign_in_oidc("sub-boss", "boss@uni.example", "Boss", email_verified=True).role == "trainee"
    )


def test_single_sign_on_refuses_a_disabled_account_and_a_missing_sub(accounts: AccountService) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    kim = accounts.sign_in_oidc("sub-kim", None, None)
    assert kim.display_name == "Trainee"
    accounts.set_disabled(admin.viewer, kim.id)
    with pytest.raises(Forbidden, match="disabled"):
        accounts.sign_in_oidc("sub-kim", None, None)
    with pytest.raises(Exception, match="did not give a usable user id"):
        accounts.sign_in_oidc("  ", "x@y.org", "X")


def test_claiming_guest_practice_moves_every_attempt_to_the_account_in_one_go(
    store: Store, accounts: AccountService, practice: PracticeService
) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    guest = practice.create_guest("Kim (guest)")
    done = play_through(practice, guest.id, "Name the lateness first.")
    started = practice.start(guest.id, "example-late-start", "assessment")
    account = accounts.create_user(admin.viewer, "kim", "Kim Lee", password=PASSWORD)
    with store.read() as session:
        steps_before = session.scalar(select(func.count()).select_from(AttemptStep))
        scores_before = session.scalar(select(func.count()).select_from(StepScore))

    assert accounts.claim_guest_attempts(guest.id, account.id) == 2
    assert {a.id for a in practice.history(account.id)} == {done.id, started.id}
    assert practice.load(done.id, account.id).reflection == "Name the lateness first."
    resumed = practice.choose(started.id, 0, started.play.offered_choices()[0].id, account.id)
    assert resumed.play.step == 1
    with store.read() as session:
        assert (
            session.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == guest.id)) == 0
        )
        assert session.scalar(select(func.count()).select_from(AttemptStep)) == steps_before + 1
        assert session.scalar(select(func.count()).select_from(StepScore)) > scores_before
    assert practice.user_by_public_id(guest.public_id) is None  # the old guest link opens nothing now
    with pytest.raises(NotFound, match="no guest practice to claim"):
        accounts.claim_guest_attempts(guest.id, account.id)


def test_a_guest_who_joined_or_hosted_group_sessions_can_still_be_claimed(
    store: Store, accounts: AccountService, practice: PracticeService
) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    guest = practice.create_guest("Kim (guest)")
    attempt = practice.start(guest.id, "example-late-start", "coached")
    with store.write() as session:
        for session_id, host in (("hosted-by-guest", guest.id), ("hosted-by-admin", admin.id)):
            session.add(
                GroupSession(
                    id=session_id,
                    code=session_id[:12],
                    content_hash=attempt.content_hash,
                    scenario_id=attempt.scenario_id,
                    mode="self",
                    host_user_id=host,
                )
            )
        session.flush()
        session.add(GroupParticipant(session_id="hosted-by-admin", user_id=guest.id))
    kim = accounts.create_user(admin.viewer, "kim", "Kim Lee")

    assert accounts.claim_guest_attempts(guest.id, kim.id) == 1
    with store.read() as session:
        assert session.scalar(select(GroupParticipant.user_id)) == kim.id
        retired = session.get(User, guest.id)  # still named by the session it hosted
        assert retired.deleted_at is not None and retired.public_id != guest.public_id
    assert practice.user_by_public_id(guest.public_id) is None
    assert [a.id for a in practice.history(kim.id)] == [attempt.id]


def test_guest_practice_cannot_be_claimed_by_another_guest_or_a_disabled_account(
    store: Store, accounts: AccountService, practice: PracticeService
) -> None:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    guest, other_guest = practice.create_guest("One"), practice.create_guest("Two")
    attempt = practice.start(guest.id, "example-late-start", "coached")
    with pytest.raises(Forbidden, match="active account"):
        accounts.claim_guest_attempts(guest.id, other_guest.id)
    kim = accounts.create_user(admin.viewer, "kim", "Kim Lee")
    accounts.set_disabled(admin.viewer, kim.id)
    with pytest.raises(Forbidden, match="active account"):
        accounts.claim_guest_attempts(guest.id, kim.id)
    with pytest.raises(NotFound):
        accounts.claim_guest_attempts(admin.id, kim.id)  # an account is not a guest
    assert practice.load(attempt.id, guest.id).user_id == guest.id  # nothing moved


def test_guests_get_a_pseudonym_for_shared_boards(store: Store, practice: PracticeService) -> None:
    names = {practice.create_guest(f"Guest {n}").id for n in range(5)}
    with store.read() as session:
        pseudonyms = session.scalars(select(User.pseudonym).where(User.id.in_(names))).all()
    assert len(set(pseudonyms)) == 5
    assert all(p.startswith("Trainee ") and len(p) == len("Trainee 4F7K") for p in pseudonyms)


@pytest.mark.parametrize(
    ("setting", "address", "allowed"),
    [
        (None, "localhost", True),
        (None, "127.0.0.1", True),
        (None, "127.0.1.1", True),
        (None, "::1", True),
        (None, "[::1]", True),
        (None, None, False),  # Streamlit's default: every interface
        (None, "", False),
        (None, "0.0.0.0", False),
        (None, "::", False),
        (None, "192.168.1.20", False),
        (None, "repairlab.example.org", False),
        (True, "0.0.0.0", True),  # the deployment says so explicitly
        (False, "localhost", False),
    ],
)
def test_guest_practice_is_on_by_default_only_when_the_server_listens_on_loopback(
    setting: bool | None, address: str | None, allowed: bool
) -> None:
    assert guest_practice_allowed(setting, address) is allowed
