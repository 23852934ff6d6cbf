"""The memory explorer: search box, type filters, a timeline chart and an "as of" slider; and a
memory's page with its validity history and the events it came from."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from veri.creators import service as creator_service
from veri.dependencies import DbSession
from veri.fields import Moment
from veri.identity.deps import CurrentPrincipal
from veri.memory import service
from veri.memory.retrieval import SearchQuery
from veri.memory.schemas import MemoryOut
from veri.models.creators import Creator
from veri.models.memory import MemoryType
from veri.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/memories", response_class=HTMLResponse)
def explorer(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    q: Annotated[str, Query(max_length=2000)] = "",
    type: Annotated[list[MemoryType] | None, Query()] = None,
    creator_id: uuid.UUID | None = None,
    as_of: Moment | None = None,
) -> Response:
    types = type or []
    hits = []
    if q.strip():
        hits = service.search_memories(
            db,
            SearchQuery(q, creator_id=creator_id, types=types or None, as_of=as_of, limit=20),
            principal=principal,
            embedder=request.app.state.embedder,
        )
    timeline, total = service.timeline(
        db, principal=principal, creator_id=creator_id, types=types or None, as_of=as_of, limit=300
    )
    first, last = service.time_range(db, principal=principal, creator_id=creator_id)
    creators: list[Creator] = []
    if principal.is_admin:
        creators, _ = creator_service.list_creators(db, principal=principal, limit=200)
    return render(
        request,
        "memories.html",
        principal,
        q=q,
        hits=hits,
        timeline=timeline,
        total=total,
        types=list(MemoryType),
        selected_types={t.value for t in types},
        creators=creators,
        creator_id=creator_id,
        as_of=as_of,
        first_day=first.date().isoformat() if first else None,
        last_day=last.date().isoformat() if last else None,
        hybrid=service.hybrid_search_enabled(request.app.state.embedder),
        chart=[
            {
                "id": str(m.id),
                "type": m.type.value,
                "at": m.valid_from.isoformat(),
                "text": m.text[:140],
                "importance": m.importance,
            }
            for m in timeline
        ],
        end_of_day=time(23, 59, 59),
    )


@router.get("/memories/{memory_id}", response_class=HTMLResponse)
def memory_page(request: Request, memory_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    detail = service.get_memory(db, memory_id, principal=principal)
    return render(
        request,
        "memory_detail.html",
        principal,
        memory=MemoryOut.of(detail.memory),
        history=[MemoryOut.of(m) for m in detail.history],
        sources=detail.sources,
    )
