"""The `memory` consumer group: events -> signals -> drafts -> consolidated, embedded memories,
and reflection for the creators whose memories gained enough importance."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.orm import Session

from veri.events.derived import DerivedTable
from veri.events.envelope import Event
from veri.memory import store
from veri.memory.changes import announced
from veri.memory.embeddings import CachedEmbedder, Embedder
from veri.memory.formation import MEMORY_EVENT_TYPES, Surroundings, drafts_for
from veri.memory.reflection import reflect
from veri.memory.store import MemoryRepository
from veri.signals.llm import MessageExtractor
from veri.signals.messages import extract_message

__all__ = ["MemoryHandler"]

log = structlog.get_logger(__name__)


class MemoryHandler:
    group = "memory"
    types = MEMORY_EVENT_TYPES
    derived = (
        DerivedTable(
            "memories",
            ("type", "key", "creator_id", "brand_id", "campaign_id", "valid_from", "content_hash"),
            # Not compared: ids (random), the embedding (a model's output, filled later when it
            # failed), strength and access statistics (decay and use, not the log), recorded and
            # superseded times (the system's clock). An archived memory is an active one decay let go.
            "SELECT type, kind, key, text, context_text, attributes, encode(content_hash, 'hex') AS content_hash,"
            " importance, creator_id, brand_id, campaign_id,"
            " ARRAY(SELECT s::text FROM unnest(source_event_ids) s ORDER BY 1) AS source_event_ids,"
            " valid_from, valid_to, superseded_at IS NOT NULL AS superseded,"
            " CASE WHEN status = 'archived' THEN 'active' ELSE status END AS status FROM memories",
        ),
    )
    # Embedding costs ~5-15 ms a text: smaller batches keep a batch well inside its lease.
    batch_size = 256

    def __init__(
        self, embedder: Embedder | None, *, reflection: bool = True, extractor: MessageExtractor | None = None
    ):
        self.embedder = CachedEmbedder(embedder) if embedder is not None else None
        self.reflection = reflection
        self.extractor = extractor or extract_message

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        with announced(db):  # dual-write copies what this batch formed, while USE_MONGO is on
            self._form(db, events)

    def _form(self, db: Session, events: Sequence[Event]) -> None:
        # The live and the history lane (events/lanes.py) may hold events of one creator at once:
        # consolidation reads then writes a creator's memories, so each batch first takes its
        # creators' locks, in one order (no deadlock), until its transaction ends.
        store.lock_creators(db, {c for e in events if (c := getattr(e.payload, "creator_id", None)) is not None})
        around = Surroundings(db, self.extractor)
        around.names.load(
            i
            for e in events
            for i in (
                getattr(e.payload, "creator_id", None),
                getattr(e.payload, "brand_id", None),
                getattr(e.payload, "campaign_id", None),
            )
        )
        drafts = [d for e in events for d in drafts_for(e, around)]
        repo = MemoryRepository(db)
        applied = repo.apply(drafts)
        embedded = repo.embed_and_write(applied.created, self.embedder)
        log.debug(
            "memories_formed",
            events=len(events),
            created=len(applied.created),
            embedded=embedded,
            merged=applied.merged,
            superseded=applied.superseded,
            updated=applied.updated,
            skipped=applied.skipped,
        )
        if self.reflection:
            for creator_id in repo.accumulate_importance(applied.created):
                reflect(db, creator_id, embedder=self.embedder)

    def after_commit(self, events: Sequence[Event]) -> None:
        return None

    def reset(self, db: Session) -> None:
        MemoryRepository(db).reset()
