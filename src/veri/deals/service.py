"""Deals between a creator and a campaign. Only the two parties see a deal (and admins);
only the parties act on it, and only as `negotiation.allowed_actions` permits."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from veri.campaigns import service as campaign_service
from veri.creators import service as creator_service
from veri.deals import notices
from veri.deals.negotiation import CLOSED, Action, allowed_actions, next_status, who_moved
from veri.deals.repository import DealRepository
from veri.deals.schemas import DealCreate, DealOut, HistoryEntry, MessageOut, OfferIn, OfferOut
from veri.errors import Conflict, Forbidden, Invalid, NotFound
from veri.events.registry import EventPayload
from veri.events.service import emit
from veri.events.types import DealCreated, DealOfferMade, DealStatusChanged, MessageSent
from veri.identity.principal import Principal
from veri.migration.shadow import DocumentReads
from veri.models.accounts import Role
from veri.models.base import utcnow
from veri.models.campaigns import CampaignStatus
from veri.models.deals import Deal, DealMessage, DealOffer, DealStatus, Party

__all__ = [
    "act_on_deal",
    "create_deal",
    "deal_out",
    "get_deal",
    "list_deals",
    "list_messages",
    "own_deal_on",
    "party_of",
    "post_message",
    "standing_for",
    "thread_messages",
]

log = structlog.get_logger(__name__)


def _refs(deal: Deal, brand_id: uuid.UUID) -> dict[str, uuid.UUID]:
    return {"deal_id": deal.id, "campaign_id": deal.campaign_id, "brand_id": brand_id, "creator_id": deal.creator_id}


def _record_message(
    db: Session, principal: Principal, deal: Deal, party: Party, body: str, at: datetime | None = None
) -> DealMessage | None:
    """Keep what a party wrote, in the deal's thread and as a `message.sent` event (at `at`
    when the message is history being brought in, else now)."""
    if not body.strip():
        return None
    message = DealMessage(deal_id=deal.id, sender=party, sender_user_id=principal.user.id, body=body)
    if at is not None:
        message.created_at = at
    db.add(message)
    db.flush()
    emit(
        db,
        MessageSent(
            message_id=message.id,
            creator_id=deal.creator_id,
            brand_id=deal.campaign.brand_id,
            deal_id=deal.id,
            campaign_id=deal.campaign_id,
            sender_role=party.value,
            sender_name=principal.user.display_name,
            text=body,
        ),
        subject=f"creator:{deal.creator_id}",
        actor=principal.actor,
        occurred_at=at,
    )
    if at is None:  # history brought in is nobody's news
        notices.message_recorded(db, deal, message)
    return message


def post_message(
    db: Session, *, principal: Principal, deal_id: uuid.UUID, body: str, at: datetime | None = None
) -> DealMessage:
    """Write in the deal's thread; `at` backdates history brought in from elsewhere (the demo's)."""
    deal = get_deal(db, principal=principal, deal_id=deal_id)
    party = party_of(principal, deal)
    if party is None:
        raise Forbidden("only the creator or the brand of this deal can write in its thread")
    if deal.status in CLOSED:
        raise Conflict(f"this deal is {deal.status.value}: its thread is closed")
    message = _record_message(db, principal, deal, party, body, at)
    if message is None:
        raise Invalid("body", "must not be blank")
    if at is None:
        notices.message_posted(db, deal, message)
    return message


def list_messages(db: Session, *, principal: Principal, deal_id: uuid.UUID) -> list[DealMessage]:
    deal = get_deal(db, principal=principal, deal_id=deal_id)
    return DealRepository(db).messages(deal.id)


def thread_messages(db: Session, *, principal: Principal, deal_id: uuid.UUID, reads: DocumentReads) -> list[MessageOut]:
    """A deal's messages through the migration's read path; only its parties (and admins) see it."""
    doc = reads.read(db, "deal_messages", deal_id, subject=deal_id)
    if doc is None:
        raise NotFound("no such deal")
    ours = (
        principal.is_admin
        or (principal.creator_id is not None and doc["creator_id"] == str(principal.creator_id))
        or (principal.brand_id is not None and doc["brand_id"] == str(principal.brand_id))
    )
    if not ours:
        raise NotFound("no such deal")
    return [MessageOut.model_validate({**m, "created_at": m["at"]}) for m in doc["messages"]]


def party_of(principal: Principal, deal: Deal) -> Party | None:
    if principal.creator_id is not None and deal.creator_id == principal.creator_id:
        return Party.CREATOR
    if principal.brand_id is not None and deal.campaign.brand_id == principal.brand_id:
        return Party.BRAND
    return None


def get_deal(db: Session, *, principal: Principal, deal_id: uuid.UUID, for_update: bool = False) -> Deal:
    deal = DealRepository(db).get(deal_id, for_update=for_update)
    if deal is None or not (principal.is_admin or party_of(principal, deal) is not None):
        raise NotFound("no such deal")
    return deal


def own_deal_on(db: Session, *, principal: Principal, campaign_id: uuid.UUID) -> Deal | None:
    """The creator's own deal on a campaign, if they applied or were invited."""
    if principal.creator_id is None:
        return None
    return DealRepository(db).for_pair(campaign_id, principal.creator_id)


