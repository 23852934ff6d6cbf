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
from sqlalchemy import ColumnElement, func, select, text, update
from sqlalchemy.orm import Session

from veri.config import Settings
from veri.db.engine import Database
from veri.db.paging import fetch_page
from veri.errors import Forbidden, NotFound
from veri.events.outbox import LogRecord, stored_events
from veri.flags import Flag, is_enabled
from veri.identity.principal import Principal
from veri.memory.decay import DecayResult, decay
from veri.memory.embeddings import CachedEmbedder, Embedder, get_embedder
from veri.memory.reflection import reflect
from veri.memory.repository import MemoryRepository
from veri.memory.retrieval import Hit, SearchQuery, search
from veri.models.base import utcnow
from veri.models.memory import Memory, MemoryStatus, MemoryType

__all__ = [
    "MemoryDetail",
    "get_memory",
    "memory_chores",
    "reflect_creators",
    "run_decay",
    "search_memories",
    "timeline",
]

log = structlog.get_logger(__name__)


def _visible(principal: Principal) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    scope = principal.owned_scope()
    if scope is None:
        raise Forbidden("only creators, brands and admins have memories")
    return scope


def _limited_to(principal: Principal | None, creator_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    """Conditions for what `principal` may see (all for None), and only `creator_id`'s when given."""
    conditions: list[ColumnElement[bool]] = []
    creator, brand = _visible(principal) if principal is not None else (None, None)
    for column, value in ((Memory.creator_id, creator), (Memory.brand_id, brand), (Memory.creator_id, creator_id)):
        if value is not None:
            conditions.append(column == value)
    return conditions


def _check(principal: Principal, memory: Memory) -> None:
    creator, brand = _visible(principal)
    if (creator is not None and memory.creator_id != creator) or (brand is not None and memory.brand_id != brand):
        raise NotFound("memory")


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
        hybrid=is_enabled(Flag.HYBRID_SEARCH) if hybrid is None else hybrid,
        use_strength=is_enabled(Flag.MEMORY_DECAY),
        now=now,
    )
    if hits and record_access:
        db.execute(
            update(Memory)
            .where(Memory.id.in_([h.memory.id for h in hits]))
            .values(access_count=Memory.access_count + 1, last_accessed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return hits


@dataclass
class MemoryDetail:
    memory: Memory
    # Every version of the same fact or insight, oldest first (just this one for observations).
    history: list[Memory]
    sources: list[LogRecord]


def get_memory(db: Session, memory_id: uuid.UUID, *, principal: Principal | None) -> MemoryDetail:
    memory = db.get(Memory, memory_id)
    if memory is None:
        raise NotFound("memory")
    if principal is not None:
        _check(principal, memory)
    history = [memory]
    if memory.kind in {"fact", "insight"}:
        statement = select(Memory).where(Memory.key == memory.key, Memory.type == memory.type)
        statement = statement.where(
            Memory.creator_id == memory.creator_id if memory.creator_id else Memory.creator_id.is_(None)
        )
        history = list(db.scalars(statement.order_by(Memory.valid_from, Memory.recorded_at)).all())
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
    statement = select(Memory).where(Memory.kind != "metrics", *_limited_to(principal, creator_id))
    if types:
        statement = statement.where(Memory.type.in_(types))
    if as_of is not None:
        # World time, as in retrieval: what held then.
        statement = statement.where(
            Memory.valid_from <= as_of,
            (Memory.valid_to.is_(None)) | (Memory.valid_to > as_of),
            Memory.status != MemoryStatus.ARCHIVED if not include_archived else Memory.status.is_not(None),
        )
    else:
        statuses = [MemoryStatus.ACTIVE, MemoryStatus.ARCHIVED] if include_archived else [MemoryStatus.ACTIVE]
        statement = statement.where(Memory.status.in_(statuses))
    return fetch_page(db, statement, order_by=(Memory.valid_from.desc(), Memory.id), limit=limit, offset=offset)


def time_range(
    db: Session, *, principal: Principal | None, creator_id: uuid.UUID | None = None
) -> tuple[datetime | None, datetime | None]:
    """The first and last moment of the memories the caller may see (the explorer's slider)."""
    statement = select(func.min(Memory.valid_from), func.max(Memory.valid_from))
    first, last = db.execute(statement.where(*_limited_to(principal, creator_id))).one()
    return first, last


def run_decay(database: Database, *, now: datetime | None = None) -> DecayResult:
    with database.transaction() as db:
        return decay(db, now=now)


def reflect_creators(database: Database, embedder: Embedder | None, creator_id: uuid.UUID | None = None) -> int:
    """Reflect now for one creator, or for every creator with memories; returns insights written."""
    with database.sessions() as db:
        creators = (
            [creator_id]
            if creator_id
            else list(db.scalars(select(Memory.creator_id).where(Memory.creator_id.is_not(None)).distinct()))
        )
    cached = CachedEmbedder(embedder) if embedder is not None else None
    written = 0
    for one in creators:
        assert one is not None
        with database.transaction() as db:
            written += reflect(db, one, embedder=cached)
    return written


def embed_pending(database: Database, embedder: Embedder | None, *, limit: int = 512) -> int:
    """Embed memories whose embedding failed at formation."""
    if embedder is None:
        return 0
    with database.transaction() as db:
        repo = MemoryRepository(db)
        return repo.embed_and_write(repo.unembedded(limit), CachedEmbedder(embedder))


def refresh_lexeme_statistics(database: Database) -> float:
    """Recount every lexeme's document frequency (BM25 over the whole store); returns seconds."""
    started = time.perf_counter()
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("REFRESH MATERIALIZED VIEW CONCURRENTLY memory_lexeme_stats"))
    return time.perf_counter() - started


_statistics_refreshed: dict[str, float] = {}  # database URL -> monotonic time


def memory_chores(database: Database, settings: Settings) -> None:
    """The worker's periodic memory work."""
    embedded = embed_pending(database, get_embedder(settings.memory.embedder))
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
