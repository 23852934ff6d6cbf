"""Memory as the rest of Veri uses it: search, a memory with its sources and history, a
creator's timeline, and the chores (decay, reflection, embedding what failed to embed).

Who sees what: an admin every memory; a creator the memories about them; a brand the memories
about its own dealings. Everyone else nothing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from veri.config import Settings
from veri.db.engine import Database
from veri.errors import Forbidden, NotFound
from veri.events.outbox import LogRecord, stored_events
from veri.flags import Flag, is_enabled
from veri.identity.principal import Principal
from veri.memory import store
from veri.memory.changes import announce, announced
from veri.memory.decay import DecayResult
from veri.memory.embeddings import CachedEmbedder, Embedder
from veri.memory.reflection import reflect
from veri.memory.retrieval import Hit, SearchQuery, search
from veri.memory.store import OutcomeRow
from veri.models.base import utcnow
from veri.models.memory import Memory, MemoryType

__all__ = [
    "MemoryDetail",
    "OutcomeRow",
    "deals_at_stage",
    "embed_pending",
    "fact_history",
    "get_memory",
    "hybrid_search_enabled",
    "memory_chores",
    "outcomes",
    "reflect_creators",
    "refresh_lexeme_statistics",
    "remembered_runs",
    "run_decay",
    "search_memories",
    "time_range",
    "timeline",
]

log = structlog.get_logger(__name__)


def _visible(principal: Principal) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    scope = principal.owned_scope()
    if scope is None:
        raise Forbidden("only creators, brands and admins have memories")
    return scope


def _visible_or_all(principal: Principal | None) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """What `principal` may see as (creator, brand), None meaning any; everything for None."""
    return _visible(principal) if principal is not None else (None, None)


def _check(principal: Principal, memory: Memory) -> None:
    creator, brand = _visible(principal)
    if (creator is not None and memory.creator_id != creator) or (brand is not None and memory.brand_id != brand):
        raise NotFound("memory")


def hybrid_search_enabled(embedder: Embedder | None, requested: bool | None = None) -> bool:
    """Whether a search fuses vector candidates: as `requested` when given, else as the
    HYBRID_SEARCH flag says; never without an embedder."""
    if embedder is None:
        return False
    return is_enabled(Flag.HYBRID_SEARCH) if requested is None else requested


def search_memories(
    db: Session,
    query: SearchQuery,
    *,
    principal: Principal | None,
    embedder: Embedder | None,
    hybrid: bool | None = None,
    now: datetime | None = None,
    record_access: bool = True,
) -> list[Hit]:
    """Search within what `principal` may see (everything for None: the CLI and evaluation).
    Each hit's access is counted: what is used stays strong under decay."""
    if principal is not None:
        query.visible_to = _visible(principal)
    hits = search(
        db,
        query,
        embedder=embedder,
        hybrid=hybrid_search_enabled(embedder, hybrid),
        use_strength=is_enabled(Flag.MEMORY_DECAY),
        now=now,
    )
    if hits and record_access:
        store.count_access(db, [h.memory.id for h in hits], utcnow())
    return hits


@dataclass
class MemoryDetail:
    memory: Memory
    # Every version of the same fact or insight, oldest first (just this one for observations).
    history: list[Memory]
    sources: list[LogRecord]


def get_memory(db: Session, memory_id: uuid.UUID, *, principal: Principal | None) -> MemoryDetail:
    memory = store.memory_by_id(db, memory_id)
    if memory is None:
        raise NotFound("memory")
    if principal is not None:
        _check(principal, memory)
    history = [memory]
    if memory.kind in {"fact", "insight"}:
        history = store.versions(db, memory)
    return MemoryDetail(memory, history, stored_events(db, memory.source_event_ids))


def timeline(
    db: Session,
    *,
    principal: Principal | None,
    creator_id: uuid.UUID | None = None,
    types: list[MemoryType] | None = None,
    as_of: datetime | None = None,
    include_archived: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Memory], int]:
    """Memories newest first (in world time), as they stood at `as_of` when given; and how many
    there are in all."""
    return store.timeline_page(
        db,
        visible=_visible_or_all(principal),
        creator_id=creator_id,
        types=types,
        as_of=as_of,
        include_archived=include_archived,
        limit=limit,
        offset=offset,
    )


