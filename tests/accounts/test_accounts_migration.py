"""Migration 0002 on a database that already holds practice data: nothing lost, guests get pseudonyms."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData, Table, inspect, select

from repairlab.db import Store
from repairlab.db.migrate import downgrade, upgrade
from repairlab.db.tables import User
from repairlab.services.access import Viewer
from repairlab.services.accounts import AccountService
from repairlab.services.records import RecordsService

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
OLD_TABLES = ("users", "scenario_versions", "attempts", "attempt_steps", "step_scores")


def _fill_at_0001(store: Store) -> None:
    """Rows as the practice release wrote them, through that schema's own tables."""
    with store.write_engine.begin() as connection:
        meta = MetaData()
        meta.reflect(connection, only=OLD_TABLES)
        t = meta.tables
        if True:  # one transaction for all the rows
            connection.execute(
                t["users"].insert(),
                [
                    {
                        "public_id": f"guest-{n}",
                        "display_name": f"Guest {n}",
                        "is_guest": True,
                        "role": "trainee",
                        "created_at": T0,
                    }
                    for n in range(1, 31)
                ],
            )
            ids = connection.execute(select(t["users"].c.id).order_by(t["users"].c.id)).scalars().all()
            assert ids == list(range(1, 31))  # a fresh database numbers them from 1
            connection.execute(
                t["scenario_versions"].insert(),
                [
                    {
                        "content_hash": "h1",
                        "scenario_id": "late",
                        "title": "The late start",
                        "snapshot": "{}",
                        "created_at": T0,
                    }
                ],
            )
            connection.execute(
                t["attempts"].insert(),
                [
                    {
                        "id": f"a{n}",
                        "user_id": n,
                        "content_hash": "h1",
                        "scenario_id": "late",
                        "mode": "coached",
                        "status": "completed",
                        "started_at": T0,
                        "updated_at": T0,
                        "completed_at": T0,
                        "ending": "repaired",
                        "score": 3.5,
                        "zone": "balanced repair",
                        "reflection": f"Reflection {n}",
                        "reflection_at": T0,
                    }
                    for n in range(1, 31)
                ],
            )
            connection.execute(
                t["attempt_steps"].insert(),
                [
                    {
                        "attempt_id": f"a{n}",
                        "step_no": s,
                        "node_id": f"n{s}",
                        "choice_id": "own-it",
                        "score": 3.5,
                        "best_score": 4.0,
                        "zone": "balanced repair",
                        "created_at": T0,
                    }
                    for n in range(1, 31)
                    for s in range(3)
                ],
            )
            connection.execute(
                t["step_scores"].insert(),
                [
                    {"attempt_id": f"a{n}", "step_no": s, "dimension": d, "value": 2}
                    for n in range(1, 31)
                    for s in range(3)
                    for d in ("accountability", "self_focus", "exploration")
                ],
            )


def _snapshot(store: Store) -> dict[str, list[tuple]]:
    """Every row of the 0001 tables, in the 0001 columns only."""
    with store.write_engine.connect() as connection:
        old = MetaData()
        result = {}
        for name in OLD_TABLES:
            table = Table(name, old, autoload_with=connection)
            columns = [c for c in table.columns if c.name in _COLUMNS_0001[name]]
            rows = connection.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            result[name] = [tuple(row) for row in rows]
        return result


_COLUMNS_0001 = {
    "users": {"id", "public_id", "display_name", "is_guest", "role", "created_at"},
    "scenario_versions": {"content_hash", "scenario_id", "title", "snapshot", "created_at"},
    "attempts": {
        "id",
        "user_id",
        "content_hash",
        "scenario_id",
        "mode",
        "status",
        "started_at",
        "updated_at",
        "completed_at",
        "ending",
        "score",
        "zone",
        "reflection",
        "reflection_at",
    },
    "attempt_steps": {
        "attempt_id",
        "step_no",
        "node_id",
        "choice_id",
        "score",
        "best_score",
        "zone",
        "created_at",
    },
    "step_scores": {"attempt_id", "step_no", "dimension", "value"},
}


def test_upgrading_a_practice_database_to_accounts_loses_nothing_and_gives_guests_pseudonyms(
    database_url: str,
) -> None:
    store = Store(database_url)
    try:
        upgrade(store, "0001")
        _fill_at_0001(store)
        before = _snapshot(store)
        assert len(before["step_scores"]) == 270

        upgrade(store)  # to head

        assert _snapshot(store) == before
        with store.read() as session:
            users = session.execute(
                select(User.pseudonym, User.disabled, User.username, User.deleted_at)
            ).all()
        pseudonyms = [row.pseudonym for row in users]
        assert len(set(pseudonyms)) == 30 and all(p.startswith("Trainee ") for p in pseudonyms)
        assert {(row.disabled, row.username, row.deleted_at) for row in users} == {(False, None, None)}
        tables = set(inspect(store.write_engine).get_table_names())
        assert {"cohorts", "cohort_members", "auth_sessions", "login_failures", "audit_log"} <= tables

        # the services work on the migrated data: a guest's practice becomes an account's
        accounts = AccountService(store)
        admin = accounts.setup_first_admin("admin", "Ada Admin", "a long enough passphrase")
        kim = accounts.create_user(admin.viewer, "kim", "Kim Lee")
        assert accounts.claim_guest_attempts(1, kim.id) == 1
        [record] = RecordsService(store).attempts_of(Viewer(kim.id), kim.id)
        assert (record.id, record.score, record.has_reflection) == ("a1", 3.5, True)
    finally:
        store.dispose()


def test_migration_0002_can_be_undone_and_redone_without_touching_practice_data(database_url: str) -> None:
    store = Store(database_url)
    try:
        upgrade(store, "0001")
        _fill_at_0001(store)
        before = _snapshot(store)
        upgrade(store)
        downgrade(store, "0001")
        assert _snapshot(store) == before
        assert "cohorts" not in inspect(store.write_engine).get_table_names()
        upgrade(store)
        assert _snapshot(store) == before
    finally:
        store.dispose()
