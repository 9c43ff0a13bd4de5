"""Storage: SQLAlchemy tables, engine setup for SQLite and PostgreSQL, migrations."""

from .store import Store

__all__ = ["Store"]
