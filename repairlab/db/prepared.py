"""Core statements run straight on the DBAPI cursor, for the few writes on a click's path.

SQLAlchemy's `Connection.execute()` builds a cache key, an execution context and a
result object on every call. For the small inserts and updates that record a
trainee's choice that is most of the cost: 20 µs a statement against SQLite's
own 6 µs in a tight loop, and 60-80 µs against 20-30 µs inside a click, whose
rest has pushed the code out of the CPU caches (measured, `bench/bench_app.py`).

A `Prepared` statement is compiled by SQLAlchemy, once per dialect, with
SQLAlchemy's own bind processors for its parameter types (so a datetime is
stored exactly as the ORM stores it), and runs on the cursor of a connection
whose transaction SQLAlchemy still begins, commits or rolls back. Errors come
out as SQLAlchemy's exceptions (an `IntegrityError` is still an
`IntegrityError`); a row count is all they return. Only statements without
results belong here, and every column an INSERT names must be given (Python-side
column defaults are not applied).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.expression import Executable


class _Compiled:
    def __init__(self, statement: Executable, connection: Connection) -> None:
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.dbapi_error = dialect.loaded_dbapi.Error
        self.names: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        self.processors: dict[str, Callable[[Any], Any]] = {}
        self.fixed: dict[str, Any] = {}  # values written into the statement, e.g. .values(status="completed")
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor
            if not bind.required:
                self.fixed[name] = bind.effective_value

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
        values = {**self.fixed, **values} if self.fixed else values
        if self.processors:
            values = {
                name: (self.processors[name](value) if name in self.processors else value)
                for name, value in values.items()
            }
        return values if self.names is None else tuple(values[name] for name in self.names)


class Prepared:
    """An INSERT, UPDATE or DELETE compiled once per dialect and run on the DBAPI cursor."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._by_dialect: dict[tuple[str, str, str], _Compiled] = {}

    def _compiled(self, connection: Connection) -> _Compiled:
        dialect = connection.dialect
        key = (dialect.name, dialect.driver, dialect.paramstyle)
        compiled = self._by_dialect.get(key)
        if compiled is None:
            compiled = self._by_dialect[key] = _Compiled(self.statement, connection)
        return compiled

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> int:
        """Run the statement with `values`; the number of rows it changed."""
        compiled = self._compiled(connection)
        return self._run(connection, compiled, [values], many=False)

    def executemany(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        compiled = self._compiled(connection)
        return self._run(connection, compiled, rows, many=True)

    @staticmethod
    def _run(connection: Connection, compiled: _Compiled, rows: Sequence[Mapping[str, Any]], many: bool) -> int:
        if not connection.in_transaction():
            # The cursor does not start SQLAlchemy's transaction: on its own, SQLite would
            # autocommit the statement and PostgreSQL would leave it in a transaction that
            # SQLAlchemy never commits.
            raise RuntimeError("Prepared statements run inside a transaction: use engine.begin().")
        try:
            parameters = [compiled.parameters(row) for row in rows]
        except (KeyError, TypeError, ValueError) as error:
            raise StatementError(f"Bad parameters for a prepared statement: {error!r}", compiled.sql, rows, error) from error
        cursor = connection.connection.cursor()
        try:
            if many:
                cursor.executemany(compiled.sql, parameters)
            else:
                cursor.execute(compiled.sql, parameters[0])
            return cursor.rowcount
        except compiled.dbapi_error as error:
            raise DBAPIError.instance(compiled.sql, parameters, error, compiled.dbapi_error) from error
        finally:
            cursor.close()
