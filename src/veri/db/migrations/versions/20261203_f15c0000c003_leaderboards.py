"""leaderboard entries, the Postgres implementation of the boards (issue 15)

Revision ID: f15c0000c003
Revises: f15b0000b002
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f15c0000c003"
down_revision: str | None = "f15b0000b002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leaderboard_entries",
        sa.Column("board", sa.String(length=120), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("board", "creator_id", name=op.f("pk_leaderboard_entries")),
    )
    op.create_index(
        "ix_leaderboard_entries_board_score", "leaderboard_entries", ["board", "score", "creator_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_leaderboard_entries_board_score", table_name="leaderboard_entries")
    op.drop_table("leaderboard_entries")
