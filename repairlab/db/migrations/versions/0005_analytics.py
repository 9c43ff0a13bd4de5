"""analytics: per-attempt summaries, shared paths and zone sets; indexes for the dashboard

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 23:20:00

* three new tables (`repairlab/db/tables_analytics.py`), empty: the analytics
  service fills them from ``attempts`` and ``attempt_steps`` the first time a
  dashboard is computed, in short batches (each its own transaction, so
  practice keeps recording meanwhile), and keeps them up to date after that;
  the migration itself reads no data and takes no long lock;
* three indexes on ``attempts`` (updated_at, reflection_at, (status, score, user_id));
  plain ``op.create_index``, native on both backends, so ``attempts`` is not
  rebuilt on SQLite and no row is touched.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics_attempts",
        sa.Column("attempt_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("month", sa.String(length=10), nullable=True),
        sa.Column("week", sa.String(length=10), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("ending", sa.String(length=16), nullable=True),
        sa.Column("path_id", sa.BigInteger(), nullable=False),
        sa.Column("zones_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["attempt_id"], ["attempts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("attempt_id"),
    )
    op.create_index(
        "ix_analytics_attempts_user_month", "analytics_attempts",
        ["user_id", "month", "completed_at", "score", "attempt_id"], unique=False,
    )
    op.create_index(
        "ix_analytics_attempts_user_week", "analytics_attempts",
        ["user_id", "week", "completed_at", "score", "attempt_id"], unique=False,
    )
    op.create_index(
        "ix_analytics_attempts_path", "analytics_attempts", ["path_id", "user_id", "scenario_id", "ending"],
        unique=False,
    )
    op.create_index(
        "ix_analytics_attempts_month_zones", "analytics_attempts", ["month", "zones_id", "user_id"], unique=False
    )
    op.create_index(
        "ix_analytics_attempts_week_zones", "analytics_attempts", ["week", "zones_id", "user_id"], unique=False
    )
    op.create_index(
        "ix_analytics_attempts_scenario", "analytics_attempts", ["scenario_id", "user_id", "score", "ending"],
        unique=False,
    )
    op.create_index(
        "ix_analytics_attempts_user_all", "analytics_attempts",
        ["user_id", "path_id", "zones_id", "month", "week", "scenario_id", "score", "ending"], unique=False,
    )
    op.create_table(
        "analytics_paths",
        sa.Column("path_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("choice_id", sa.String(length=64), nullable=True),
        sa.Column("zone", sa.String(length=40), nullable=True),
        sa.Column("next_node", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("path_id", "seq"),
    )
    op.create_table(
        "analytics_zone_sets",
        sa.Column("zones_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("zone", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("zones_id", "zone"),
    )
    op.create_index("ix_attempts_updated_at", "attempts", ["updated_at"], unique=False)
    op.create_index("ix_attempts_reflection_at", "attempts", ["reflection_at"], unique=False)
    op.create_index("ix_attempts_status_score_user", "attempts", ["status", "score", "user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_attempts_status_score_user", table_name="attempts")
    op.drop_index("ix_attempts_reflection_at", table_name="attempts")
    op.drop_index("ix_attempts_updated_at", table_name="attempts")
    op.drop_table("analytics_zone_sets")
    op.drop_table("analytics_paths")
    op.drop_index("ix_analytics_attempts_user_all", table_name="analytics_attempts")
    op.drop_index("ix_analytics_attempts_scenario", table_name="analytics_attempts")
    op.drop_index("ix_analytics_attempts_week_zones", table_name="analytics_attempts")
    op.drop_index("ix_analytics_attempts_month_zones", table_name="analytics_attempts")
    op.drop_index("ix_analytics_attempts_path", table_name="analytics_attempts")
    op.drop_index("ix_analytics_attempts_user_week", table_name="analytics_attempts")
    op.drop_index("ix_analytics_attempts_user_month", table_name="analytics_attempts")
    op.drop_table("analytics_attempts")
