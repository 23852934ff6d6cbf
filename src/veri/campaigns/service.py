"""Campaigns and their lifecycle. Visibility: a brand sees its own campaigns in every state,
creators see open and active ones, admins see all. Only the owning brand (or an admin)
changes a campaign."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session

from veri.brands.service import get_brand
from veri.campaigns import lifecycle
from veri.campaigns.repository import CampaignRepository
from veri.campaigns.schemas import CampaignIn, CampaignUpdate
from veri.errors import Conflict, Forbidden, NotFound
from veri.events.service import emit
from veri.events.types import CampaignCreated, CampaignStatusChanged, CampaignUpdated
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.models.campaigns import Campaign, CampaignStatus

__all__ = [
    "CampaignSummary",
    "campaign_summaries",
    "count_by_status",
    "create_campaign",
    "get_campaign",
    "list_campaigns",
    "transition_campaign",
    "update_campaign",
]

log = structlog.get_logger(__name__)


def _visible(principal: Principal, campaign: Campaign) -> bool:
    if principal.is_admin:
        return True
    if principal.role is Role.BRAND:
        return campaign.brand_id == principal.brand_id
    return campaign.status in lifecycle.PUBLIC


def get_campaign(db: Session, *, principal: Principal, campaign_id: uuid.UUID, for_update: bool = False) -> Campaign:
    campaign = CampaignRepository(db).get(campaign_id, for_update=for_update)
    if campaign is None or not _visible(principal, campaign):
        raise NotFound("no such campaign")
    return campaign


def _managed_campaign(db: Session, *, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    if principal.role is Role.CREATOR:
        raise Forbidden("only the campaign's brand can change it")
    return get_campaign(db, principal=principal, campaign_id=campaign_id, for_update=True)


def count_by_status(db: Session, *, principal: Principal) -> dict[CampaignStatus, int]:
    """How many campaigns are in each status: a brand's own, or every brand's for an admin."""
    if principal.role is Role.BRAND:
        return CampaignRepository(db).count_by_status(principal.brand_id)
    if principal.is_admin:
        return CampaignRepository(db).count_by_status(None)
    raise Forbidden("only brands and admins see campaign counts")


def list_campaigns(
    db: Session,
    *,
    principal: Principal,
    status: CampaignStatus | None = None,
    niche: str | None = None,
    platform: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Campaign], int]:
    brand_id = principal.brand_id if principal.role is Role.BRAND else None
    statuses: set[CampaignStatus] | None = None
    if principal.role is Role.CREATOR:
        statuses = set(lifecycle.PUBLIC)
    if status is not None:
        statuses = {status} & statuses if statuses is not None else {status}
    if principal.role is Role.BRAND and brand_id is None:
        return [], 0
    return CampaignRepository(db).search(
        brand_id=brand_id,
        statuses=statuses,
        niche=niche,
        platform=platform,
        query=query,
        limit=limit,
        offset=offset,
    )


def create_campaign(db: Session, *, principal: Principal, data: CampaignIn) -> Campaign:
    if principal.role is not Role.BRAND or principal.brand_id is None:
        raise Forbidden("only brand accounts open campaigns")
    campaign = Campaign(
        brand_id=principal.brand_id,
        title=data.title,
        brief=data.brief,
        budget_cents=data.budget_cents,
        currency=data.currency,
        niches=data.niches,
        platforms=[p.value for p in data.platforms],
        deliverables=[d.model_dump(mode="json") for d in data.deliverables],
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        status=CampaignStatus.DRAFT,
    )
    db.add(campaign)
    db.flush()
    emit(
        db,
        CampaignCreated(
            campaign_id=campaign.id,
            brand_id=campaign.brand_id,
            brand_name=get_brand(db, brand_id=campaign.brand_id).name,
            title=campaign.title,
            budget_cents=campaign.budget_cents,
            currency=campaign.currency,
            niches=list(campaign.niches),
            platforms=list(campaign.platforms),
        ),
        subject=f"campaign:{campaign.id}",
        actor=principal.actor,
    )
    log.info("campaign_created", campaign_id=str(campaign.id), brand_id=str(campaign.brand_id))
    return get_campaign(db, principal=principal, campaign_id=campaign.id)


def update_campaign(db: Session, *, principal: Principal, campaign_id: uuid.UUID, changes: CampaignUpdate) -> Campaign:
    campaign = _managed_campaign(db, principal=principal, campaign_id=campaign_id)
    if campaign.status not in lifecycle.EDITABLE:
        raise Conflict(
            f"a campaign that is {campaign.status.value} can no longer be edited",
            detail={"status": campaign.status.value},
        )
    values = changes.model_dump(exclude_unset=True)
    for field, value in values.items():
        setattr(campaign, field, value)
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise Conflict("ends_on must not be before starts_on")
    db.flush()
    if values:
        emit(
            db,
            CampaignUpdated(campaign_id=campaign.id, brand_id=campaign.brand_id, fields=sorted(values)),
            subject=f"campaign:{campaign.id}",
            actor=principal.actor,
        )
    return campaign


def transition_campaign(db: Session, *, principal: Principal, campaign_id: uuid.UUID, to: CampaignStatus) -> Campaign:
    campaign = _managed_campaign(db, principal=principal, campaign_id=campaign_id)
    if not lifecycle.can_transition(campaign.status, to):
        allowed = [s.value for s in lifecycle.allowed_transitions(campaign.status)]
        raise Conflict(
            f"a campaign cannot go from {campaign.status.value} to {to.value}",
            detail={"status": campaign.status.value, "allowed": allowed},
        )
    previous = campaign.status
    campaign.status = to
    db.flush()
    emit(
        db,
        CampaignStatusChanged(
            campaign_id=campaign.id,
            brand_id=campaign.brand_id,
            from_status=previous.value,
            to_status=to.value,
        ),
        subject=f"campaign:{campaign.id}",
        actor=principal.actor,
    )
    log.info(
        "campaign_transitioned",
        campaign_id=str(campaign.id),
        **{"from": previous.value, "to": to.value},
    )
    return campaign


@dataclass(frozen=True)
class CampaignSummary:
    title: str
    currency: str
    brand_id: uuid.UUID
    brand_name: str


def campaign_summaries(db: Session, *, campaign_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CampaignSummary]:
    """Title, currency and brand of campaigns the caller already knows the viewer may see (money
    statements name the campaigns of the viewer's own deals, whatever their state now)."""
    return {
        c.id: CampaignSummary(title=c.title, currency=c.currency, brand_id=c.brand_id, brand_name=c.brand.name)
        for c in CampaignRepository(db).by_ids(set(campaign_ids))
    }
