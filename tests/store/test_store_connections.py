"""Connections are set up for durable commits, and writers queue instead of failing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from repairlab.db import Store
from repairlab.db.store import BUSY_TIMEOUT_MS, FairLock
from repairlab.db.tables import User

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_every_connection_is_configured_for_durable_commits(store: Store) -> None:
    if not store.is_sqlite:
        with store.write() as session:
            assert session.execute(text("SHOW synchronous_commit")).scalar() == "on"
        return
    for open_session in (store.write, store.read):
        with open_session() as session:
            pragma = {
                name: session.execute(text(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            }
        assert pragma["journal_mode"] == "wal"
        assert pragma["synchronous"] == 2  # FULL
        assert pragma["busy_timeout"] >= 10_000
        assert pragma["foreign_keys"] == 1
    assert BUSY_TIMEOUT_MS >= 10_000


def test_sqlite_write_transactions_take_the_write_lock_when_they_begin(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    try:
        store.upgrade()
        other = sqlite3.connect(make_url(sqlite_url).database, timeout=0, isolation_level=None)
        try:
            with store.write() as session:
                session.execute(text("SELECT 1"))  # no write yet: BEGIN IMMEDIATE already holds the lock
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            other.execute("BEGIN IMMEDIATE")  # released on commit
            other.execute("ROLLBACK")
            with store.read() as session:  # reads stay deferred: they never block a writer
                session.execute(text("SELECT 1"))
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
        finally:
            other.close()
    finally:
        store.dispose()


def test_two_concurrent_read_then_write_transactions_both_commit(store: Store) -> None:
    """With deferred BEGIN, SQLite fails one of these at once with "database is locked"."""
    barrier = threading.Barrier(2)
    seen: list[int] = []
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            barrier.wait()
            with store.write() as session:
                seen.append(session.scalar(select(func.count()).select_from(User)))
                time.sleep(0.2)  # the other writer starts meanwhile
                session.add(User(public_id=name, display_name=name))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(f"writer-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2
    if store.is_sqlite:
        assert sorted(seen) == [0, 1]  # serialised: the second writer saw the first one's row


CHILD_WRITER = """
import sys, time
from sqlalchemy import text
from repairlab.db import Store
from repairlab.db.tables import User
store = Store(sys.argv[1])
with store.write() as session:
    session.execute(text("SELECT COUNT(*) FROM users")).scalar()
    print("in transaction", flush=True)
    time.sleep(0.5)
    session.add(User(public_id="child", display_name="child"))
print("committed", flush=True)
"""


def test_writers_in_two_processes_queue_instead_of_failing(store: Store) -> None:
    """Another process (a second app server) holds a write transaction; ours waits for it."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD_WRITER, store.url],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "in transaction"
        began = time.perf_counter()
        with store.write() as session:
            seen = session.scalar(select(func.count()).select_from(User))
            session.add(User(public_id="parent", display_name="parent"))
        waited = time.perf_counter() - began
        assert child.stdout.readline().strip() == "committed"
        assert child.wait(timeout=30) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with store.read() as session:
        assert set(session.scalars(select(User.public_id))) == {"child", "parent"}
    if store.is_sqlite:  # BEGIN IMMEDIATE waited for the other process's commit, then saw its row
        assert seen == 1
        assert waited > 0.2


def test_sqlite_writers_of_one_process_are_served_first_come_first_served() -> None:
    lock = FairLock()
    assert lock.acquire()
    order: list[int] = []
    threads = []
    for n in range(8):
        thread = threading.Thread(target=lambda n=n: (lock.acquire(), order.append(n), lock.release()))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while len(lock._waiters) < n + 1 and time.monotonic() < deadline:  # queued in this order
            time.sleep(0.001)
    assert lock.acquire(timeout=0.05) is False  # a timed-out waiter leaves the queue
    lock.release()
    for thread in threads:
        thread.join(timeout=5)
    assert order == list(range(8))
    assert lock.acquire(timeout=0) is True
    lock.release()
