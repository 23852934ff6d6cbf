"""Pydantic shapes of the memory API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from veri.models.memory import Memory, MemoryStatus, MemoryType

__all__ = ["HitOut", "MemoryDetailOut", "MemoryOut", "SearchOut", "SourceOut"]


class MemoryOut(BaseModel):
    id: uuid.UUID
    type: MemoryType
    kind: str
    key: str
    text: str
    attributes: dict[str, Any]
    importance: float
    strength: float
    status: MemoryStatus
    creator_id: uuid.UUID | None
    brand_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    sources: list[uuid.UUID]
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime
    superseded_at: datetime | None
    superseded_by: uuid.UUID | None
    access_count: int
    last_accessed_at: datetime | None

    @classmethod
    def of(cls, memory: Memory) -> MemoryOut:
        return cls(
            id=memory.id,
            type=memory.type,
            kind=memory.kind,
            key=memory.key,
            text=memory.text,
            attributes=memory.attributes,
            importance=memory.importance,
            strength=memory.strength,
            status=memory.status,
            creator_id=memory.creator_id,
            brand_id=memory.brand_id,
            campaign_id=memory.campaign_id,
            sources=memory.source_event_ids,
            valid_from=memory.valid_from,
            valid_to=memory.valid_to,
            recorded_at=memory.recorded_at,
            superseded_at=memory.superseded_at,
            superseded_by=memory.superseded_by,
            access_count=memory.access_count,
            last_accessed_at=memory.last_accessed_at,
        )


class HitOut(BaseModel):
    memory: MemoryOut
    score: float
    # How the score came about: bm25 and lexical_rank, vector_distance and vector_rank, rrf,
    # importance, recency, strength, time_boost.
    breakdown: dict[str, Any]


class SearchOut(BaseModel):
    query: str
    mode: str
    hits: list[HitOut]


class SourceOut(BaseModel):
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    actor: str
    subject: str
    position: int


class MemoryDetailOut(BaseModel):
    memory: MemoryOut
    history: list[MemoryOut]
    sources: list[SourceOut]
