"""flag rules and flag changes: the feature flags' runtime overrides and their audit (issue 16)

Revision ID: f16a0000a001
Revises: f15c0000c003
Create Date: 2026-12-03 18:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f16a0000a001"
down_revision: str | None = "f15c0000c003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flag_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flag", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("old", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_changes")),
    )
    op.create_index(op.f("ix_flag_changes_flag"), "flag_changes", ["flag"], unique=False)
    op.create_table(
        "flag_rules",
        sa.Column("flag", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("percent", sa.Float(), nullable=False),
        sa.Column("allow", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("deny", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("kill", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flag", name=op.f("pk_flag_rules")),
    )


def downgrade() -> None:
    op.drop_table("flag_rules")
    op.drop_index(op.f("ix_flag_changes_flag"), table_name="flag_changes")
    op.drop_table("flag_changes")
