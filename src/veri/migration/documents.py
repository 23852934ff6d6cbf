"""Documents shaped for Mongo's reads, built from the system of record (Postgres), and the four
aggregates the migration moves: a creator with their social accounts, a campaign with its deals'
summary, a deal's thread with its messages, a memory with its attributes (and its embedding, for
vector search in phase 3).

The same functions serve dual-write, backfill, verification and shadow reads, so the four can
only agree. Times are ISO strings, not BSON dates: BSON keeps milliseconds and Postgres keeps
microseconds, and a copy must hash like its original.

Each aggregate says which documents an event touches and whose cohort each belongs to: the
creator's for creators and memories; a campaign and a deal's thread fall in the cohort by their
own id (a brand reading a thread does not know its creator before reading it).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from veri.db.engine import pgvector_enabled
from veri.events.envelope import Event
from veri.events.registry import REGISTRY
from veri.events.types import (
    CampaignCreated,
    CampaignStatusChanged,
    CampaignUpdated,
    CreatorUpdated,
    DealCreated,
    DealOfferMade,
    DealStatusChanged,
    MemoryChanged,
    MessageSent,
)
from veri.models.campaigns import Campaign
from veri.models.creators import Creator, SocialAccount
from veri.models.deals import Deal, DealMessage, DealStatus
from veri.models.memory import Memory

__all__ = ["AGGREGATES", "Aggregate", "aggregate_named", "creator_documents", "fingerprint"]

Document = dict[str, Any]
Touched = list[tuple[uuid.UUID, uuid.UUID]]  # (document id, cohort subject)


def _iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def creator_documents(db: Session, ids: Sequence[uuid.UUID]) -> dict[str, Document]:
    """The creators' documents by id (a creator not in Postgres has none)."""
    if not ids:
        return {}
    creators = list(db.scalars(select(Creator).where(Creator.id.in_(list(ids)))))
    accounts: dict[uuid.UUID, list[SocialAccount]] = {}
    for account in db.scalars(select(SocialAccount).where(SocialAccount.creator_id.in_([c.id for c in creators]))):
        accounts.setdefault(account.creator_id, []).append(account)
    return {
        str(c.id): {
            "_id": str(c.id),
            "handle": c.handle,
            "display_name": c.display_name,
            "bio": c.bio or "",
            "location": c.location or "",
            "niches": list(c.niches or []),
            "platforms": list(c.platforms or []),
            "audience_size": int(c.audience_size or 0),
            "timezone": c.timezone or "UTC",
            "demographics": dict(c.demographics or {}),
            "created_at": _iso(c.created_at),
            "social_accounts": sorted(
                (
                    {
                        "platform": a.platform.value,
                        "handle": a.handle,
                        "status": a.status.value,
                        "followers": int(a.followers or 0),
                    }
                    for a in accounts.get(c.id, [])
                ),
                key=lambda a: (a["platform"], a["handle"]),
            ),
        }
        for c in creators
    }


def campaign_documents(db: Session, ids: Sequence[uuid.UUID]) -> dict[str, Document]:
    """Campaigns with their deals' summary: how many in each status and the fees agreed."""
    if not ids:
        return {}
    campaigns = list(db.scalars(select(Campaign).where(Campaign.id.in_(list(ids)))))
    deals: dict[uuid.UUID, list[Deal]] = {}
    for deal in db.scalars(select(Deal).where(Deal.campaign_id.in_([c.id for c in campaigns]))):
        deals.setdefault(deal.campaign_id, []).append(deal)
    agreed = {DealStatus.ACCEPTED, DealStatus.DELIVERED, DealStatus.COMPLETED}
    documents = {}
    for c in campaigns:
        mine = deals.get(c.id, [])
        statuses = Counter(d.status.value for d in mine)
        documents[str(c.id)] = {
            "_id": str(c.id),
            "brand_id": str(c.brand_id),
            "title": c.title,
            "brief": c.brief or "",
            "budget_cents": int(c.budget_cents),
            "currency": c.currency,
            "niches": list(c.niches or []),
            "platforms": list(c.platforms or []),
            "deliverables": list(c.deliverables or []),
            "status": c.status.value,
            "starts_on": _iso(c.starts_on),
            "ends_on": _iso(c.ends_on),
            "deals": {
                "count": len(mine),
                "by_status": dict(sorted(statuses.items())),
                "agreed_fee_cents": sum(int(d.accepted_fee_cents or d.fee_cents) for d in mine if d.status in agreed),
                "creator_ids": sorted(str(d.creator_id) for d in mine),
            },
        }
    return documents


