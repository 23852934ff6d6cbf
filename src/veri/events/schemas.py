"""Pydantic shapes of the events API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DeadLetterOut", "EventBatchIn", "EventTypeOut", "IngestOut", "LagOut"]


class EventBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Each item is checked against its type's schema by the service, which names the field.
    events: list[dict[str, Any]] = Field(min_length=1, description="Events in the envelope of GET /api/v1/events/types")


class IngestOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[dict[str, Any]]


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_name: str
    event_id: uuid.UUID
    event_type: str
    attempts: int
    error: str
    failed_at: datetime
    replayed_at: datetime | None


class LagOut(BaseModel):
    group: str
    partition: int
    lag: int
    owner: str
    measured_at: datetime


class EventTypeOut(BaseModel):
    type: str
    version: int
    stream: str
    description: str
    payload_schema: dict[str, Any]
