"""The event log and the state of its consumers.

`event_outbox` is the source of truth: every event, in the order its transaction committed.
Rows are appended in the same transaction as the state change they describe and are never
updated or deleted. Readers follow it by the cursor (txid, position): only transactions older
than every running one are read, so a cursor never skips a row that commits late.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base

__all__ = [
    "ConsumerLag",
    "ConsumerLease",
    "ConsumerMember",
    "ConsumerOffset",
    "DeadLetter",
    "OutboxEvent",
    "ProcessedEvent",
    "RelayCursor",
]


class OutboxEvent(Base):
    __tablename__ = "event_outbox"
    __table_args__ = (
        Index("ix_event_outbox_log", "partition", "txid", "position"),
        Index("ix_event_outbox_cursor", "txid", "position"),
        Index("ix_event_outbox_recorded_at", "recorded_at"),
        # Who the log names (memory's display names of parties that exist only as events).
        Index(
            "ix_event_outbox_campaign_named",
            text("(payload ->> 'campaign_id')"),
            postgresql_where=text("type = 'campaign.created'"),
        ),
        Index(
            "ix_event_outbox_brand_named",
            text("(payload ->> 'brand_id')"),
            postgresql_where=text("type = 'campaign.created'"),
        ),
        Index(
            "ix_event_outbox_creator_named",
            text("(payload ->> 'creator_id')"),
            postgresql_where=text("type = 'message.sent' AND payload ->> 'sender_role' = 'creator'"),
        ),
    )

    position: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    # The writing transaction's id, so readers can wait for transactions still in flight.
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"))
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(SmallInteger)
    stream: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    partition: Mapped[int] = mapped_column(SmallInteger)
    actor: Mapped[str] = mapped_column(String(120))
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)


class ConsumerOffset(Base):
    """How far a consumer group has read a partition of the embedded log."""

    __tablename__ = "consumer_offsets"

    group_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ConsumerMember(Base):
    """A live worker of a consumer group on the embedded log (its heartbeat), so that the
    members can share the partitions fairly."""

    __tablename__ = "consumer_members"

    group_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    member: Mapped[str] = mapped_column(String(120), primary_key=True)
    heartbeat_at: Mapped[datetime]


class ConsumerLease(Base):
    """Which worker of a group owns a partition of the embedded log, until when."""

    __tablename__ = "consumer_leases"

    group_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    owner: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime]


class ProcessedEvent(Base):
    """An event a group has applied: written in the same transaction as the effect, so a
    redelivered event (relay retry, broker redelivery, crash) is skipped."""

    __tablename__ = "processed_events"

    group_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DeadLetter(Base):
    """An event a group could not process after its retries; replayable once fixed."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(80), index=True)
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(80))
    attempts: Mapped[int]
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    replayed_at: Mapped[datetime | None] = mapped_column(default=None)


class RelayCursor(Base):
    """How far the relay has published the outbox to the Kafka bus."""

    __tablename__ = "relay_cursor"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    published: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ConsumerLag(Base):
    """The latest lag a worker measured per group and partition, for /metrics and the admin page."""

    __tablename__ = "consumer_lag"

    group_name: Mapped[str] = mapped_column(String(80), primary_key=True)
    partition: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    lag: Mapped[int] = mapped_column(BigInteger)
    owner: Mapped[str] = mapped_column(String(120), default="")
    measured_at: Mapped[datetime] = mapped_column(server_default=func.now())