def list_deals(
    db: Session,
    *,
    principal: Principal,
    campaign_id: uuid.UUID | None = None,
    status: DealStatus | None = None,
    with_creator: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Deal], int]:
    """The deals `principal` may see, newest activity first; `with_creator` narrows them to one
    creator's (a brand looking at a creator's profile)."""
    scope = principal.owned_scope()
    if scope is None:
        return [], 0
    creator_id, brand_id = scope
    if with_creator is not None:
        if creator_id is not None and creator_id != with_creator:
            return [], 0
        creator_id = with_creator
    return DealRepository(db).search(
        creator_id=creator_id,
        brand_id=brand_id,
        campaign_id=campaign_id,
        status=status,
        limit=limit,
        offset=offset,
    )


def create_deal(db: Session, *, principal: Principal, data: DealCreate) -> Deal:
    """A creator applies to an open campaign; a brand invites a creator to its open or active
    campaign. Either way the first offer is on the table for the other party."""
    if principal.role is Role.ADMIN:
        raise Forbidden("admins do not negotiate deals")
    campaign = campaign_service.get_campaign(db, principal=principal, campaign_id=data.campaign_id)
    if principal.role is Role.CREATOR:
        if data.creator_id is not None and data.creator_id != principal.creator_id:
            raise Invalid("creator_id", "creators apply for themselves: leave it out")
        if campaign.status is not CampaignStatus.OPEN:
            raise Conflict(f"the campaign is {campaign.status.value}, not open for applications")
        creator = creator_service.own_creator(db, principal=principal)
        by = Party.CREATOR
    else:
        if data.creator_id is None:
            raise Invalid("creator_id", "is required to invite a creator")
        if campaign.status not in (CampaignStatus.OPEN, CampaignStatus.ACTIVE):
            raise Conflict(f"the campaign is {campaign.status.value}: open it before inviting")
        creator = creator_service.get_creator(db, principal=principal, creator_id=data.creator_id)
        by = Party.BRAND
    repo = DealRepository(db)
    if repo.for_pair(campaign.id, creator.id) is not None:
        raise Conflict("this creator already has a deal on this campaign")
    deliverables = [d.model_dump() for d in data.deliverables] or list(campaign.deliverables)
    deal = Deal(
        campaign_id=campaign.id,
        creator_id=creator.id,
        status=DealStatus.PROPOSED,
        fee_cents=data.fee_cents,
        deliverables=deliverables,
        last_offer_by=by,
    )
    db.add(deal)
    db.flush()
    db.add(
        DealOffer(
            deal_id=deal.id,
            by=by,
            fee_cents=data.fee_cents,
            deliverables=deliverables,
            message=data.message,
        )
    )
    db.flush()
    emit(
        db,
        DealCreated(**_refs(deal, campaign.brand_id), by=by.value, fee_cents=data.fee_cents),
        subject=f"creator:{creator.id}",
        actor=principal.actor,
    )
    created = get_deal(db, principal=principal, deal_id=deal.id)
    _record_message(db, principal, created, by, data.message)
    notices.deal_created(db, created, by, data.message)
    log.info("deal_created", deal_id=str(deal.id), by=by.value)
    return created


