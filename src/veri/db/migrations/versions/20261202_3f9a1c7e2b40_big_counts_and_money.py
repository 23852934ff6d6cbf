"""big counts and money: audience sizes, followers, post metrics, budgets and fees as BIGINT, so
every value the schemas accept fits its column (a budget of $99,999,999.99 or 3 billion views
were 500s)

Revision ID: 3f9a1c7e2b40
Revises: 7c3d2e1f4a5b
Create Date: 2026-12-02 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f9a1c7e2b40"
down_revision: str | None = "7c3d2e1f4a5b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "creators": ["audience_size"],
    "social_accounts": ["followers"],
    "metric_snapshots": ["views", "likes", "comments", "shares", "saves"],
    "campaigns": ["budget_cents"],
    "deals": ["fee_cents", "accepted_fee_cents"],
    "deal_offers": ["fee_cents"],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    # Values beyond 2^31 - 1 would not fit back: refuse rather than truncate.
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, type_=sa.Integer(), existing_type=sa.BigInteger())
