"""Pydantic shapes of the analytics API."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel

__all__ = ["DayOut", "Scope", "SeriesOut"]


class Scope(StrEnum):
    CREATOR = "creator"
    BRAND = "brand"
    CAMPAIGN = "campaign"


class DayOut(BaseModel):
    day: date
    views: int = 0
    engagements: int = 0
    engagement_rate: float = 0.0
    posts: int = 0
    deals_accepted: int = 0
    deals_completed: int = 0
    earnings_cents: int = 0


class SeriesOut(BaseModel):
    scope: Scope
    scope_id: uuid.UUID
    start: date
    end: date
    days: list[DayOut]
    totals: DayOut
