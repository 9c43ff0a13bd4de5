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


def upgrade(store: Store, revision: str = "head") -> None:
    config = alembic_config(store.url)
    with store.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(store: Store, revision: str) -> None:
    config = alembic_config(store.url)
    with store.write_engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
