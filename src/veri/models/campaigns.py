"""Campaigns of brands: the brief, the budget, the niches and platforms they look for."""

from __future__ import annotations

import enum
import uuid
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column
from veri.models.brands import Brand

__all__ = ["Campaign", "CampaignStatus"]


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Campaign(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "campaigns"
    __table_args__ = (CheckConstraint("budget_cents >= 0", name="budget_not_negative"),)

    brand_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("brands.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    brief: Mapped[str] = mapped_column(Text, default="")
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    niches: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    platforms: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    # [{"kind": "video", "platform": "youtube", "quantity": 1}, ...]
    deliverables: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus, "campaign_status"), default=CampaignStatus.DRAFT, index=True
    )
    starts_on: Mapped[date | None] = mapped_column(default=None)
    ends_on: Mapped[date | None] = mapped_column(default=None)

    brand: Mapped[Brand] = relationship(lazy="raise")