def deals_at_stage(db: Session, *, stage: str, before: datetime | None = None) -> list[Memory]:
    """Remembered deals at one stage ("accepted"), oldest first (world time). For models."""
    return store.deal_stage_memories(db, stage=stage, before=before)


def outcomes(
    db: Session,
    *,
    creator_ids: list[uuid.UUID] | None = None,
    brand_ids: list[uuid.UUID] | None = None,
    before: datetime | None = None,
) -> list[OutcomeRow]:
    """Remembered campaign outcomes (return, fee, revenue, timeliness in `attributes`) of these
    creators or brands, known before `before` (world time), oldest first. For models: the caller
    decides who may see what it derives from them."""
    return store.outcome_memories(db, creator_ids=creator_ids, brand_ids=brand_ids, before=before)


def fact_history(
    db: Session, *, principal: Principal, name: str, creator_id: uuid.UUID | None = None, limit: int = 20
) -> list[Memory]:
    """The latest `limit` versions of one kind of creator fact the caller may see, oldest first."""
    return store.fact_versions(db, visible=_visible(principal), creator_id=creator_id, name=name, limit=limit)


def remembered_runs(db: Session, *, principal: Principal, kind: str, limit: int = 20) -> list[Memory]:
    """The person's latest remembered agent runs of one kind of question (workflow memory)."""
    return store.remembered_runs(db, visible=_visible(principal), kind=kind, limit=limit)


def time_range(
    db: Session, *, principal: Principal | None, creator_id: uuid.UUID | None = None
) -> tuple[datetime | None, datetime | None]:
    """The first and last moment of the memories the caller may see (the explorer's slider)."""
    return store.time_range(db, visible=_visible_or_all(principal), creator_id=creator_id)


def run_decay(database: Database, *, now: datetime | None = None) -> DecayResult:
    with database.transaction() as db:
        result, moved = store.decay_memories(db, now=now or utcnow())
        announce(db, moved)  # archived or revived: dual-write copies the new status
        return result


def reflect_creators(database: Database, embedder: Embedder | None, creator_id: uuid.UUID | None = None) -> int:
    """Reflect now for one creator, or for every creator with memories; returns insights written."""
    with database.sessions() as db:
        creators = [creator_id] if creator_id else store.creators_with_memories(db)
    cached = CachedEmbedder(embedder) if embedder is not None else None
    written = 0
    for one in creators:
        with database.transaction() as db, announced(db):
            written += reflect(db, one, embedder=cached)
    return written


def embed_pending(database: Database, embedder: Embedder | None, *, limit: int = 512) -> int:
    """Embed memories whose embedding failed at formation."""
    if embedder is None:
        return 0
    with database.transaction() as db, announced(db):
        repo = store.MemoryRepository(db)
        return repo.embed_and_write(repo.unembedded(limit), CachedEmbedder(embedder))


def refresh_lexeme_statistics(database: Database) -> float:
    """Recount every lexeme's document frequency (BM25 over the whole store); returns seconds."""
    started = time.perf_counter()
    store.refresh_lexeme_statistics(database.engine)
    return time.perf_counter() - started


_statistics_refreshed: dict[str, float] = {}  # database URL -> monotonic time


def memory_chores(database: Database, settings: Settings, embedder: Embedder | None) -> None:
    """The worker's periodic memory work, with the embedder the composition root chose."""
    embedded = embed_pending(database, embedder)
    result = run_decay(database) if is_enabled(Flag.MEMORY_DECAY) else None
    statistics_seconds = None
    last = _statistics_refreshed.get(database.url)
    if last is None or time.monotonic() - last > settings.memory.memory_statistics_seconds:
        statistics_seconds = round(refresh_lexeme_statistics(database), 2)
        _statistics_refreshed[database.url] = time.monotonic()
    log.info(
        "memory_chores",
        embedded=embedded,
        decayed=result.updated if result else None,
        archived=result.archived if result else None,
        lexeme_statistics_seconds=statistics_seconds,
    )
