"""Pydantic shapes of the campaigns API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from veri.fields import CurrencyCode, Day, Patch, PositiveCents
from veri.models.campaigns import CampaignStatus
from veri.models.creators import Platform

__all__ = [
    "BrandRef",
    "CampaignIn",
    "CampaignOut",
    "CampaignTransitionIn",
    "CampaignUpdate",
    "Deliverable",
]

Niche = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=2, max_length=40)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=160)]


class Deliverable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["video", "short", "post", "story", "stream"]
    platform: Platform
    quantity: Annotated[int, Field(ge=1, le=50)] = 1


class _Dates(BaseModel):
    starts_on: Day | None = None
    ends_on: Day | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Any:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ends_on must not be before starts_on")
        return self


class CampaignIn(_Dates):
    model_config = ConfigDict(extra="forbid")

    title: Title
    brief: Annotated[str, Field(max_length=5000)] = ""
    budget_cents: PositiveCents
    currency: CurrencyCode = "USD"
    niches: Annotated[list[Niche], Field(max_length=10)] = Field(default_factory=list)
    platforms: Annotated[list[Platform], Field(max_length=5)] = Field(default_factory=list)
    deliverables: Annotated[list[Deliverable], Field(max_length=20)] = Field(default_factory=list)


class CampaignUpdate(_Dates, Patch):
    clearable = frozenset({"starts_on", "ends_on"})

    title: Title | None = None
    brief: Annotated[str, Field(max_length=5000)] | None = None
    budget_cents: PositiveCents | None = None
    niches: Annotated[list[Niche], Field(max_length=10)] | None = None
    platforms: Annotated[list[Platform], Field(max_length=5)] | None = None
    deliverables: Annotated[list[Deliverable], Field(max_length=20)] | None = None


class CampaignTransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: CampaignStatus


class BrandRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    brand: BrandRef
    title: str
    brief: str
    budget_cents: int
    currency: str
    niches: list[str]
    platforms: list[str]
    deliverables: list[dict[str, Any]]
    status: CampaignStatus
    allowed_transitions: list[CampaignStatus] = Field(default_factory=list)
    starts_on: date | None
    ends_on: date | None
    created_at: datetime
    updated_at: datetime
