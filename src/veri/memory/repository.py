"""The memory store's writes: how drafts join it (consolidation) and how embeddings reach it.

Consolidation rules, by the draft's kind:
- observation: an identical text about the same subjects merges into the existing memory
  (provenance is the union); otherwise a new memory.
- fact: one current value per (creator, key). The same value merges; a new value closes the old
  version's validity (`valid_to`, `superseded_at`, `superseded_by`) and opens its own. Nothing is
  overwritten, so every version stays queryable "as of" its time.
- state: a summary of one thing (a post), created once and updated in place by `metrics`.
- insight: reflection's conclusion for a key; a newer one supersedes the older.
Every write is idempotent: an event already cited under a key is not applied again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from veri.memory.drafts import Draft, embedding_text
from veri.memory.embeddings import CachedEmbedder, content_hash
from veri.models.base import utcnow
from veri.models.memory import Memory, MemoryStatus, MemorySubjectState

__all__ = ["Applied", "MemoryRepository", "vectors_enabled"]

log = structlog.get_logger(__name__)


@dataclass
class Applied:
    created: list[Memory] = field(default_factory=list)
    merged: int = 0
    superseded: int = 0
    updated: int = 0
    skipped: int = 0


class MemoryRepository:
    def __init__(self, db: Session):
        self.db = db

    # -- formation ------------------------------------------------------------------------

    def _already_applied(
        self, drafts: Sequence[Draft]
    ) -> tuple[set[tuple[str, str, uuid.UUID]], set[tuple[str, uuid.UUID]]]:
        ids = list({s for d in drafts for s in d.sources})
        if not ids:
            return set(), set()
        rows = self.db.execute(
            text(
                "SELECT type, key, kind, unnest(source_event_ids) FROM memories "
                "WHERE source_event_ids && CAST(:ids AS uuid[])"
            ),
            {"ids": ids},
        ).all()
        wanted = set(ids)
        by_key = {(t, k, e) for t, k, _, e in rows if e in wanted}
        by_type = {(t, e) for t, _, kind, e in rows if e in wanted and kind == "observation"}
        return by_key, by_type

    def apply(self, drafts: Sequence[Draft]) -> Applied:
        """Consolidate the drafts of a batch into the store, in order."""
        result = Applied()
        by_key, by_type = self._already_applied(drafts)
        metrics: dict[str, Draft] = {}
        for draft in drafts:
            if draft.kind == "metrics":
                # Only the latest snapshot of each post in the batch matters.
                current = metrics.get(draft.key)
                if current is None or draft.valid_from >= current.valid_from:
                    metrics[draft.key] = draft
                continue
            kind = draft.type.value
            if all((kind, draft.key, s) in by_key for s in draft.sources) or (
                draft.kind == "observation" and all((kind, s) in by_type for s in draft.sources)
            ):
                result.skipped += 1
                continue
            {
                "observation": self._observe,
                "fact": self._fact,
                "state": self._state,
                "insight": self._insight,
            }[draft.kind](draft, result)
            for source in draft.sources:
                by_key.add((kind, draft.key, source))
        self._apply_metrics(list(metrics.values()), result)
        self.db.flush()
        return result

    def _new(self, draft: Draft, **overrides: object) -> Memory:
        memory = Memory(
            id=uuid.uuid4(),
            type=draft.type,
            kind=draft.kind,
            key=draft.key,
            text=draft.text,
            search_text=draft.search_text,
            context_text=draft.surroundings,
            attributes=draft.attributes,
            content_hash=content_hash(draft.embed_text),
            importance=draft.importance,
            strength=1.0,
            creator_id=draft.creator_id,
            brand_id=draft.brand_id,
            campaign_id=draft.campaign_id,
            source_event_ids=list(dict.fromkeys(draft.sources)),
            valid_from=draft.valid_from,
            recorded_at=utcnow(),
            status=MemoryStatus.ACTIVE,
            access_count=0,
        )
        for name, value in overrides.items():
            setattr(memory, name, value)
        self.db.add(memory)
        return memory

    def _merge(self, memory: Memory, draft: Draft) -> None:
        memory.source_event_ids = list(dict.fromkeys([*memory.source_event_ids, *draft.sources]))
        memory.importance = max(memory.importance, draft.importance)

    def _observe(self, draft: Draft, result: Applied) -> None:
        twin = self.db.scalar(
            select(Memory).where(
                Memory.type == draft.type,
                Memory.content_hash == content_hash(draft.embed_text),
                Memory.status == MemoryStatus.ACTIVE,
                _same(Memory.creator_id, draft.creator_id),
                _same(Memory.brand_id, draft.brand_id),
                _same(Memory.campaign_id, draft.campaign_id),
            )
        )
        if twin is not None:
            self._merge(twin, draft)
            result.merged += 1
        else:
            result.created.append(self._new(draft))

    def _fact(self, draft: Draft, result: Applied) -> None:
        current = self.db.scalar(
            select(Memory)
            .where(
                Memory.key == draft.key,
                _same(Memory.creator_id, draft.creator_id),
                Memory.valid_to.is_(None),
                Memory.status != MemoryStatus.SUPERSEDED,
            )
            .with_for_update()
        )
        if current is None:
            result.created.append(self._new(draft))
            return
        if current.attributes.get("value", "").casefold() == draft.value:
            self._merge(current, draft)
            result.merged += 1
            return
        if draft.valid_from < current.valid_from:
            # An older statement arriving late: it held until the current one began.
            result.created.append(
                self._new(draft, valid_to=current.valid_from, status=MemoryStatus.SUPERSEDED, superseded_at=utcnow())
            )
            return
        fresh = self._new(draft)
        self._close(current, fresh)
        result.created.append(fresh)
        result.superseded += 1

    def _close(self, old: Memory, new: Memory) -> None:
        old.valid_to = new.valid_from
        old.superseded_at = utcnow()
        old.superseded_by = new.id
        old.status = MemoryStatus.SUPERSEDED

    def _state(self, draft: Draft, result: Applied) -> None:
        existing = self.db.scalar(
            select(Memory).where(Memory.key == draft.key, _same(Memory.creator_id, draft.creator_id))
        )
        if existing is None:
            result.created.append(self._new(draft))
        else:
            existing.attributes = {**draft.attributes, **existing.attributes}
            self._merge(existing, draft)
            result.updated += 1

    def _insight(self, draft: Draft, result: Applied) -> None:
        current = self.db.scalar(
            select(Memory).where(
                Memory.key == draft.key,
                _same(Memory.creator_id, draft.creator_id),
                Memory.status == MemoryStatus.ACTIVE,
            )
        )
        if current is not None and current.text == draft.text:
            self._merge(current, draft)
            result.merged += 1
            return
        fresh = self._new(draft)
        if current is not None:
            self._close(current, fresh)
            result.superseded += 1
        result.created.append(fresh)

    def _apply_metrics(self, drafts: list[Draft], result: Applied) -> None:
        if not drafts:
            return
        rows = self.db.scalars(
            select(Memory).where(Memory.key.in_([d.key for d in drafts]), Memory.kind == "state")
        ).all()
        by_key = {m.key: m for m in rows}
        for draft in drafts:
            memory = by_key.get(draft.key)
            seen = memory.attributes.get("captured_at") if memory is not None else None
            if memory is None or (seen is not None and seen >= draft.attributes["captured_at"]):
                continue
            memory.attributes = {**memory.attributes, **draft.attributes}
            # A post that engages well is worth remembering.
            memory.importance = round(min(1.0, 0.3 + 5 * float(draft.attributes["engagement_rate"])), 3)
            result.updated += 1

    # -- embeddings -----------------------------------------------------------------------

    def embed(self, memories: Sequence[Memory], embedder: CachedEmbedder | None) -> int:
        """Give memories their embeddings; on failure leave them for `embed_pending`. Returns how
        many were embedded."""
        if embedder is None or not memories or not vectors_enabled(self.db):
            return 0
        self.db.flush()
        try:
            embeddings = embedder.embed_with(self.db, [embedding_text(m.search_text, m.context_text) for m in memories])
        except Exception as exc:  # the embedder is optional to memory: full text still finds it
            log.warning("embedding_failed", memories=len(memories), error=str(exc))
            return 0
        from veri.memory.embeddings import vector_literal

        self.db.execute(
            text("UPDATE memories SET embedding = CAST(:embedding AS vector) WHERE id = :id"),
            [{"id": m.id, "embedding": vector_literal(v)} for m, v in zip(memories, embeddings, strict=True)],
        )
        return len(memories)

    def unembedded(self, limit: int) -> list[Memory]:
        return list(
            self.db.scalars(
                select(Memory)
                .where(Memory.embedding.is_(None), Memory.kind != "metrics")
                .order_by(Memory.recorded_at)
                .limit(limit)
            ).all()
        )

    # -- reflection bookkeeping -----------------------------------------------------------

    def accumulate_importance(self, memories: Iterable[Memory]) -> list[uuid.UUID]:
        """Add new memories' importance to their creators' tallies; return the creators whose
        tally now calls for reflection."""
        totals: dict[uuid.UUID, float] = defaultdict(float)
        for memory in memories:
            if memory.creator_id is not None and memory.kind != "insight":
                totals[memory.creator_id] += memory.importance
        if not totals:
            return []
        insert = pg_insert(MemorySubjectState).values(
            [{"creator_id": c, "pending_importance": v} for c, v in totals.items()]
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[MemorySubjectState.creator_id],
            set_={"pending_importance": MemorySubjectState.pending_importance + insert.excluded.pending_importance},
        ).returning(MemorySubjectState.creator_id, MemorySubjectState.pending_importance)
        return [c for c, pending in self.db.execute(upsert) if pending >= REFLECTION_THRESHOLD]

    def reflected(self, creator_id: uuid.UUID, at: datetime) -> None:
        self.db.execute(
            update(MemorySubjectState)
            .where(MemorySubjectState.creator_id == creator_id)
            .values(pending_importance=0.0, reflected_at=at)
        )

    def reset(self) -> None:
        self.db.execute(text("DELETE FROM memories"))
        self.db.execute(text("DELETE FROM memory_subject_state"))

    def count(self, **filters: object) -> int:
        statement = select(func.count()).select_from(Memory)
        for name, value in filters.items():
            statement = statement.where(getattr(Memory, name) == value)
        return int(self.db.scalar(statement) or 0)


_VECTORS: dict[str, bool] = {}


def vectors_enabled(db: Session) -> bool:
    """Whether this database has pgvector (asked once per database)."""
    url = str(db.get_bind().engine.url)
    if url not in _VECTORS:
        _VECTORS[url] = bool(db.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'")))
    return _VECTORS[url]


# Sum of new importance for a creator that triggers reflection (four or five meaningful memories).
REFLECTION_THRESHOLD = 3.0


def _same(column: InstrumentedAttribute[uuid.UUID | None], value: uuid.UUID | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value
