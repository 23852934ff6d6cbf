"""the double-entry ledger, payouts (issue 17)

Revision ID: f17a0000a001
Revises: f16c0000c003
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

revision: str = "f17a0000a001"
down_revision: str | None = "f16c0000c003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
