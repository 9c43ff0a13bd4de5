"""Fixtures for group sessions: the service on either backend, people with roles, a cohort.

``groups`` is a :class:`GroupService` on the parametrised ``store`` (so every
test using it runs on SQLite and on PostgreSQL), with guests allowed.
``people`` makes users with a role straight in the database (no passwords:
signing in is not what these tests are about). The library holds the format
example (one decision, narration, an ending) and the bundled Lisa scenario
(several decisions), so both short and branching sessions can be played.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from repairlab.db import Store
from repairlab.db.tables import Cohort, CohortMember, User
from repairlab.services.access import Viewer
from repairlab.services.catalog import Catalog
from repairlab.services.groups import GroupService
from repairlab.services.practice import PracticeService, new_token

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = "example-late-start"
LISA = "lisa-interrupted"


@pytest.fixture
def library_dir(library_dir: Path) -> Path:
    shutil.copyfile(ROOT / "scenarios" / f"{LISA}.yaml", library_dir / f"{LISA}.yaml")
    return library_dir


@pytest.fixture
def groups(store: Store, catalog: Catalog, practice: PracticeService) -> GroupService:
    return GroupService(store, catalog, practice, guests_allowed=True)


def make_user(store: Store, name: str, role: str = "trainee", guest: bool = False) -> Viewer:
    with store.write() as session:
        user = User(
            public_id=new_token(),
            display_name=name,
            is_guest=guest,
            role=role,
            username=None if guest else f"{name.lower().replace(' ', '.')}.{new_token()[:6].lower()}",
        )
        session.add(user)
        session.flush()
        return Viewer(user.id, role)


@pytest.fixture
def people(store: Store) -> Callable[..., Viewer]:
    def make(name: str, role: str = "trainee", guest: bool = False) -> Viewer:
        return make_user(store, name, role, guest)

    return make


@pytest.fixture
def supervisor(people) -> Viewer:
    return people("Dr Sup", "supervisor")


@pytest.fixture
def admin(people) -> Viewer:
    return people("Ada Admin", "admin")


def make_cohort(store: Store, name: str, supervisors: list[Viewer], trainees: list[Viewer]) -> int:
    with store.write() as session:
        cohort = Cohort(name=name)
        session.add(cohort)
        session.flush()
        for viewer in supervisors:
            session.add(CohortMember(cohort_id=cohort.id, user_id=viewer.user_id, role="supervisor"))
        for viewer in trainees:
            session.add(CohortMember(cohort_id=cohort.id, user_id=viewer.user_id, role="trainee"))
        return cohort.id
