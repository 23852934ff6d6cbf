"""Deals API: apply or invite, then counter, accept, decline, withdraw, deliver, complete."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from veri.deals import service
from veri.deals.negotiation import Action
from veri.deals.schemas import ActionIn, DealCreate, DealOut, MessageIn, MessageOut, OfferIn
from veri.dependencies import DbSession, DocumentReadsDep
from veri.identity.deps import CurrentPrincipal
from veri.models.deals import DealStatus
from veri.pagination import Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["deals"])


@router.get("/deals", response_model=Page[DealOut])
def list_deals(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    campaign_id: uuid.UUID | None = None,
    status: DealStatus | None = None,
) -> Page[DealOut]:
    rows, total = service.list_deals(
        db,
        principal=principal,
        campaign_id=campaign_id,
        status=status,
        limit=paging.limit,
        offset=paging.offset,
    )
    items = [service.deal_out(db, principal=principal, deal=d) for d in rows]
    return Page[DealOut](items=items, total=total, **paging.model_dump())


@router.post("/deals", status_code=status.HTTP_201_CREATED, response_model=DealOut)
def create_deal(data: DealCreate, principal: CurrentPrincipal, db: DbSession) -> DealOut:
    deal = service.create_deal(db, principal=principal, data=data)
    return service.deal_out(db, principal=principal, deal=deal, with_offers=True)


@router.get("/deals/{deal_id}", response_model=DealOut)
def get_deal(deal_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> DealOut:
    deal = service.get_deal(db, principal=principal, deal_id=deal_id)
    return service.deal_out(db, principal=principal, deal=deal, with_offers=True)


@router.get("/deals/{deal_id}/messages", response_model=list[MessageOut])
def list_messages(
    deal_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, reads: DocumentReadsDep
) -> list[MessageOut]:
    return service.thread_messages(db, principal=principal, deal_id=deal_id, reads=reads)


@router.post("/deals/{deal_id}/messages", status_code=status.HTTP_201_CREATED, response_model=MessageOut)
def post_message(deal_id: uuid.UUID, data: MessageIn, principal: CurrentPrincipal, db: DbSession) -> object:
    """Write in the deal's thread (the creator or the brand)."""
    return service.post_message(db, principal=principal, deal_id=deal_id, body=data.body)


@router.post("/deals/{deal_id}/counter", response_model=DealOut)
def counter_offer(deal_id: uuid.UUID, data: OfferIn, principal: CurrentPrincipal, db: DbSession) -> DealOut:
    deal = service.act_on_deal(db, principal=principal, deal_id=deal_id, action=Action.COUNTER, offer=data)
    return service.deal_out(db, principal=principal, deal=deal, with_offers=True)


@router.post("/deals/{deal_id}/{action}", response_model=DealOut)
def act_on_deal(
    deal_id: uuid.UUID,
    action: Action,
    principal: CurrentPrincipal,
    db: DbSession,
    data: ActionIn | None = None,
) -> DealOut:
    deal = service.act_on_deal(
        db,
        principal=principal,
        deal_id=deal_id,
        action=action,
        message=data.message if data else "",
    )
    return service.deal_out(db, principal=principal, deal=deal, with_offers=True)
