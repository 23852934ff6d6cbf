"""Pydantic shapes of the analytics API."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel, Field

__all__ = ["CohortOut", "DayOut", "RetentionOut", "Scope", "SeriesOut"]


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


class CohortOut(BaseModel):
    month: date = Field(description="The sign-up month (its first day, UTC).")
    size: int = Field(description="Creators who signed up that month.")
    active: list[int] = Field(
        description="Of them, how many were active in the sign-up month (offset 0) and each month after, up to `end`."
    )
    retention: list[float] = Field(description="`active` as a share of `size`, per month offset.")


class RetentionOut(BaseModel):
    months: int = Field(description="How many sign-up months the window covers.")
    start: date = Field(description="The first month of the window.")
    end: date = Field(description="The last month of the window (it may still be running).")
    through: date | None = Field(description="The day of the latest creator event counted.")
    partial: bool = Field(description="Whether `end` is a month whose events do not reach its last day yet.")
    target: float = Field(description="The retention the business aims for.")
    creators: int = Field(description="Creators in the cohorts shown.")
    cohorts: list[CohortOut] = Field(description="Sign-up months with at least one creator, oldest first.")
    average: list[float] = Field(
        description="Per month offset: the share still active over every cohort old enough, weighted by size."
    )
