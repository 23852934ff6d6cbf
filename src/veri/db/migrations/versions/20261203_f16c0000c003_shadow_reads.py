"""shadow reads, migration jobs, sampled verifications, READ_FROM_MONGO's shadow mode (issue 16)

Revision ID: f16c0000c003
Revises: f16b0000b002
Create Date: 2026-12-03 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f16c0000c003"
down_revision: str | None = "f16b0000b002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("flag_rules", sa.Column("shadow", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("migration_verifications", sa.Column("sampled", sa.Boolean(), server_default="false", nullable=False))
    op.create_table(
        "shadow_paths",
        sa.Column("path", sa.String(length=40), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("lagged", sa.Integer(), nullable=False),
        sa.Column("clean_streak", sa.Integer(), nullable=False),
        sa.Column("last_mismatch_key", sa.String(length=40), nullable=True),
        sa.Column("last_mismatch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path", name=op.f("pk_shadow_paths")),
    )
    op.create_table(
        "shadow_minutes",
        sa.Column("path", sa.String(length=40), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reads", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("lagged", sa.Integer(), nullable=False),
        sa.Column("postgres_ms", sa.Float(), nullable=False),
        sa.Column("mongo_ms", sa.Float(), nullable=False),
        sa.Column("postgres_max_ms", sa.Float(), nullable=False),
        sa.Column("mongo_max_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("path", "minute", name=op.f("pk_shadow_minutes")),
    )
    op.create_table(
        "migration_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("aggregate", sa.String(length=40), nullable=True),
        sa.Column("cohort", sa.Float(), nullable=False),
        sa.Column("repair", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migration_jobs")),
    )


def downgrade() -> None:
    op.drop_table("migration_jobs")
    op.drop_table("shadow_minutes")
    op.drop_table("shadow_paths")
    op.drop_column("migration_verifications", "sampled")
    op.drop_column("flag_rules", "shadow")
