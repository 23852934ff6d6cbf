"""Brands API."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from veri.brands import service
from veri.brands.schemas import BrandOut, BrandUpdate
from veri.dependencies import DbSession
from veri.identity.deps import BrandPrincipal, CurrentPrincipal
from veri.models.brands import Brand
from veri.pagination import Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["brands"])


@router.get("/brands", response_model=Page[BrandOut])
def list_brands(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    category: Annotated[str | None, Query(max_length=60)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> object:
    rows, total = service.list_brands(db, category=category, query=q, limit=paging.limit, offset=paging.offset)
    return Page[BrandOut](items=[BrandOut.model_validate(b) for b in rows], total=total, **paging.model_dump())


@router.get("/brands/me", response_model=BrandOut)
def my_brand(principal: BrandPrincipal, db: DbSession) -> Brand:
    return service.own_brand(db, principal=principal)


@router.patch("/brands/me", response_model=BrandOut)
def update_my_brand(changes: BrandUpdate, principal: BrandPrincipal, db: DbSession) -> Brand:
    return service.update_brand(db, principal=principal, changes=changes)


@router.get("/brands/{brand_id}", response_model=BrandOut)
def get_brand(brand_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Brand:
    return service.get_brand(db, brand_id=brand_id)
