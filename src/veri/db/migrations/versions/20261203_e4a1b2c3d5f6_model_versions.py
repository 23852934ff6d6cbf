"""model versions: the ROI model's registry (training window, features, metrics, the fitted model);
partial indexes on campaign-outcome memories (read for every candidate a recommendation ranks)

Revision ID: e4a1b2c3d5f6
Revises: d7c64e92b76f
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e4a1b2c3d5f6"
down_revision: str | None = "d7c64e92b76f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "serving",
                "retired",
                "rejected",
                name="model_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("trained_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trained_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcomes", sa.Integer(), nullable=False),
        sa.Column("features", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("metrics", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_versions")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_model_versions_name_version")),
    )
    op.create_index(op.f("ix_model_versions_name"), "model_versions", ["name"], unique=False)
    for column in ("creator", "brand"):
        op.create_index(
            f"ix_memories_outcomes_{column}",
            "memories",
            [f"{column}_id", "valid_from"],
            unique=False,
            postgresql_where=sa.text("type = 'campaign_episodic' AND key LIKE 'outcome:%'"),
        )


def downgrade() -> None:
    for column in ("creator", "brand"):
        op.drop_index(f"ix_memories_outcomes_{column}", table_name="memories")
    op.drop_index(op.f("ix_model_versions_name"), table_name="model_versions")
    op.drop_table("model_versions")
