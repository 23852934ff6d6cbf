"""Pydantic shapes of the content API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from veri.fields import AwareMoment, Count
from veri.models.creators import Platform

__all__ = ["ContentIn", "ContentOut", "MetricsIn", "MetricsOut"]


def _not_in_future(value: datetime) -> datetime:
    if value > datetime.now(UTC):
        raise ValueError("must not be in the future")
    return value


class ContentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: Platform
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    kind: Literal["video", "short", "post", "story", "stream"]
    title: Annotated[str, Field(max_length=300)] = ""
    url: Annotated[str, StringConstraints(max_length=500, pattern=r"^(https?://\S+)?$")] = ""
    published_at: AwareMoment
    deal_id: uuid.UUID | None = None

    _published = field_validator("published_at")(_not_in_future)


class MetricsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    captured_at: AwareMoment
    views: Count = 0
    likes: Count = 0
    comments: Count = 0
    shares: Count = 0
    saves: Count = 0

    _captured = field_validator("captured_at")(_not_in_future)


class MetricsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    captured_at: datetime
    views: int
    likes: int
    comments: int
    shares: int
    saves: int


class ContentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    creator_id: uuid.UUID
    deal_id: uuid.UUID | None
    platform: Platform
    external_id: str
    kind: str
    title: str
    url: str
    published_at: datetime
    latest_metrics: MetricsOut | None = None
