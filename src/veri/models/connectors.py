"""Platform connections: the OAuth grant behind a connected social account (tokens encrypted at
rest), the `state` of a connection under way, each account's sync progress, and the webhooks
received (their ids, so a replayed one is recognised)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column, utcnow
from veri.models.creators import Platform

__all__ = ["OAuthState", "PlatformGrant", "SyncState", "WebhookReceipt"]


class PlatformGrant(UUIDPrimaryKey, TimestampMixin, Base):
    """What a platform granted Veri for one social account. Tokens are Fernet ciphertexts
    (veri.connectors.crypto); they never leave the connectors domain in clear."""

    __tablename__ = "connector_grants"
    __table_args__ = (UniqueConstraint("platform", "external_account_id"),)

    social_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE"), unique=True
    )
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), index=True)
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, "platform"))
    # The platform's own id of the account (channel id, open_id, user id): webhooks name it.
    external_account_id: Mapped[str] = mapped_column(String(120))
    scopes: Mapped[str] = mapped_column(String(500), default="")
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Set when the platform refused the grant (revoked, expired for good): reconnect needed.
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class OAuthState(UUIDPrimaryKey, Base):
    """A connection under way: the `state` sent to the platform (only its hash is kept), bound to
    the person and the session that started it, single use and short-lived, with the PKCE
    verifier (encrypted) the token exchange must present."""

    __tablename__ = "connector_oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # A hash of the session (or API key) that started it: another session cannot finish it.
    binding_hash: Mapped[str] = mapped_column(String(64))
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, "platform"))
    code_verifier: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class SyncState(Base):
    """One connected account's sync: when it is due, who holds it, and what it has brought in."""

    __tablename__ = "connector_sync_states"
    __table_args__ = (
        # The worker's question every few seconds: which accounts are due (or asked for)?
        Index("ix_connector_sync_states_due", "next_sync_at", postgresql_where=text("next_sync_at IS NOT NULL")),
        Index("ix_connector_sync_states_requested", "requested_at", postgresql_where=text("requested_at IS NOT NULL")),
    )

    social_account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("social_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, "platform"))
    # None: not scheduled (reconnect needed).
    next_sync_at: Mapped[datetime | None] = mapped_column(default=None)
    # A webhook or a person asked for a sync now.
    requested_at: Mapped[datetime | None] = mapped_column(default=None)
    # A worker holds the account until then (a crashed one's lease runs out).
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # The newest post seen: reading newest first stops there.
    newest_post_at: Mapped[datetime | None] = mapped_column(default=None)
    posts_synced: Mapped[int] = mapped_column(BigInteger, default=0)
    snapshots_synced: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookReceipt(Base):
    """A webhook that passed its signature check, by the platform's id for it: the same id again
    is a replay (or a redelivery) and changes nothing."""

    __tablename__ = "connector_webhook_receipts"
    __table_args__ = (UniqueConstraint("platform", "webhook_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, "platform"))
    webhook_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime]
    accounts: Mapped[int] = mapped_column(Integer, default=0)
