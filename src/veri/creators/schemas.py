"""Pydantic shapes of the creators API."""

from __future__ import annotations

import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from veri.fields import Count, Patch
from veri.models.creators import Platform, SocialAccountStatus

__all__ = ["CreatorOut", "CreatorUpdate", "Demographics", "SocialAccountIn", "SocialAccountOut"]

Niche = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=2, max_length=40)]


# A group of the audience ("18-24", "female", "US") and its share; a few hundred groups at most
# (there are about 250 countries), each named in a few words.
Shares = Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=60)], float], Field(max_length=300)]


class Demographics(BaseModel):
    """Shares of the audience; each group's shares sum to at most 1."""

    model_config = ConfigDict(extra="forbid")

    age: Shares = Field(default_factory=dict)
    gender: Shares = Field(default_factory=dict)
    countries: Shares = Field(default_factory=dict)

    @field_validator("age", "gender", "countries")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        if any(not 0 <= share <= 1 for share in value.values()):
            raise ValueError("each share must be between 0 and 1")
        if sum(value.values()) > 1.0001:
            raise ValueError("shares must not add up to more than 1")
        return value


def _known_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (like Europe/Lisbon)") from None
    return value


TimeZoneName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(_known_zone)
]


class CreatorUpdate(Patch):
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    bio: Annotated[str, Field(max_length=2000)] | None = None
    location: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] | None = None
    niches: Annotated[list[Niche], Field(max_length=10)] | None = None
    platforms: Annotated[list[Platform], Field(max_length=5)] | None = None
    audience_size: Count | None = None
    demographics: Demographics | None = None
    timezone: TimeZoneName | None = None


class CreatorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    handle: str
    display_name: str
    bio: str
    location: str
    niches: list[str]
    platforms: list[str]
    audience_size: int
    demographics: dict[str, Any]
    timezone: str = "UTC"
    created_at: datetime


class SocialAccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform
    handle: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    followers: Count = 0


class SocialAccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    creator_id: uuid.UUID
    platform: Platform
    handle: str
    status: SocialAccountStatus
    followers: int
    created_at: datetime
