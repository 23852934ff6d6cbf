"""Pydantic shapes of the connectors API. None of them has a field for a token."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from veri.models.creators import Platform, SocialAccountStatus

__all__ = [
    "PLATFORM_NAMES",
    "CallbackIn",
    "ConnectablePlatform",
    "ConnectionOut",
    "ConnectorsOverviewOut",
    "PlatformOverviewOut",
    "StartOut",
    "WebhookOut",
]


# How each platform writes its own name.
PLATFORM_NAMES = {"youtube": "YouTube", "instagram": "Instagram", "tiktok": "TikTok", "twitch": "Twitch", "x": "X"}


class ConnectablePlatform(enum.StrEnum):
    """The platforms Veri connects to over OAuth (a path parameter)."""

    YOUTUBE = "youtube"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    TWITCH = "twitch"

    @property
    def platform(self) -> Platform:
        return Platform(self.value)


class StartOut(BaseModel):
    authorize_url: str
    expires_at: datetime


OAuthValue = Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class CallbackIn(BaseModel):
    """What the platform put on the redirect back to Veri (for clients that follow it themselves)."""

    model_config = ConfigDict(extra="forbid")

    state: OAuthValue
    code: OAuthValue | None = None
    error: Annotated[str, StringConstraints(max_length=200)] | None = None


class ConnectionOut(BaseModel):
    account_id: uuid.UUID
    creator_id: uuid.UUID
    platform: Platform
    handle: str
    status: SocialAccountStatus
    followers: int
    connected: bool = Field(description="an OAuth grant is held for this account")
    connected_at: datetime | None = None
    scopes: str = ""
    last_synced_at: datetime | None = None
    next_sync_at: datetime | None = None
    syncing: bool = False
    posts_synced: int = 0
    snapshots_synced: int = 0
    last_error: str = ""
    consecutive_failures: int = 0


class WebhookOut(BaseModel):
    accepted: int = Field(description="accounts whose sync the webhook asked for")
    duplicate: bool = Field(description="this webhook id was received before: nothing changed")


class PlatformOverviewOut(BaseModel):
    platform: str
    connected: int
    revoked: int
    due: int
    failing: int
    posts: int
    snapshots: int
    last_success_at: datetime | None
    circuit: str


class ConnectorsOverviewOut(BaseModel):
    platforms: list[PlatformOverviewOut]