def act_on_deal(
    db: Session,
    *,
    principal: Principal,
    deal_id: uuid.UUID,
    action: Action,
    offer: OfferIn | None = None,
    message: str = "",
) -> Deal:
    deal = get_deal(db, principal=principal, deal_id=deal_id, for_update=True)
    party = party_of(principal, deal)
    if party is None:
        raise Forbidden("only the creator or the brand of this deal can act on it")
    allowed = allowed_actions(deal.status, deal.last_offer_by, party)
    if action not in allowed:
        raise Conflict(
            f"a {party.value} cannot {action.value} a deal that is {deal.status.value}",
            detail={"status": deal.status.value, "allowed": [a.value for a in allowed]},
        )
    now = utcnow()
    if action is Action.COUNTER:
        if offer is None:
            raise Invalid("fee_cents", "a counter-offer needs a fee")
        deal.fee_cents = offer.fee_cents
        if offer.deliverables is not None:
            deal.deliverables = [d.model_dump() for d in offer.deliverables]
        deal.last_offer_by = party
        db.add(
            DealOffer(
                deal_id=deal.id,
                by=party,
                fee_cents=offer.fee_cents,
                deliverables=deal.deliverables,
                message=offer.message,
            )
        )
    elif action is Action.ACCEPT:
        deal.accepted_fee_cents = deal.fee_cents
        deal.accepted_at = now
    elif action is Action.DELIVER:
        deal.delivered_at = now
    elif action is Action.COMPLETE:
        deal.completed_at = now
    previous = deal.status
    deal.status = next_status(action)
    deal.updated_at = now
    db.flush()
    refs = _refs(deal, deal.campaign.brand_id)
    if action is Action.COUNTER:
        assert offer is not None
        payload: EventPayload = DealOfferMade(**refs, by=party.value, fee_cents=offer.fee_cents, message=offer.message)
    else:
        payload = DealStatusChanged(
            **refs,
            from_status=previous.value,
            to_status=deal.status.value,
            fee_cents=deal.fee_cents,
            accepted_fee_cents=deal.accepted_fee_cents,
        )
    emit(db, payload, subject=f"creator:{deal.creator_id}", actor=principal.actor)
    said = offer.message if offer is not None else message
    _record_message(db, principal, deal, party, said)
    notices.deal_moved(db, deal, party, action, said)
    log.info("deal_action", deal_id=str(deal.id), action=action.value, by=party.value)
    return deal


def deal_out(db: Session, *, principal: Principal, deal: Deal, with_offers: bool = False) -> DealOut:
    party = party_of(principal, deal)
    actions = allowed_actions(deal.status, deal.last_offer_by, party) if party else ()
    offers = history = None
    if with_offers:
        offers = [OfferOut.model_validate(o) for o in DealRepository(db).offers(deal.id)]
        history = _history(deal, offers)
    return DealOut(
        id=deal.id,
        campaign_id=deal.campaign_id,
        campaign_title=deal.campaign.title,
        brand_name=deal.campaign.brand.name,
        creator_id=deal.creator_id,
        creator_handle=deal.creator.handle,
        status=deal.status,
        fee_cents=deal.fee_cents,
        currency=deal.campaign.currency,
        deliverables=deal.deliverables,
        last_offer_by=deal.last_offer_by,
        accepted_fee_cents=deal.accepted_fee_cents,
        allowed_actions=[a.value for a in actions],
        offers=offers,
        history=history,
        created_at=deal.created_at,
        updated_at=deal.updated_at,
    )


def _history(deal: Deal, offers: list[OfferOut]) -> list[HistoryEntry]:
    """The deal's moves, oldest first: its offers, then each status it reached (when it did)."""
    entries = [
        HistoryEntry(at=o.created_at, by=o.by, kind="offer", fee_cents=o.fee_cents, message=o.message) for o in offers
    ]
    reached = [
        (DealStatus.ACCEPTED, deal.accepted_at),
        (DealStatus.DELIVERED, deal.delivered_at),
        (DealStatus.COMPLETED, deal.completed_at),
    ]
    if deal.status in CLOSED and deal.status is not DealStatus.COMPLETED:
        reached.append((deal.status, deal.updated_at))
    for status, at in reached:
        if at is not None:
            fee = deal.accepted_fee_cents if status is DealStatus.ACCEPTED else None
            entries.append(
                HistoryEntry(at=at, by=who_moved(status, deal.last_offer_by), kind=status.value, fee_cents=fee)
            )
    return sorted(entries, key=lambda e: e.at)


def standing_for(
    db: Session, *, campaign_id: uuid.UUID, brand_id: uuid.UUID, declined_since: datetime
) -> tuple[set[uuid.UUID], set[uuid.UUID], dict[uuid.UUID, int]]:
    """For recommendations (the caller checked the campaign is the viewer's): creators with a
    deal on the campaign, those who declined the brand lately, and each one's deals under way."""
    return DealRepository(db).standing(campaign_id=campaign_id, brand_id=brand_id, declined_since=declined_since)


def earnings_cents(db: Session, *, creator_id: uuid.UUID) -> int:
    return DealRepository(db).earnings_cents(creator_id)
