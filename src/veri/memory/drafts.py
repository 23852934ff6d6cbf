"""What formation proposes to remember, before consolidation decides how it joins the store."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from veri.models.memory import MemoryType

__all__ = ["EMBEDDED_KINDS", "Draft", "content_hash", "embedding_text"]

# A post's own memory (kind "state": platform, format, time, metrics) is found by its words and
# numbers; what it means is in the insights reflection writes about the creator's posts, and
# those are embedded. Embedding every post would double the model's work for little recall.
EMBEDDED_KINDS = ("observation", "fact", "insight")


def content_hash(text: str) -> bytes:
    """What makes two texts the same, whitespace and case aside (consolidation, the embedding cache)."""
    return hashlib.sha256(" ".join(text.split()).casefold().encode()).digest()


def embedding_text(search_text: str, surroundings: str) -> str:
    """What a memory's embedding is computed from: its text, then what surrounds it."""
    return f"{search_text} | {surroundings}" if surroundings else search_text


@dataclass
class Draft:
    type: MemoryType
    key: str
    text: str
    valid_from: datetime
    sources: list[uuid.UUID]
    creator_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    # observation: what happened; fact: what is true of a subject (one value per key at a
    # time); insight: what reflection concluded; state: a summary updated in place.
    kind: str = "observation"
    importance: float = 0.5
    attributes: dict[str, Any] = field(default_factory=dict)
    # When it happened, in words ("March 2 2026"): indexed with the surroundings, at their lower
    # weight, so that a date finds it without its numbers crowding the words of the text.
    when: str = ""
    # For facts: the value whose change closes the previous version's validity.
    value: str | None = None
    # What surrounds it (a message's thread so far), indexed and embedded with less weight.
    surroundings: str = ""

    @property
    def search_text(self) -> str:
        return self.text

    @property
    def context_text(self) -> str:
        return " | ".join(part for part in (self.when, self.surroundings) if part)

    @property
    def embed_text(self) -> str:
        return embedding_text(self.search_text, self.context_text)
