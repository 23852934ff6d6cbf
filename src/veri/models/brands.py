"""Brands, each managed by one brand user."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey

__all__ = ["Brand"]


class Brand(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "brands"

    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    category: Mapped[str] = mapped_column(String(60), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
