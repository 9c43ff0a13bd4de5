"""Fixtures for the accounts tests, built on the shared ``store`` (so each runs on both backends).

``clock``     a settable clock (UTC) every service here reads instead of the wall clock.
``hasher``    Argon2 with tiny costs: the same algorithm and format, fast enough for tests.
``accounts``, ``signin``, ``cohorts``, ``records``, ``privacy``, ``audit_log``
              the services under test, sharing ``clock`` and ``hasher``.
``world``     a small program: an admin; cohort A with supervisor A and trainees
              T1 and T2; cohort B with supervisor B and trainee T3. Every person
              has one completed attempt with a reflection.
"""

from __future__ import annotations

import pytest
from accounttools import PASSWORD, Clock, World, play_through
from argon2 import PasswordHasher

from repairlab.db import Store
from repairlab.services.accounts import AccountService
from repairlab.services.audit import AuditService
from repairlab.services.cohorts import CohortService
from repairlab.services.practice import PracticeService
from repairlab.services.privacy import PrivacyService
from repairlab.services.records import RecordsService
from repairlab.services.signin import SignInService


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


@pytest.fixture
def accounts(store: Store, hasher: PasswordHasher, clock: Clock) -> AccountService:
    return AccountService(store, hasher=hasher, clock=clock)


@pytest.fixture
def signin(store: Store, hasher: PasswordHasher, clock: Clock) -> SignInService:
    return SignInService(store, hasher=hasher, clock=clock)


@pytest.fixture
def cohorts(store: Store, accounts: AccountService, clock: Clock) -> CohortService:
    return CohortService(store, accounts, clock=clock)


@pytest.fixture
def records(store: Store, practice: PracticeService, clock: Clock) -> RecordsService:
    return RecordsService(store, practice, clock=clock)


@pytest.fixture
def privacy(store: Store, clock: Clock) -> PrivacyService:
    return PrivacyService(store, clock=clock)


@pytest.fixture
def audit_log(store: Store, clock: Clock) -> AuditService:
    return AuditService(store, clock=clock)


@pytest.fixture
def world(accounts: AccountService, cohorts: CohortService, practice: PracticeService) -> World:
    admin = accounts.setup_first_admin("admin", "Ada Admin", PASSWORD)
    make = accounts.create_user
    sup_a = make(admin.viewer, "sup.a", "Sam Supervisor-A", role="supervisor")
    sup_b = make(admin.viewer, "sup.b", "Sue Supervisor-B", role="supervisor")
    t1 = make(admin.viewer, "tara", "Tara One", password=PASSWORD, email="tara@example.org")
    t2 = make(admin.viewer, "theo", "Theo Two")
    t3 = make(admin.viewer, "tom", "Tom Three")
    cohort_a = cohorts.create_cohort(admin.viewer, "MFT 2026", program="MFT", year=2026)
    cohort_b = cohorts.create_cohort(admin.viewer, "MFT 2027", program="MFT", year=2027)
    cohorts.assign_supervisor(admin.viewer, cohort_a.id, sup_a.id)
    cohorts.assign_supervisor(admin.viewer, cohort_b.id, sup_b.id)
    for trainee, cohort in ((t1, cohort_a), (t2, cohort_a), (t3, cohort_b)):
        cohorts.add_trainee(admin.viewer, cohort.id, trainee.id)
    people = {"admin": admin, "sup_a": sup_a, "sup_b": sup_b, "t1": t1, "t2": t2, "t3": t3}
    attempts = {
        key: play_through(practice, person.id, f"Reflection of {person.display_name}").id
        for key, person in people.items()
    }
    return World(admin, sup_a, sup_b, t1, t2, t3, cohort_a, cohort_b, attempts)
