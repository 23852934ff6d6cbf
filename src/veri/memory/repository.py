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
from sqlalchemy import ColumnElement, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

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
        """Consolidate the drafts of a batch into the store, in order. The memories they may join
        are read in one query; new ones are written in one flush (`embed_and_write`), so a batch
        costs a few round trips however many drafts it has. A creator's events are consumed by
        one worker at a time (their partition's lease), so no other writer consolidates them."""
        result = Applied()
        by_key, by_type = self._already_applied(drafts)
        metrics: dict[str, Draft] = {}
        live = [d for d in drafts if d.kind != "metrics"]
        with self.db.no_autoflush:
            self._index(live)
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
        return result

    def _index(self, drafts: Sequence[Draft]) -> None:
        """Load the memories these drafts may merge into or supersede."""
        self._twins: dict[tuple[object, ...], Memory] = {}
        self._current: dict[tuple[object, ...], Memory] = {}
        hashes = list({content_hash(d.embed_text) for d in drafts if d.kind == "observation"})
        keys = list({d.key for d in drafts if d.kind != "observation"})
        if not hashes and not keys:
            return
        # Keys like "fact:location" are every creator's: only these drafts' creators matter.
        creators = {d.creator_id for d in drafts if d.kind != "observation"}
        of_these_creators: ColumnElement[bool] = Memory.creator_id.in_([c for c in creators if c is not None])
        if None in creators:
            of_these_creators = of_these_creators | Memory.creator_id.is_(None)
        rows = self.db.scalars(
            select(Memory).where(
                (
                    Memory.content_hash.in_(hashes)
                    & (Memory.kind == "observation")
                    & (Memory.status == MemoryStatus.ACTIVE)
                )
                | (
                    Memory.key.in_(keys)
                    & of_these_creators
                    & (Memory.kind != "observation")
                    & Memory.valid_to.is_(None)
                    & (Memory.status != MemoryStatus.SUPERSEDED)
                )
            )
        ).all()
        for memory in rows:
            self._remember(memory)

    def _remember(self, memory: Memory) -> None:
        if memory.kind == "observation":
            self._twins[
                _twin_key(memory.type, memory.content_hash, memory.creator_id, memory.brand_id, memory.campaign_id)
            ] = memory
        else:
            self._current[(memory.kind, memory.key, memory.creator_id)] = memory

    def _new(self, draft: Draft, **overrides: object) -> Memory:
        memory = Memory(
            id=uuid.uuid4(),
            type=draft.type,
            kind=draft.kind,
            key=draft.key,
            text=draft.text,
            search_text=draft.search_text,
            context_text=draft.context_text,
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
        if memory.status is MemoryStatus.ACTIVE:
            self._remember(memory)
        return memory

    def _merge(self, memory: Memory, draft: Draft) -> None:
        memory.source_event_ids = list(dict.fromkeys([*memory.source_event_ids, *draft.sources]))
        memory.importance = max(memory.importance, draft.importance)

    def _observe(self, draft: Draft, result: Applied) -> None:
        twin = self._twins.get(
            _twin_key(draft.type, content_hash(draft.embed_text), draft.creator_id, draft.brand_id, draft.campaign_id)
        )
        if twin is not None:
            self._merge(twin, draft)
            result.merged += 1
        else:
            result.created.append(self._new(draft))

    def _fact(self, draft: Draft, result: Applied) -> None:
        current = self._current.get(("fact", draft.key, draft.creator_id))
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
        existing = self._current.get(("state", draft.key, draft.creator_id))
        if existing is None:
            result.created.append(self._new(draft))
        else:
            existing.attributes = {**draft.attributes, **existing.attributes}
            self._merge(existing, draft)
            result.updated += 1

    def _insight(self, draft: Draft, result: Applied) -> None:
        current = self._current.get(("insight", draft.key, draft.creator_id))
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
        # Posts published in this batch are not written yet: they are in the batch's index.
        by_key = {key: m for (kind, key, _), m in self._current.items() if kind == "state"}
        missing = [d.key for d in drafts if d.key not in by_key]
        if missing:
            rows = self.db.scalars(select(Memory).where(Memory.key.in_(missing), Memory.kind == "state")).all()
            by_key |= {m.key: m for m in rows}
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

    def embed_and_write(self, memories: Sequence[Memory], embedder: CachedEmbedder | None) -> int:
        """Give memories their embeddings, then write them; on failure they are written without
        (full text still finds them) and `embed_pending` retries later. Returns how many were
        embedded."""
        embedded = 0
        memories = [m for m in memories if m.kind in EMBEDDED_KINDS]
        if embedder is not None and memories and vectors_enabled(self.db):
            try:
                vectors = embedder.embed_with(
                    self.db, [embedding_text(m.search_text, m.context_text) for m in memories]
                )
            except Exception as exc:  # the embedder is optional to memory: full text still finds it
                log.warning("embedding_failed", memories=len(memories), error=str(exc))
            else:
                for memory, vector in zip(memories, vectors, strict=True):
                    memory.embedding = vector
                embedded = len(memories)
        self.db.flush()
        return embedded

    def unembedded(self, limit: int) -> list[Memory]:
        return list(
            self.db.scalars(
                select(Memory)
                .where(Memory.embedding.is_(None), Memory.kind.in_(EMBEDDED_KINDS))
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
        """The creator's tally starts again from zero (a row is made for a first reflection)."""
        statement = pg_insert(MemorySubjectState).values(creator_id=creator_id, pending_importance=0.0, reflected_at=at)
        self.db.execute(
            statement.on_conflict_do_update(
                index_elements=[MemorySubjectState.creator_id],
                set_={"pending_importance": 0.0, "reflected_at": at},
            )
        )

    def reset(self) -> None:
        self.db.execute(text("DELETE FROM memories"))
        self.db.execute(text("DELETE FROM memory_subject_state"))


# A post's own memory (kind "state": platform, format, time, metrics) is found by its words and
# numbers; what it means is in the insights reflection writes about the creator's posts, and
# those are embedded. Embedding every post would double the model's work for little recall.
EMBEDDED_KINDS = ("observation", "fact", "insight")

_VECTORS: dict[str, bool] = {}


def vectors_enabled(db: Session) -> bool:
    """Whether this database has pgvector (asked once per database)."""
    url = str(db.get_bind().engine.url)
    if url not in _VECTORS:
        _VECTORS[url] = bool(db.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'")))
    return _VECTORS[url]


# Sum of new importance for a creator that triggers reflection (four or five meaningful memories).
REFLECTION_THRESHOLD = 3.0


def _twin_key(*parts: object) -> tuple[object, ...]:
    """What makes two observations the same memory: kind, words, and whom they concern."""
    return tuple(bytes(p) if isinstance(p, bytes | memoryview) else p for p in parts)
