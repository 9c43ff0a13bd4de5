"""Storage: SQLAlchemy tables, engine setup for SQLite and PostgreSQL, migrations."""

from . import tables_groups  # noqa: F401 - registers the group session tables (0004)
from .store import Store
from .tables_analytics import AttemptSummary  # noqa: F401 - registers the analytics summaries (0005)
from .tables_authoring import PublishedScenario  # noqa: F401 - registers published_scenarios (0003)

__all__ = ["Store"]
