"""Creators and the social accounts they connect."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column

__all__ = ["Creator", "Platform", "SocialAccount", "SocialAccountStatus"]


class Platform(enum.StrEnum):
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    INSTAGRAM = "instagram"
    TWITCH = "twitch"
    X = "x"


class SocialAccountStatus(enum.StrEnum):
    PENDING = "pending"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ERROR = "error"
    # Connected through OAuth once, but the grant was revoked or expired: the creator reconnects.
    RECONNECT_NEEDED = "reconnect_needed"


class Creator(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "creators"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    handle: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    bio: Mapped[str] = mapped_column(Text, default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    timezone: Mapped[str] = mapped_column(String(60), default="UTC", server_default="UTC")  # IANA: daily streaks
    niches: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    platforms: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    audience_size: Mapped[int] = mapped_column(BigInteger, default=0)
    # {"age": {"18-24": 0.3, ...}, "gender": {"female": 0.6, ...}, "countries": {"US": 0.5, ...}}
    demographics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class SocialAccount(UUIDPrimaryKey, TimestampMixin, Base):
    __tablename__ = "social_accounts"
    __table_args__ = (UniqueConstraint("platform", "handle"),)

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("creators.id", ondelete="CASCADE"), index=True)
    platform: Mapped[Platform] = mapped_column(enum_column(Platform, "platform"))
    handle: Mapped[str] = mapped_column(String(80))
    status: Mapped[SocialAccountStatus] = mapped_column(
        enum_column(SocialAccountStatus, "social_account_status"),
        default=SocialAccountStatus.PENDING,
    )
    followers: Mapped[int] = mapped_column(BigInteger, default=0)
