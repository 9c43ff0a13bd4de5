"""Database connections tuned for durability, on SQLite or PostgreSQL.

The embedded default is a SQLite file in WAL mode with `synchronous=FULL`, a
15 s busy timeout and foreign keys on. Writes run in `BEGIN IMMEDIATE`
transactions so that two writers queue on the lock up front instead of
failing half-way with "database is locked"; reads use a separate engine with
ordinary deferred transactions, which WAL lets run beside a writer.
On PostgreSQL both roles share one pooled engine.

SQLite has one writer at a time, and its busy handler is not a queue: a
waiting connection sleeps and polls (up to 100 ms between tries), so under
load a writer can lose the race over and over until its busy timeout runs out
(measured: 32 threads, worst wait 16 s, "database is locked"). Writers of one
process therefore queue first-come first-served on an in-process lock per
database file before `BEGIN IMMEDIATE`; the busy timeout still arbitrates
between processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as StoreTimeoutError
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 15_000


class FairLock:
    """A first-come first-served lock: each release hands over to the longest waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._locked = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float = -1) -> bool:
        with self._mutex:
            if not self._locked:
                self._locked = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._mutex:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                return True  # handed over just as the wait timed out
            return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays locked, now held by the next waiter
            else:
                self._locked = False


_WRITE_LOCKS: dict[str, FairLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock_for(database: str) -> FairLock:
    """One writers' queue per SQLite file, shared by every Store of this process."""
    key = database if database in ("", ":memory:") else str(Path(database).resolve())
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, FairLock())


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=8,
        max_overflow=32,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        # On the DBAPI connection: SQLAlchemy's execute() would cost more than the BEGIN itself,
        # and this runs for every transaction (see repairlab/db/prepared.py).
        try:
            connection.connection.driver_connection.execute(begin)
        except sqlite3.Error as error:
            raise DBAPIError.instance(begin, (), error, sqlite3.Error) from error

    return engine


class Store:
    """The database of one deployment: a writer and a reader session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._write_lock: FairLock | None = None
        if self.is_sqlite:
            self.write_engine = _sqlite_engine(url, immediate=True)
            self.read_engine = _sqlite_engine(url, immediate=False)
            self._write_lock = _write_lock_for(make_url(url).database or "")
        else:
            self.write_engine = create_engine(url, pool_size=10, max_overflow=40, pool_pre_ping=True)
            self.read_engine = self.write_engine
        self._writer = sessionmaker(self.write_engine, expire_on_commit=False)
        self._reader = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error.

        Do not nest: a write inside a write waits for itself until the busy timeout.
        """
        with self._writers_turn(), self._writer() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """Like `write()`, without the ORM: for hot paths that issue a few Core statements."""
        with self._writers_turn(), self.write_engine.begin() as connection:
            yield connection

    @contextmanager
    def _writers_turn(self) -> Iterator[None]:
        """On SQLite, wait in this process's first-come first-served queue of writers."""
        lock = self._write_lock
        if lock is None:
            yield
            return
        if not lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise StoreTimeoutError(
                f"Gave up waiting {BUSY_TIMEOUT_MS / 1000:g} s for the database write lock."
            )
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from .migrate import upgrade

        upgrade(self)

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
