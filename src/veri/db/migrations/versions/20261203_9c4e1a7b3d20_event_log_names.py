"""event log names: partial expression indexes so memory can name campaigns, brands and creators
that exist only as events (`campaign.created`, a creator's own `message.sent`)

Revision ID: 9c4e1a7b3d20
Revises: 5b7e2c9d4f10
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c4e1a7b3d20"
down_revision: str | None = "5b7e2c9d4f10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAMED = {
    "ix_event_outbox_campaign_named": ("campaign_id", "type = 'campaign.created'"),
    "ix_event_outbox_brand_named": ("brand_id", "type = 'campaign.created'"),
    "ix_event_outbox_creator_named": (
        "creator_id",
        "type = 'message.sent' AND payload ->> 'sender_role' = 'creator'",
    ),
}


def upgrade() -> None:
    for name, (key, where) in _NAMED.items():
        op.create_index(name, "event_outbox", [sa.text(f"(payload ->> '{key}')")], postgresql_where=sa.text(where))


def downgrade() -> None:
    for name in _NAMED:
        op.drop_index(name, table_name="event_outbox")