def thread_documents(db: Session, ids: Sequence[uuid.UUID]) -> dict[str, Document]:
    """A deal's conversation: who, its status, and every message in order."""
    if not ids:
        return {}
    rows = db.execute(
        select(Deal, Campaign.brand_id).join(Campaign, Campaign.id == Deal.campaign_id).where(Deal.id.in_(list(ids)))
    ).all()
    messages: dict[uuid.UUID, list[DealMessage]] = {}
    for message in db.scalars(
        select(DealMessage)
        .where(DealMessage.deal_id.in_([d.id for d, _ in rows]))
        .order_by(DealMessage.created_at, DealMessage.id)
    ):
        messages.setdefault(message.deal_id, []).append(message)
    return {
        str(deal.id): {
            "_id": str(deal.id),
            "campaign_id": str(deal.campaign_id),
            "brand_id": str(brand_id),
            "creator_id": str(deal.creator_id),
            "status": deal.status.value,
            "messages": [
                {"id": str(m.id), "sender": m.sender.value, "body": m.body, "at": _iso(m.created_at)}
                for m in messages.get(deal.id, [])
            ],
        }
        for deal, brand_id in rows
    }


def memory_documents(db: Session, ids: Sequence[uuid.UUID]) -> dict[str, Document]:
    """Memories with their attributes and, where the database holds vectors, their embedding.
    Ranking state that changes on every read (strength, access counts) stays in Postgres."""
    if not ids:
        return {}
    memories = list(db.scalars(select(Memory).where(Memory.id.in_(list(ids)))))
    vectors: dict[uuid.UUID, list[float]] = {}
    if memories and pgvector_enabled(db.connection()):
        vectors = {
            i: [float(x) for x in v.strip("[]").split(",")]
            for i, v in db.execute(
                text("SELECT id, embedding::text FROM memories WHERE id = ANY(:ids) AND embedding IS NOT NULL"),
                {"ids": [m.id for m in memories]},
            )
        }
    return {
        str(m.id): {
            "_id": str(m.id),
            "type": m.type.value,
            "kind": m.kind,
            "key": m.key,
            "text": m.text,
            "attributes": dict(m.attributes or {}),
            "creator_id": str(m.creator_id) if m.creator_id else None,
            "brand_id": str(m.brand_id) if m.brand_id else None,
            "campaign_id": str(m.campaign_id) if m.campaign_id else None,
            "importance": float(m.importance),
            "status": m.status.value,
            "valid_from": _iso(m.valid_from),
            "valid_to": _iso(m.valid_to),
            "recorded_at": _iso(m.recorded_at),
            "superseded_by": str(m.superseded_by) if m.superseded_by else None,
            "embedding": vectors.get(m.id),
        }
        for m in memories
    }


def _creator_of(event: Event) -> Touched:
    creator_id = getattr(event.payload, "creator_id", None)
    return [(creator_id, creator_id)] if creator_id is not None else []


def _campaign_of(event: Event) -> Touched:
    campaign_id = getattr(event.payload, "campaign_id", None)
    return [(campaign_id, campaign_id)] if campaign_id is not None else []


def _thread_of(event: Event) -> Touched:
    deal_id = getattr(event.payload, "deal_id", None)
    return [(deal_id, deal_id)] if deal_id is not None else []


def _memories_of(event: Event) -> Touched:
    payload = event.payload
    assert isinstance(payload, MemoryChanged)
    return [(i, payload.creator_id or i) for i in payload.memory_ids]


@dataclass(frozen=True)
class Aggregate:
    """One kind of document: its collection, its rows in Postgres, how to build its documents,
    and which documents an event touches."""

    name: str  # the Mongo collection too
    id_column: InstrumentedAttribute[uuid.UUID]
    subject: ColumnElement[uuid.UUID] | InstrumentedAttribute[Any]  # whose cohort a document falls in
    documents: Callable[[Session, Sequence[uuid.UUID]], dict[str, Document]]
    touched: Callable[[Event], Touched]
    types: frozenset[str]


_DEALS = (DealCreated, DealOfferMade, DealStatusChanged)

AGGREGATES: tuple[Aggregate, ...] = (
    Aggregate("creators", Creator.id, Creator.id, creator_documents, _creator_of, REGISTRY.names_of(CreatorUpdated)),
    Aggregate(
        "campaigns",
        Campaign.id,
        Campaign.id,
        campaign_documents,
        _campaign_of,
        REGISTRY.names_of(CampaignCreated, CampaignStatusChanged, CampaignUpdated, *_DEALS),
    ),
    Aggregate("threads", Deal.id, Deal.id, thread_documents, _thread_of, REGISTRY.names_of(MessageSent, *_DEALS)),
    Aggregate(
        "memories",
        Memory.id,
        # A memory about no creator (a brand's, a campaign's) falls in the cohort by its own id.
        func.coalesce(Memory.creator_id, Memory.id),
        memory_documents,
        _memories_of,
        REGISTRY.names_of(MemoryChanged),
    ),
)


def aggregate_named(name: str) -> Aggregate:
    for aggregate in AGGREGATES:
        if aggregate.name == name:
            return aggregate
    raise ValueError(f"{name!r} is not an aggregate ({', '.join(a.name for a in AGGREGATES)})")


def fingerprint(doc: Document) -> str:
    """A document's content hash, without the store's own fields (`_v`)."""
    body = {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
