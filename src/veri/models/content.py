"""Content a creator published, and snapshots of its metrics over time."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column
from veri.models.creators import Platform

__all__ = ["ContentItem", "MetricSnapshot"]


class ContentItem(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "content_items"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), index=True)
    deal_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), index=True, default=None
    )
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, "platform"))
    external_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[datetime]


class MetricSnapshot(UUIDPrimaryKey, Base):
    __tablename__ = "metric_snapshots"
    __table_args__ = (UniqueConstraint("content_id", "captured_at"),)

    content_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id", ondelete="CASCADE"), index=True)
    captured_at: Mapped[datetime]
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    comments: Mapped[int] = mapped_column(BigInteger, default=0)
    shares: Mapped[int] = mapped_column(BigInteger, default=0)
    saves: Mapped[int] = mapped_column(BigInteger, default=0)
