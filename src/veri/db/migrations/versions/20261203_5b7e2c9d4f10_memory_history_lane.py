"""memory history lane: the `memory-history` consumer group starts where the single `memory`
group had read the embedded log, so an upgrade does not read months of history again (the new
lane would only skip or re-cite it, but at formation's pace)

Revision ID: 5b7e2c9d4f10
Revises: 3f9a1c7e2b40
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b7e2c9d4f10"
down_revision: str | None = "3f9a1c7e2b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO consumer_offsets (group_name, partition, txid, position, updated_at) "
        "SELECT 'memory-history', partition, txid, position, now() FROM consumer_offsets "
        "WHERE group_name = 'memory' ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DELETE FROM consumer_offsets WHERE group_name = 'memory-history'")
