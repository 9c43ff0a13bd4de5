"""Alembic migrations: upgrading never loses data, and head matches the models."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from repairlab.db import Store
from repairlab.db.migrate import HEAD_REVISION, alembic_config, current_revision, upgrade
from repairlab.db.tables import Base

FIRST_REVISION = "0001"
NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)

# Data written with plain SQL at the first revision, as an old install would hold it.
SEED = [
    (
        "INSERT INTO users (id, public_id, display_name, is_guest, role, created_at) "
        "VALUES (:id, :public_id, :display_name, :is_guest, :role, :created_at)",
        [
            {
                "id": 1,
                "public_id": "pub-ann",
                "display_name": "Ann",
                "is_guest": True,
                "role": "trainee",
                "created_at": NOW,
            },
            {
                "id": 2,
                "public_id": "pub-bo",
                "display_name": "Bo",
                "is_guest": False,
                "role": "supervisor",
                "created_at": NOW,
            },
        ],
    ),
    (
        "INSERT INTO scenario_versions (content_hash, scenario_id, title, snapshot, created_at) "
        "VALUES (:content_hash, :scenario_id, :title, :snapshot, :created_at)",
        [
            {
                "content_hash": "a" * 64,
                "scenario_id": "example-late-start",
                "title": "The late start",
                "snapshot": '{"format": 1}',
                "created_at": NOW,
            }
        ],
    ),
    (
        "INSERT INTO attempts (id, user_id, content_hash, scenario_id, mode, status, started_at, updated_at,"
        " completed_at, ending, score, zone, reflection, reflection_at) VALUES (:id, :user_id, :content_hash,"
        " :scenario_id, :mode, :status, :started_at, :updated_at, :completed_at, :ending, :score, :zone,"
        " :reflection, :reflection_at)",
        [
            {
                "id": "attempt-done",
                "user_id": 1,
                "content_hash": "a" * 64,
                "scenario_id": "example-late-start",
                "mode": "coached",
                "status": "completed",
                "started_at": NOW,
                "updated_at": NOW,
                "completed_at": NOW,
                "ending": "repaired",
                "score": 100.0,
                "zone": "balanced",
                "reflection": "Name it first.",
                "reflection_at": NOW,
            },
            {
                "id": "attempt-open",
                "user_id": 1,
                "content_hash": "a" * 64,
                "scenario_id": "example-late-start",
                "mode": "assessment",
                "status": "in_progress",
                "started_at": NOW,
                "updated_at": NOW,
                "completed_at": None,
                "ending": None,
                "score": None,
                "zone": None,
                "reflection": None,
                "reflection_at": None,
            },
        ],
    ),
    (
        "INSERT INTO attempt_steps (attempt_id, step_no, node_id, choice_id, score, best_score, zone, created_at)"
        " VALUES (:attempt_id, :step_no, :node_id, :choice_id, :score, :best_score, :zone, :created_at)",
        [
            {
                "attempt_id": "attempt-done",
                "step_no": 0,
                "node_id": "opening",
                "choice_id": "own-it",
                "score": 100.0,
                "best_score": 100.0,
                "zone": "balanced",
                "created_at": NOW,
            },
            {
                "attempt_id": "attempt-done",
                "step_no": 1,
                "node_id": "opens-up",
                "choice_id": None,
                "score": None,
                "best_score": None,
                "zone": None,
                "created_at": NOW,
            },
            {
                "attempt_id": "attempt-open",
                "step_no": 0,
                "node_id": "opening",
                "choice_id": "grovel",
                "score": 41.7,
                "best_score": 100.0,
                "zone": "over-apology",
                "created_at": NOW,
            },
        ],
    ),
    (
        "INSERT INTO step_scores (attempt_id, step_no, dimension, value) "
        "VALUES (:attempt_id, :step_no, :dimension, :value)",
        [
            {"attempt_id": attempt, "step_no": 0, "dimension": dimension, "value": value}
            for attempt, values in (("attempt-done", (4, 0, 4)), ("attempt-open", (3, 4, 1)))
            for dimension, value in zip(("accountability", "self_focus", "exploration"), values, strict=True)
        ],
    ),
]


def snapshot_tables(store: Store, columns: dict[str, list[str]] | None = None) -> dict[str, list[tuple]]:
    """Every row of every application table (only the given columns, when given)."""
    with store.write_engine.connect() as connection:
        inspector = inspect(connection)
        if columns is None:
            columns = {
                table: [c["name"] for c in inspector.get_columns(table)]
                for table in inspector.get_table_names()
                if table != "alembic_version"
            }
        rows = {}
        for table, names in columns.items():
            key = inspector.get_pk_constraint(table)["constrained_columns"] or names
            selected = ", ".join(names)
            ordered = ", ".join(key)
            rows[table] = [
                tuple(r)
                for r in connection.execute(text(f"SELECT {selected} FROM {table} ORDER BY {ordered}"))
            ]
        connection.rollback()
    return rows | {"__columns__": columns}  # type: ignore[return-value]


def test_upgrading_a_first_revision_database_with_data_to_head_loses_nothing(database_url: str) -> None:
    store = Store(database_url)
    try:
        upgrade(store, FIRST_REVISION)
        with store.write() as session:
            for statement, rows in SEED:
                session.execute(text(statement), rows)
        before = snapshot_tables(store)
        columns = before.pop("__columns__")
        assert sum(len(rows) for rows in before.values()) == 2 + 1 + 2 + 3 + 6

        upgrade(store, "head")
        after = snapshot_tables(store, columns)
        after.pop("__columns__")
        assert after == before

        with store.read() as session:
            head = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert head == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    finally:
        store.dispose()


def test_the_migrations_form_one_line_starting_at_the_first_revision(database_url: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(database_url))
    assert len(scripts.get_heads()) == 1, "more than one head: merge the branches"
    assert scripts.get_bases() == [FIRST_REVISION]


def test_the_head_schema_matches_the_models_with_no_pending_autogenerate_diff(store: Store) -> None:
    with store.write_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "target_metadata": Base.metadata}
        )
        diff = compare_metadata(context, Base.metadata)
        connection.rollback()
    assert diff == [], f"models and migrations differ; add a migration for: {diff}"


def test_upgrading_an_up_to_date_database_again_changes_nothing(store: Store) -> None:
    before = snapshot_tables(store)
    store.upgrade()
    assert snapshot_tables(store) == before


def test_the_start_up_shortcut_knows_the_newest_migration_script(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert head == HEAD_REVISION, "a migration was added: set HEAD_REVISION in repairlab/db/migrate.py"


def test_a_database_already_at_the_newest_revision_starts_without_running_alembic(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("alembic ran on an up-to-date database")

    monkeypatch.setattr(command, "upgrade", refuse)
    store.upgrade()
    assert current_revision(store) == HEAD_REVISION


def test_a_database_behind_the_newest_revision_is_still_migrated_at_start_up(database_url: str) -> None:
    store = Store(database_url)
    try:
        upgrade(store, FIRST_REVISION)
        assert current_revision(store) == FIRST_REVISION
        store.upgrade()
        assert current_revision(store) == HEAD_REVISION
        assert "group_sessions" in inspect(store.read_engine).get_table_names()
    finally:
        store.dispose()
