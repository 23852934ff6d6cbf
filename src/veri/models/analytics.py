"""Derived analytics, rebuilt from events by the `analytics` consumer group.

Facts hold the latest known state per content item, per content-day and per deal; the daily
rollups are recomputed from the facts for every key a batch touches. Recomputing instead of
adding makes a redelivered or replayed event harmless: nothing is ever counted twice.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base

__all__ = ["AnalyticsDaily", "ContentDaily", "ContentFact", "DealFact"]


class ContentFact(Base):
    __tablename__ = "analytics_content"
    __table_args__ = (
        Index("ix_analytics_content_creator_published", "creator_id", "published_at"),
        Index("ix_analytics_content_brand_published", "brand_id", "published_at"),
        Index("ix_analytics_content_campaign_published", "campaign_id", "published_at"),
    )

    content_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID]
    platform: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime | None]
    campaign_id: Mapped[uuid.UUID | None]
    brand_id: Mapped[uuid.UUID | None]


class ContentDaily(Base):
    """Cumulative metrics of a content item at the end of a day (its latest snapshot that day)
    and the day's growth over the previous known day."""

    __tablename__ = "analytics_content_daily"
    __table_args__ = (
        Index("ix_analytics_content_daily_creator_day", "creator_id", "day"),
        Index("ix_analytics_content_daily_brand_day", "brand_id", "day"),
        Index("ix_analytics_content_daily_campaign_day", "campaign_id", "day"),
    )

    content_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID]
    campaign_id: Mapped[uuid.UUID | None]
    brand_id: Mapped[uuid.UUID | None]
    platform: Mapped[str] = mapped_column(String(20))
    captured_at: Mapped[datetime]
    views: Mapped[int] = mapped_column(BigInteger)
    likes: Mapped[int] = mapped_column(BigInteger)
    comments: Mapped[int] = mapped_column(BigInteger)
    shares: Mapped[int] = mapped_column(BigInteger)
    saves: Mapped[int] = mapped_column(BigInteger)
    engagement_rate: Mapped[float] = mapped_column(Float)
    d_views: Mapped[int] = mapped_column(BigInteger, default=0)
    d_engagements: Mapped[int] = mapped_column(BigInteger, default=0)


class DealFact(Base):
    __tablename__ = "analytics_deals"

    deal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    brand_id: Mapped[uuid.UUID] = mapped_column(index=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20))
    accepted_on: Mapped[date | None]
    completed_on: Mapped[date | None]
    accepted_fee_cents: Mapped[int | None] = mapped_column(BigInteger)
    # The event that last changed this fact, so an older event arriving late changes nothing.
    changed_at: Mapped[datetime]


class AnalyticsDaily(Base):
    __tablename__ = "analytics_daily"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)  # creator | brand | campaign
    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    engagements: Mapped[int] = mapped_column(BigInteger, default=0)
    engagement_rate: Mapped[float] = mapped_column(Float, default=0.0)
    posts: Mapped[int] = mapped_column(default=0)
    deals_accepted: Mapped[int] = mapped_column(default=0)
    deals_completed: Mapped[int] = mapped_column(default=0)
    earnings_cents: Mapped[int] = mapped_column(BigInteger, default=0)
