"""published scenarios: scenario YAML published from the authoring workspace

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:00:00

A new table only; no existing table is touched, so nothing is rebuilt on
SQLite. Checked against autogenerate (no pending diff at head).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_scenarios",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scenario_id", sa.String(length=64), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("replaced_hash", sa.String(length=64), nullable=True),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["published_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scenario_id", "version_no", name="uq_published_scenarios_version"),
    )
    op.create_index(
        op.f("ix_published_scenarios_scenario_id"), "published_scenarios", ["scenario_id"], unique=False
    )
    op.create_index(
        op.f("ix_published_scenarios_published_by"), "published_scenarios", ["published_by"], unique=False
    )


def downgrade() -> None:
    """Back to 0002: drops every published scenario (attempts keep their stored versions)."""
    op.drop_index(op.f("ix_published_scenarios_published_by"), table_name="published_scenarios")
    op.drop_index(op.f("ix_published_scenarios_scenario_id"), table_name="published_scenarios")
    op.drop_table("published_scenarios")
