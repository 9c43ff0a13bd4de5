"""Running the Alembic migrations from code (app start-up, tests, the CLI).

Every app process calls `upgrade()` when it starts. A database already at the
newest revision is recognised with one query, without importing Alembic (a
tenth of a second of a cold start); `HEAD_REVISION` is checked against the
migration scripts by a test, so a new migration cannot be forgotten here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

    from .store import Store

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0005"  # the newest script in migrations/versions


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Any fixed number: replicas starting together take turns to migrate.
MIGRATION_LOCK = 72_657_469


def current_revision(store: Store) -> str | None:
    """The database's Alembic revision, or None when it has none yet."""
    try:
        with store.read_engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:  # no alembic_version table: a new database
        return None


def upgrade(store: Store, revision: str = "head") -> None:
    if revision in ("head", HEAD_REVISION) and current_revision(store) == HEAD_REVISION:
        return
    from alembic import command

    config = alembic_config(store.url)
    if store.is_sqlite:  # BEGIN IMMEDIATE already serialises SQLite writers
        with store.write_engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    with store.write_engine.connect() as lock:
        lock.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        lock.commit()
        try:
            with store.write_engine.connect() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        finally:
            lock.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
            lock.commit()


def downgrade(store: Store, revision: str) -> None:
    from alembic import command

    config = alembic_config(store.url)
    with store.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
