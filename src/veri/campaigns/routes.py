"""Campaigns API, with the lifecycle transitions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from veri.campaigns import lifecycle, service
from veri.campaigns.schemas import CampaignIn, CampaignOut, CampaignTransitionIn, CampaignUpdate
from veri.dependencies import DbSession
from veri.identity.deps import CurrentPrincipal
from veri.models.campaigns import Campaign, CampaignStatus
from veri.models.creators import Platform
from veri.pagination import Page, Paging

__all__ = ["campaign_out", "router"]

router = APIRouter(prefix="/api/v1", tags=["campaigns"])


def campaign_out(campaign: Campaign) -> CampaignOut:
    out = CampaignOut.model_validate(campaign)
    out.allowed_transitions = list(lifecycle.allowed_transitions(campaign.status))
    return out


@router.get("/campaigns", response_model=Page[CampaignOut])
def list_campaigns(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    status: CampaignStatus | None = None,
    niche: Annotated[str | None, Query(max_length=40)] = None,
    platform: Platform | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> object:
    rows, total = service.list_campaigns(
        db,
        principal=principal,
        status=status,
        niche=niche,
        platform=platform.value if platform else None,
        query=q,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[CampaignOut](items=[campaign_out(c) for c in rows], total=total, **paging.model_dump())


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, response_model=CampaignOut)
def create_campaign(data: CampaignIn, principal: CurrentPrincipal, db: DbSession) -> CampaignOut:
    return campaign_out(service.create_campaign(db, principal=principal, data=data))


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> CampaignOut:
    return campaign_out(service.get_campaign(db, principal=principal, campaign_id=campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
def update_campaign(
    campaign_id: uuid.UUID, changes: CampaignUpdate, principal: CurrentPrincipal, db: DbSession
) -> CampaignOut:
    return campaign_out(service.update_campaign(db, principal=principal, campaign_id=campaign_id, changes=changes))


@router.post("/campaigns/{campaign_id}/transition", response_model=CampaignOut)
def transition_campaign(
    campaign_id: uuid.UUID, data: CampaignTransitionIn, principal: CurrentPrincipal, db: DbSession
) -> CampaignOut:
    return campaign_out(service.transition_campaign(db, principal=principal, campaign_id=campaign_id, to=data.to))
