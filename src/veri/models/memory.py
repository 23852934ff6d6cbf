"""The Signal Engine's memory: one table for the five kinds of memory, formed from events by the
`memory` consumer group (veri.memory.formation), never written by the API.

A memory is never overwritten when the world changes: the old version's validity is closed
(`valid_to`, world time) and it is marked superseded (`superseded_at`, system time), so every
question can be asked "as of" a moment. Decay lowers `strength`; it never deletes.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    CheckConstraint,
    Computed,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, enum_column, utcnow

__all__ = [
    "EMBEDDING_DIMENSIONS",
    "SEARCH_VECTOR",
    "EmbeddingCache",
    "Memory",
    "MemoryStatus",
    "MemorySubjectState",
    "MemoryType",
]

# all-MiniLM-L6-v2; an embedder with another size needs a migration.
EMBEDDING_DIMENSIONS = 384


SEARCH_VECTOR = (
    "setweight(to_tsvector('english'::regconfig, search_text), 'A') || "
    "setweight(to_tsvector('english'::regconfig, context_text), 'D')"
)


class MemoryType(enum.StrEnum):
    CREATOR_ENTITY = "creator_entity"
    CAMPAIGN_EPISODIC = "campaign_episodic"
    CONTENT_KNOWLEDGE = "content_knowledge"
    BRAND_INTERACTION = "brand_interaction"
    WORKFLOW = "workflow"


class MemoryStatus(enum.StrEnum):
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    ARCHIVED = "archived"


class Memory(Base):
    __tablename__ = "memories"
    __table_args__ = (
        CheckConstraint("cardinality(source_event_ids) > 0", name="provenance_not_empty"),
        Index("ix_memories_creator_valid_from", "creator_id", "valid_from"),
        Index("ix_memories_brand_valid_from", "brand_id", "valid_from"),
        Index("ix_memories_campaign_valid_from", "campaign_id", "valid_from"),
        Index("ix_memories_key", "key"),
        Index("ix_memories_search", "search", postgresql_using="gin"),
        Index("ix_memories_sources", "source_event_ids", postgresql_using="gin"),
        Index("ix_memories_unembedded", "recorded_at", postgresql_where=text("embedding IS NULL")),
        # The agent's remembered runs, read on every question: few rows, among a creator's many.
        Index(
            "ix_memories_workflow",
            "creator_id",
            "brand_id",
            "valid_from",
            postgresql_where=text("type = 'workflow'"),
        ),
        # Campaign outcomes, read for every candidate a recommendation ranks: few rows among many.
        Index(
            "ix_memories_outcomes_creator",
            "creator_id",
            "valid_from",
            postgresql_where=text("type = 'campaign_episodic' AND key LIKE 'outcome:%'"),
        ),
        Index(
            "ix_memories_outcomes_brand",
            "brand_id",
            "valid_from",
            postgresql_where=text("type = 'campaign_episodic' AND key LIKE 'outcome:%'"),
        ),
        # Only where the server has pgvector (the migration skips it otherwise).
        Index(
            "ix_memories_embedding",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    type: Mapped[MemoryType] = mapped_column(enum_column(MemoryType, "memory_type"))
    # observation (what happened), fact (what is true of a subject), insight (from reflection)
    kind: Mapped[str] = mapped_column(String(20), default="observation")
    # What a memory is a version of: facts of one subject with the same key supersede each other.
    key: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    # The text as the full-text index sees it (weight A).
    search_text: Mapped[str] = mapped_column(Text)
    # When it happened, in words, and what surrounds it (a message's conversation so far):
    # indexed at a lower weight (D), so that a reply like "let's do 150" is found by the brand or
    # the question it answers, and a date finds what happened on it.
    context_text: Mapped[str] = mapped_column(Text, default="")
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_VECTOR, persisted=True))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    embedding: Mapped[Any] = mapped_column(VECTOR(EMBEDDING_DIMENSIONS), nullable=True, deferred=True)
    importance: Mapped[float] = mapped_column(Float, default=0.5)
    strength: Mapped[float] = mapped_column(Float, default=1.0)
    creator_id: Mapped[uuid.UUID | None]
    brand_id: Mapped[uuid.UUID | None]
    campaign_id: Mapped[uuid.UUID | None]
    source_event_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]
    superseded_by: Mapped[uuid.UUID | None]
    status: Mapped[MemoryStatus] = mapped_column(
        enum_column(MemoryStatus, "memory_status"), default=MemoryStatus.ACTIVE
    )
    access_count: Mapped[int] = mapped_column(Integer, default=0)
    last_accessed_at: Mapped[datetime | None]


class EmbeddingCache(Base):
    """Embeddings by content hash and model: the same text is never embedded twice."""

    __tablename__ = "memory_embedding_cache"

    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    model: Mapped[str] = mapped_column(String(120), primary_key=True)
    embedding: Mapped[Any] = mapped_column(VECTOR(EMBEDDING_DIMENSIONS))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MemorySubjectState(Base):
    """Importance accumulated per creator since its last reflection: reflection runs when it
    passes a threshold."""

    __tablename__ = "memory_subject_state"

    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    pending_importance: Mapped[float] = mapped_column(Float, default=0.0)
    reflected_at: Mapped[datetime | None]
