"""accounts: sign-in columns on users, cohorts, sessions, failed sign-ins, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:30:00

Hand-checked against autogenerate, with these changes:

* ``users`` is altered in place, never rebuilt. On SQLite a batch rebuild of
  ``users`` (copy, DROP, rename) trips the foreign keys that ``attempts``
  holds on it, because the store turns ``PRAGMA foreign_keys`` on and it
  cannot be turned off inside the migration's transaction. So the batch
  block says ``recreate="never"``: it fails loudly rather than rebuild, and
  everything in it (ADD COLUMN, CREATE UNIQUE INDEX) is native on SQLite and
  PostgreSQL. That is also why the unique columns use unique indexes, and why
  ``pseudonym`` stays nullable in the schema (every row gets one below, and
  the ORM gives one to every new row).
* Boolean server defaults are ``sa.false()`` (autogenerate on SQLite wrote
  ``sa.text('0')``, which PostgreSQL refuses for a boolean column).
* Existing users (guests from practice) get a unique pseudonym here. The
  generator is copied, not imported, so later code changes cannot change
  what this migration does.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UNAMBIGUOUS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _pseudonym(length: int) -> str:
    return "Trainee " + "".join(secrets.choice(_UNAMBIGUOUS) for _ in range(length))


def _fill_pseudonyms() -> None:
    bind = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("pseudonym", sa.String))
    taken: set[str] = set()
    ids = bind.execute(sa.select(users.c.id).order_by(users.c.id)).scalars().all()
    for user_id in ids:
        length = 4 if len(ids) < 20_000 else 6
        candidate = _pseudonym(length)
        while candidate in taken:
            candidate = _pseudonym(length)
        taken.add(candidate)
        bind.execute(sa.update(users).where(users.c.id == user_id).values(pseudonym=candidate))


def upgrade() -> None:
    with op.batch_alter_table("users", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("pseudonym", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("disabled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))

    _fill_pseudonyms()

    with op.batch_alter_table("users", recreate="never") as batch_op:
        batch_op.create_index("uq_users_username", ["username"], unique=True)
        batch_op.create_index("uq_users_oidc_subject", ["oidc_subject"], unique=True)
        batch_op.create_index("uq_users_pseudonym", ["pseudonym"], unique=True)

    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("program", sa.String(length=100), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("invite_code", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("invite_code", name="uq_cohorts_invite_code"),
        sa.UniqueConstraint("name", name="uq_cohorts_name"),
    )
    op.create_table(
        "cohort_members",
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('trainee', 'supervisor')", name="ck_cohort_members_role"),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cohort_id", "user_id"),
    )
    op.create_index(op.f("ix_cohort_members_user_id"), "cohort_members", ["user_id"], unique=False)

    op.create_table(
        "auth_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"], unique=False)

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=True),
        sa.Column("client_key", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_login_failures_at"), "login_failures", ["at"], unique=False)
    op.create_index("ix_login_failures_account_at", "login_failures", ["account_key", "at"], unique=False)
    op.create_index("ix_login_failures_client_at", "login_failures", ["client_key", "at"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject_user_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"], unique=False)
    op.create_index(op.f("ix_audit_log_subject_user_id"), "audit_log", ["subject_user_id"], unique=False)


def downgrade() -> None:
    """Back to 0001: drops every account, cohort, session and audit row (guests keep playing)."""
    op.drop_table("audit_log")
    op.drop_table("login_failures")
    op.drop_table("auth_sessions")
    op.drop_table("cohort_members")
    op.drop_table("cohorts")
    op.drop_index("uq_users_pseudonym", table_name="users")
    op.drop_index("uq_users_oidc_subject", table_name="users")
    op.drop_index("uq_users_username", table_name="users")
    columns = ("deleted_at", "disabled", "pseudonym", "email", "oidc_subject", "password_hash", "username")
    if op.get_bind().dialect.name == "sqlite":
        # Native DROP COLUMN (SQLite >= 3.35): a batch rebuild of `users` would trip
        # the foreign keys of `attempts` (see the module docstring).
        for column in columns:
            op.execute(sa.text(f'ALTER TABLE users DROP COLUMN "{column}"'))
    else:
        for column in columns:
            op.drop_column("users", column)
