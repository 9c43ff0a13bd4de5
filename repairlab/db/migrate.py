"""Running the Alembic migrations from code (app start-up, tests, the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

if TYPE_CHECKING:
    from .store import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Any fixed number: replicas starting together take turns to migrate.
MIGRATION_LOCK = 72_657_469


def upgrade(store: Store, revision: str = "head") -> None:
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
    config = alembic_config(store.url)
    with store.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
