"""platform connections, encrypted grants, sync state, webhooks (issue 17)

Revision ID: f17b0000b002
Revises: f17a0000a001
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

revision: str = "f17b0000b002"
down_revision: str | None = "f17a0000a001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
