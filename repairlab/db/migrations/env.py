"""Alembic environment: runs migrations on the connection the caller provides."""

from alembic import context
from sqlalchemy import create_engine

from repairlab.db import tables_groups  # noqa: F401 - group sessions (0004)
from repairlab.db.tables import Base
from repairlab.db.tables_analytics import AttemptSummary  # noqa: F401 - analytics summaries (0005)
from repairlab.db.tables_authoring import PublishedScenario  # noqa: F401 - published_scenarios (0003)

config = context.config
target_metadata = Base.metadata


def run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as fresh:
        run(fresh)
