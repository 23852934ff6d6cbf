"""Creators API: profiles and social accounts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from veri.creators import service
from veri.creators.schemas import CreatorOut, CreatorUpdate, SocialAccountIn, SocialAccountOut
from veri.dependencies import DbSession, DocumentReadsDep
from veri.fields import MAX_COUNT
from veri.identity.deps import CreatorPrincipal, CurrentPrincipal
from veri.models.creators import Creator, Platform
from veri.pagination import Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["creators"])


@router.get("/creators", response_model=Page[CreatorOut])
def list_creators(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    niche: Annotated[str | None, Query(max_length=40)] = None,
    platform: Platform | None = None,
    min_audience: Annotated[int | None, Query(ge=0, le=MAX_COUNT)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> object:
    rows, total = service.list_creators(
        db,
        principal=principal,
        niche=niche,
        platform=platform.value if platform else None,
        min_audience=min_audience,
        query=q,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[CreatorOut](items=[CreatorOut.model_validate(c) for c in rows], total=total, **paging.model_dump())


@router.get("/creators/me", response_model=CreatorOut)
def my_profile(principal: CreatorPrincipal, db: DbSession) -> Creator:
    return service.own_creator(db, principal=principal)


@router.patch("/creators/me", response_model=CreatorOut)
def update_my_profile(changes: CreatorUpdate, principal: CreatorPrincipal, db: DbSession) -> Creator:
    return service.update_profile(db, principal=principal, changes=changes)


@router.get("/creators/{creator_id}", response_model=CreatorOut)
def get_creator(
    creator_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, reads: DocumentReadsDep
) -> CreatorOut:
    return service.creator_profile(db, principal=principal, creator_id=creator_id, reads=reads)


@router.get("/social-accounts", response_model=list[SocialAccountOut])
def list_social_accounts(principal: CurrentPrincipal, db: DbSession) -> object:
    return service.list_social_accounts(db, principal=principal)


@router.post("/social-accounts", status_code=status.HTTP_201_CREATED, response_model=SocialAccountOut)
def add_social_account(data: SocialAccountIn, principal: CreatorPrincipal, db: DbSession) -> object:
    return service.add_social_account(db, principal=principal, data=data)


@router.delete("/social-accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_social_account(account_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> None:
    service.remove_social_account(db, principal=principal, account_id=account_id)
