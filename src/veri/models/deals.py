"""Deals: one creator on one campaign (an application or invitation), its offers and
counter-offers, and the messages of its thread."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column, utcnow
from veri.models.campaigns import Campaign
from veri.models.creators import Creator

__all__ = ["Deal", "DealMessage", "DealOffer", "DealStatus", "Party"]


class DealStatus(enum.StrEnum):
    PROPOSED = "proposed"  # an offer is on the table, the other party must answer
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Party(enum.StrEnum):
    CREATOR = "creator"
    BRAND = "brand"


class Deal(UUIDPrimaryKey, TimestampMixin, Base):
    """One creator on one campaign: an application or invitation, then the negotiation."""

    __tablename__ = "deals"
    __table_args__ = (
        UniqueConstraint("campaign_id", "creator_id"),
        CheckConstraint("fee_cents >= 0", name="fee_not_negative"),
    )

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), index=True)
    status: Mapped[DealStatus] = mapped_column(
        enum_column(DealStatus, "deal_status"), default=DealStatus.PROPOSED, index=True
    )
    # The offer on the table (or the accepted one), and who made it.
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    deliverables: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    last_offer_by: Mapped[Party] = mapped_column(enum_column(Party, "party"))
    accepted_fee_cents: Mapped[int | None] = mapped_column(BigInteger, default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    campaign: Mapped[Campaign] = relationship(lazy="raise")
    creator: Mapped[Creator] = relationship(lazy="raise")


class DealOffer(UUIDPrimaryKey, Base):
    """The history of offers and counter-offers of a deal, oldest first."""

    __tablename__ = "deal_offers"

    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    by: Mapped[Party] = mapped_column(enum_column(Party, "party"))
    fee_cents: Mapped[int] = mapped_column(BigInteger)
    deliverables: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DealMessage(UUIDPrimaryKey, Base):
    """A message in a deal's thread, between the creator and the brand."""

    __tablename__ = "deal_messages"

    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    sender: Mapped[Party] = mapped_column(enum_column(Party, "party"))
    sender_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
