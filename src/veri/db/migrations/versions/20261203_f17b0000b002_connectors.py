"""platform connections, encrypted grants, sync state, webhooks (issue 17)

Revision ID: f17b0000b002
Revises: f17a0000a001
Create Date: 2026-12-03 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f17b0000b002"
down_revision: str | None = "f17a0000a001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORMS = ("tiktok", "youtube", "instagram", "twitch", "x")
STATUSES = ("pending", "connected", "disconnected", "error")


def _platform() -> sa.Enum:
    return sa.Enum(*PLATFORMS, name="platform", native_enum=False, create_constraint=True, length=32)


def _status_check(values: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_social_accounts_social_account_status"), "social_accounts", type_="check")
    listed = ", ".join(f"'{v}'" for v in values)
    op.create_check_constraint(
        op.f("ck_social_accounts_social_account_status"), "social_accounts", f"status IN ({listed})"
    )


def upgrade() -> None:
    # A grant the platform revoked or let expire: the creator reconnects.
    _status_check((*STATUSES, "reconnect_needed"))
    op.create_table(
        "connector_grants",
        sa.Column("social_account_id", sa.Uuid(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("platform", _platform(), nullable=False),
        sa.Column("external_account_id", sa.String(length=120), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["creators.id"], name=op.f("fk_connector_grants_creator_id_creators"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["social_account_id"],
            ["social_accounts.id"],
            name=op.f("fk_connector_grants_social_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_grants")),
        sa.UniqueConstraint(
            "platform", "external_account_id", name=op.f("uq_connector_grants_platform_external_account_id")
        ),
        sa.UniqueConstraint("social_account_id", name=op.f("uq_connector_grants_social_account_id")),
    )
    op.create_index(op.f("ix_connector_grants_creator_id"), "connector_grants", ["creator_id"], unique=False)
    op.create_table(
        "connector_oauth_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("binding_hash", sa.String(length=64), nullable=False),
        sa.Column("platform", _platform(), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_connector_oauth_states_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_oauth_states")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_connector_oauth_states_state_hash")),
    )
    op.create_index(
        op.f("ix_connector_oauth_states_expires_at"), "connector_oauth_states", ["expires_at"], unique=False
    )
    op.create_index(op.f("ix_connector_oauth_states_user_id"), "connector_oauth_states", ["user_id"], unique=False)
    op.create_table(
        "connector_sync_states",
        sa.Column("social_account_id", sa.Uuid(), nullable=False),
        sa.Column("platform", _platform(), nullable=False),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_duration_ms", sa.Integer(), nullable=True),
        sa.Column("newest_post_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posts_synced", sa.BigInteger(), nullable=False),
        sa.Column("snapshots_synced", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["social_account_id"],
            ["social_accounts.id"],
            name=op.f("fk_connector_sync_states_social_account_id_social_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("social_account_id", name=op.f("pk_connector_sync_states")),
    )
    op.create_index(
        "ix_connector_sync_states_due",
        "connector_sync_states",
        ["next_sync_at"],
        unique=False,
        postgresql_where=sa.text("next_sync_at IS NOT NULL"),
    )
    op.create_index(
        "ix_connector_sync_states_requested",
        "connector_sync_states",
        ["requested_at"],
        unique=False,
        postgresql_where=sa.text("requested_at IS NOT NULL"),
    )
    op.create_table(
        "connector_webhook_receipts",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("platform", _platform(), nullable=False),
        sa.Column("webhook_id", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_webhook_receipts")),
        sa.UniqueConstraint("platform", "webhook_id", name=op.f("uq_connector_webhook_receipts_platform_webhook_id")),
    )
    op.create_index(
        op.f("ix_connector_webhook_receipts_received_at"), "connector_webhook_receipts", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_connector_webhook_receipts_received_at"), table_name="connector_webhook_receipts")
    op.drop_table("connector_webhook_receipts")
    op.drop_index("ix_connector_sync_states_requested", table_name="connector_sync_states")
    op.drop_index("ix_connector_sync_states_due", table_name="connector_sync_states")
    op.drop_table("connector_sync_states")
    op.drop_index(op.f("ix_connector_oauth_states_user_id"), table_name="connector_oauth_states")
    op.drop_index(op.f("ix_connector_oauth_states_expires_at"), table_name="connector_oauth_states")
    op.drop_table("connector_oauth_states")
    op.drop_index(op.f("ix_connector_grants_creator_id"), table_name="connector_grants")
    op.drop_table("connector_grants")
    op.execute("UPDATE social_accounts SET status = 'error' WHERE status = 'reconnect_needed'")
    _status_check(STATUSES)
