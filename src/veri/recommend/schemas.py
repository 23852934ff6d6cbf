"""Pydantic shapes of predictions, recommendations and the model registry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from veri.fields import PositiveCents

__all__ = ["ModelVersionOut", "PredictionIn", "PredictionOut", "RecommendationOut", "RecommendationsOut"]


class PredictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    creator_id: uuid.UUID
    campaign_id: uuid.UUID
    fee_cents: PositiveCents


class PredictionOut(BaseModel):
    creator_id: uuid.UUID
    campaign_id: uuid.UUID
    fee_cents: int
    predicted_roi: float = Field(description="Expected revenue / fee (the median).")
    interval: tuple[float, float] = Field(description="80% of returns are expected to fall inside.")
    cold_start: bool = Field(description="No outcome of this creator is remembered: a wide, prior-led interval.")
    why: str
    memories: list[uuid.UUID] = Field(description="The remembered outcomes behind it that you may open.")
    model_version: int | None = Field(description="The serving model's version; null: no model yet (the prior).")


class RecommendationOut(BaseModel):
    creator_id: uuid.UUID
    handle: str
    display_name: str
    campaign_id: uuid.UUID
    campaign_title: str
    fee_cents: int
    predicted_roi: float
    interval: tuple[float, float]
    cold_start: bool
    deals_under_way: int
    why: str
    memories: list[uuid.UUID]


class RecommendationsOut(BaseModel):
    items: list[RecommendationOut]
    model_version: int | None
    reason: str = Field("", description="Why the list is empty, when it is.")


class ModelVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    status: str
    trained_from: datetime
    trained_until: datetime
    outcomes: int
    features: list[str]
    metrics: dict[str, Any]
    reason: str
    created_at: datetime
