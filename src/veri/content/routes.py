"""Content API: content items and their metric snapshots."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from veri.content import service
from veri.content.schemas import ContentIn, ContentOut, MetricsIn, MetricsOut
from veri.dependencies import DbSession
from veri.identity.deps import CreatorPrincipal, CurrentPrincipal
from veri.models.creators import Platform
from veri.pagination import Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["content"])


@router.get("/content", response_model=Page[ContentOut])
def list_content(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    platform: Platform | None = None,
    deal_id: uuid.UUID | None = None,
) -> Page[ContentOut]:
    rows, total = service.list_content(
        db,
        principal=principal,
        platform=platform.value if platform else None,
        deal_id=deal_id,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[ContentOut](items=service.content_out(db, items=rows), total=total, **paging.model_dump())


@router.post("/content", status_code=status.HTTP_201_CREATED, response_model=ContentOut)
def add_content(data: ContentIn, principal: CreatorPrincipal, db: DbSession) -> ContentOut:
    content = service.add_content(db, principal=principal, data=data)
    return service.content_out(db, items=[content])[0]


@router.get("/content/{content_id}", response_model=ContentOut)
def get_content(content_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> ContentOut:
    content = service.get_content(db, principal=principal, content_id=content_id)
    return service.content_out(db, items=[content])[0]


@router.get("/content/{content_id}/metrics", response_model=list[MetricsOut])
def list_metrics(content_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> object:
    return service.list_metrics(db, principal=principal, content_id=content_id)


@router.post("/content/{content_id}/metrics", status_code=status.HTTP_201_CREATED, response_model=MetricsOut)
def record_metrics(content_id: uuid.UUID, data: MetricsIn, principal: CurrentPrincipal, db: DbSession) -> object:
    return service.record_metrics(db, principal=principal, content_id=content_id, data=data)
