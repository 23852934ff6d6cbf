"""Memory API: search, a creator's timeline, a memory with its sources and validity history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from veri.dependencies import DbSession
from veri.fields import Moment
from veri.identity.deps import CurrentPrincipal
from veri.memory import service
from veri.memory.retrieval import SearchQuery
from veri.memory.schemas import HitOut, MemoryDetailOut, MemoryOut, SearchOut, SourceOut
from veri.models.memory import MemoryType
from veri.pagination import Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["memory"])

Types = Annotated[list[MemoryType] | None, Query(alias="type", description="Memory types; repeat for several.")]


@router.get("/memories/search", response_model=SearchOut)
def search_memories(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The question, in plain words.")],
    types: Types = None,
    creator_id: uuid.UUID | None = None,
    brand_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
    since: Moment | None = None,
    until: Moment | None = None,
    as_of: Annotated[Moment | None, Query(description="What was known and held true at this time.")] = None,
    include_archived: bool = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> SearchOut:
    """The memories that best answer `q`, each with its provenance and score breakdown.
    Full-text search, fused with vector search when HYBRID_SEARCH is on; a time named in the
    question ("in May", "last week") boosts memories of that time."""
    hybrid = service.hybrid_search_enabled(request.app.state.embedder)
    hits = service.search_memories(
        db,
        SearchQuery(
            q,
            creator_id=creator_id,
            brand_id=brand_id,
            campaign_id=campaign_id,
            types=types,
            since=since,
            until=until,
            as_of=as_of,
            include_archived=include_archived,
            limit=limit,
        ),
        principal=principal,
        embedder=request.app.state.embedder,
        hybrid=hybrid,
    )
    return SearchOut(
        query=q,
        mode="hybrid" if hybrid else "fulltext",
        hits=[HitOut(memory=MemoryOut.of(h.memory), score=h.score, breakdown=h.breakdown) for h in hits],
    )


def _timeline_page(
    db: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    *,
    types: Types,
    creator_id: uuid.UUID | None,
    as_of: datetime | None,
    include_archived: bool,
) -> Page[MemoryOut]:
    rows, total = service.timeline(
        db,
        principal=principal,
        creator_id=creator_id,
        types=types,
        as_of=as_of,
        include_archived=include_archived,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[MemoryOut](items=[MemoryOut.of(m) for m in rows], total=total, **paging.model_dump())


@router.get("/memories", response_model=Page[MemoryOut])
def list_memories(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    types: Types = None,
    creator_id: uuid.UUID | None = None,
    as_of: Moment | None = None,
    include_archived: bool = False,
) -> Page[MemoryOut]:
    """Memories newest first: a timeline, as it stood `as_of` a time when given."""
    return _timeline_page(
        db, principal, paging, types=types, creator_id=creator_id, as_of=as_of, include_archived=include_archived
    )


@router.get("/creators/{creator_id}/memories", response_model=Page[MemoryOut])
def creator_timeline(
    creator_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    types: Types = None,
    as_of: Moment | None = None,
    include_archived: bool = False,
) -> Page[MemoryOut]:
    """A creator's memory timeline (only what the caller may see of it)."""
    return _timeline_page(
        db, principal, paging, types=types, creator_id=creator_id, as_of=as_of, include_archived=include_archived
    )


@router.get("/memories/{memory_id}", response_model=MemoryDetailOut)
def get_memory(memory_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> MemoryDetailOut:
    """A memory, every version of it (a fact's validity history), and the events it came from."""
    detail = service.get_memory(db, memory_id, principal=principal)
    return MemoryDetailOut(
        memory=MemoryOut.of(detail.memory),
        history=[MemoryOut.of(m) for m in detail.history],
        sources=[
            SourceOut(
                event_id=e.event_id,
                type=e.type,
                occurred_at=e.occurred_at,
                actor=e.actor,
                subject=e.subject,
                position=e.position,
            )
            for e in detail.sources
        ],
    )
