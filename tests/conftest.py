"""Fixtures shared by the whole test suite: databases, a tiny library, services.

Databases
    ``backend``       "sqlite" or "postgres": every fixture below that depends on
                      it makes the test run once per backend (test ids
                      ``[sqlite]`` and ``[postgres]``; the PostgreSQL case carries
                      the ``postgres`` marker, so ``-m "not postgres"`` runs
                      SQLite only).
    ``database_url``  an *empty* database (no tables yet) on that backend.
    ``store``         a :class:`repairlab.db.Store` on ``database_url`` (the same
                      database), upgraded to the newest migration with
                      ``store.upgrade()`` and disposed after the test.
    ``reopen``        ``reopen(store)`` opens a *new* Store on the same URL, as a
                      restarted server would (disposed after the test).
    ``sqlite_url``    a SQLite file in ``tmp_path`` (for SQLite-only tests).
    ``pg_url``        a fresh, empty PostgreSQL database for this test only,
                      named ``repairlab_test_<random>``, created through an
                      AUTOCOMMIT connection and dropped WITH (FORCE) after the
                      test (on a background thread; every drop has finished
                      when the session ends). It uses
                      ``REPAIRLAB_TEST_POSTGRES_URL`` (default
                      ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and
                      skips the test, saying why, when no server answers there
                      within about two seconds.

Content and services
    ``library_dir``   a scenario library folder in ``tmp_path``: the bundled
                      ``rubric.yaml`` and ``docs/format-example.yaml`` as
                      ``example-late-start.yaml`` (one decision, then narration
                      to an ending). Tests may add, edit or break files in it.
    ``catalog``       a :class:`Catalog` on ``store`` and ``library_dir``.
    ``practice``      a :class:`PracticeService` on ``store`` and ``catalog``.
    ``trainee``       a guest user (``UserRef``) created through ``practice``.

A test that asks for ``store`` (or anything built on it) runs once per
backend. To add a backend-independent fixture for a new area (accounts,
analytics, group sessions...), build it on ``store`` the way ``practice`` is.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from repairlab.db import Store
from repairlab.services.catalog import Catalog
from repairlab.services.practice import PracticeService, UserRef

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EXAMPLE_SCENARIO_ID = "example-late-start"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


# -- PostgreSQL -------------------------------------------------------------------


def postgres_server_url() -> URL:
    """The server tests use (its database is only used to create others)."""
    return make_url(os.environ.get("REPAIRLAB_TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _PostgresServer:
    """Creates test databases, and drops them on a background thread.

    Dropping a database can take a second or two on a busy machine (it waits
    for a checkpoint); doing it beside the next test instead of in each
    teardown keeps the PostgreSQL half of the suite from doubling in time.
    All drops have finished when the test session ends.
    """

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.failed_drops: list[str] = []
        self._drops: queue.Queue[str | None] = queue.Queue(maxsize=8)  # bounded: at most 8 left over
        self._dropper = threading.Thread(target=self._drop_all, name="drop-test-databases", daemon=True)
        self._dropper.start()

    def create(self) -> str:
        name = f"repairlab_test_{secrets.token_hex(6)}"
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {_quoted(name)}"))
        return name

    def drop_later(self, name: str) -> None:
        self._drops.put(name)  # waits while the dropper is 8 databases behind

    def _drop_all(self) -> None:
        while (name := self._drops.get()) is not None:
            try:
                with self.admin.connect() as connection:
                    connection.execute(text(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)"))
            except Exception as error:  # noqa: BLE001 - reported at the end of the session
                self.failed_drops.append(f"{name}: {error}")

    def close(self) -> None:
        self._drops.put(None)
        self._dropper.join()
        self.admin.dispose()
        if self.failed_drops:
            warnings.warn("test databases left behind: " + "; ".join(self.failed_drops), stacklevel=1)


@pytest.fixture(scope="session")
def _postgres_server() -> Iterator[_PostgresServer]:
    """The test server, or a skip (cached for the session) when none answers."""
    url = postgres_server_url()
    shown = url.render_as_string(hide_password=True)
    admin = create_engine(
        url, isolation_level="AUTOCOMMIT", poolclass=NullPool, connect_args={"connect_timeout": 2}
    )
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure to connect means "no server"
        admin.dispose()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        pytest.skip(f"no PostgreSQL server reachable at {shown}: {reason}")
    server = _PostgresServer(admin)
    yield server
    server.close()


@pytest.fixture
def pg_url(_postgres_server: _PostgresServer) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped (WITH FORCE) afterwards."""
    name = _postgres_server.create()
    try:
        yield postgres_server_url().set(database=name).render_as_string(hide_password=False)
    finally:
        _postgres_server.drop_later(name)


# -- databases of either backend -------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'repairlab.db'}"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name of this test run: "sqlite" or "postgres"."""
    return request.param


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """An empty database on the backend of this test run (no tables yet)."""
    return request.getfixturevalue("pg_url" if backend == "postgres" else "sqlite_url")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A Store upgraded to the newest migration, disposed after the test."""
    opened = Store(database_url)
    try:
        opened.upgrade()
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def reopen() -> Iterator[Callable[[Store], Store]]:
    """``reopen(store)``: a new Store on the same database, like a restarted server."""
    opened: list[Store] = []

    def _reopen(existing: Store) -> Store:
        fresh = Store(existing.url)
        opened.append(fresh)
        return fresh

    yield _reopen
    for fresh in opened:
        fresh.dispose()


# -- content and services ------------------------------------------------------------


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    """A tiny scenario library: the bundled rubric plus the format example."""
    folder = tmp_path / "library"
    folder.mkdir()
    shutil.copyfile(PROJECT_ROOT / "scenarios" / "rubric.yaml", folder / "rubric.yaml")
    shutil.copyfile(PROJECT_ROOT / "docs" / "format-example.yaml", folder / f"{EXAMPLE_SCENARIO_ID}.yaml")
    return folder


@pytest.fixture
def catalog(store: Store, library_dir: Path) -> Catalog:
    return Catalog(store, library_dir)


@pytest.fixture
def practice(store: Store, catalog: Catalog) -> PracticeService:
    return PracticeService(store, catalog)


@pytest.fixture
def trainee(practice: PracticeService) -> UserRef:
    return practice.create_guest("Test Trainee")


@pytest.fixture(scope="session")
def browser():
    """The test session's one headless Chromium (Playwright's sync API allows one per process)."""
    from pathlib import Path

    from tests.chromium import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM}; run scripts/install --browser")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # a loaded CI machine renders slowly; waits end on state, not time
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()
