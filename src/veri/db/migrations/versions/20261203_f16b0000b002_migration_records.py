"""migration checkpoints and verifications: the backfill's resume points, what verify found (issue 16)

Revision ID: f16b0000b002
Revises: f16a0000a001
Create Date: 2026-12-03 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f16b0000b002"
down_revision: str | None = "f16a0000a001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "migration_checkpoints",
        sa.Column("aggregate", sa.String(length=40), nullable=False),
        sa.Column("cohort", sa.Float(), nullable=False),
        sa.Column("last_id", sa.String(length=40), nullable=False),
        sa.Column("copied", sa.Integer(), nullable=False),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("aggregate", "cohort", name=op.f("pk_migration_checkpoints")),
    )
    op.create_table(
        "migration_verifications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("aggregate", sa.String(length=40), nullable=False),
        sa.Column("cohort", sa.Float(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("repaired", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_verifications")),
    )
    op.create_index(
        op.f("ix_migration_verifications_aggregate"), "migration_verifications", ["aggregate"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_migration_verifications_aggregate"), table_name="migration_verifications")
    op.drop_table("migration_verifications")
    op.drop_table("migration_checkpoints")
