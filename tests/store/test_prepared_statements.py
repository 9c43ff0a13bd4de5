"""Statements run on the DBAPI cursor store what SQLAlchemy would, and fail as SQLAlchemy does."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from repairlab.db import Store
from repairlab.db.prepared import Prepared
from repairlab.db.tables import Attempt, User
from repairlab.services.practice import PracticeService, UserRef

SCENARIO = "example-late-start"
ATTEMPTS = Attempt.__table__
TOUCH = Prepared(ATTEMPTS.update().where(ATTEMPTS.c.id == bindparam("attempt_id")).values(updated_at=bindparam("at")))
FINISH = Prepared(ATTEMPTS.update().where(ATTEMPTS.c.id == bindparam("attempt_id")).values(status="completed"))
NEW_USER = Prepared(User.__table__.insert())


def test_a_datetime_written_on_the_cursor_is_stored_exactly_as_the_orm_stores_it(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    moment = datetime(2026, 11, 22, 5, 30, 0, tzinfo=UTC)  # whole seconds: the format must not drop them
    by_orm = practice.start(trainee.id, SCENARIO, "coached")
    by_cursor = practice.start(trainee.id, SCENARIO, "coached")
    with store.write() as session:
        session.get(Attempt, by_orm.id).updated_at = moment
    with store.write_connection() as connection:
        TOUCH.execute(connection, {"attempt_id": by_cursor.id, "at": moment})

    with store.read() as session:
        stored = dict(session.execute(text("SELECT id, updated_at FROM attempts")).all())
        assert stored[by_cursor.id] == stored[by_orm.id]  # the same text on SQLite, the same value on PostgreSQL
        assert session.get(Attempt, by_cursor.id).updated_at.replace(tzinfo=UTC) == moment


def test_values_written_into_the_statement_are_stored(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    attempt = practice.start(trainee.id, SCENARIO, "coached")
    with store.write_connection() as connection:
        FINISH.execute(connection, {"attempt_id": attempt.id})
    with store.read() as session:
        assert session.scalar(select(Attempt.status).where(Attempt.id == attempt.id)) == "completed"


def test_a_duplicate_key_is_sqlalchemys_integrity_error_and_the_transaction_rolls_back(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    attempt = practice.start(trainee.id, SCENARIO, "coached")
    with store.read() as session:
        before = session.get(Attempt, attempt.id).updated_at
        existing = session.get(User, trainee.id)
        row = {column.name: getattr(existing, column.key) for column in User.__table__.columns}
    with pytest.raises(IntegrityError), store.write_connection() as connection:
        TOUCH.execute(connection, {"attempt_id": attempt.id, "at": datetime(2030, 1, 1, tzinfo=UTC)})
        NEW_USER.execute(connection, row)  # the same primary key as the trainee's row
    with store.read() as session:
        assert session.get(Attempt, attempt.id).updated_at == before  # the touch went with the failure


def test_the_row_count_says_whether_the_statement_changed_anything(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    attempt = practice.start(trainee.id, SCENARIO, "coached")
    with store.write_connection() as connection:
        assert TOUCH.execute(connection, {"attempt_id": attempt.id, "at": datetime.now(UTC)}) == 1
        assert TOUCH.execute(connection, {"attempt_id": "no-such-attempt", "at": datetime.now(UTC)}) == 0


def test_a_prepared_statement_outside_a_transaction_is_refused_and_writes_nothing(
    store: Store, practice: PracticeService, trainee: UserRef
) -> None:
    attempt = practice.start(trainee.id, SCENARIO, "coached")
    with store.write_engine.connect() as connection, pytest.raises(RuntimeError, match="inside a transaction"):
        FINISH.execute(connection, {"attempt_id": attempt.id})
    with store.read() as session:
        assert session.scalar(select(Attempt.status).where(Attempt.id == attempt.id)) == "in_progress"


def test_missing_or_unusable_parameters_are_sqlalchemys_statement_error(store: Store) -> None:
    with store.write_connection() as connection:
        with pytest.raises(StatementError):
            TOUCH.execute(connection, {"attempt_id": "a"})  # no "at"
        with pytest.raises(StatementError):
            TOUCH.execute(connection, {"attempt_id": "a", "at": "not a datetime"})
