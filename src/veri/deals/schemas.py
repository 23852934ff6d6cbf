"""Pydantic shapes of the deals API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from veri.campaigns.schemas import Deliverable
from veri.fields import Cents
from veri.models.deals import DealStatus, Party

__all__ = [
    "ActionIn",
    "DealCreate",
    "DealOut",
    "HistoryEntry",
    "MessageIn",
    "MessageOut",
    "OfferIn",
    "OfferOut",
]

Message = Annotated[str, Field(max_length=2000)]


class DealCreate(BaseModel):
    """A creator applies to a campaign (no `creator_id`), or a brand invites a creator."""

    model_config = ConfigDict(extra="forbid")

    campaign_id: uuid.UUID
    creator_id: uuid.UUID | None = None
    fee_cents: Cents
    deliverables: Annotated[list[Deliverable], Field(max_length=20)] = Field(default_factory=list)
    message: Message = ""


class OfferIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fee_cents: Cents
    deliverables: Annotated[list[Deliverable], Field(max_length=20)] | None = None
    message: Message = ""


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Message = ""


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Field(min_length=1, max_length=5000)]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sender: Party
    body: str
    created_at: datetime


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    by: Party
    fee_cents: int
    deliverables: list[dict[str, Any]]
    message: str
    created_at: datetime


class HistoryEntry(BaseModel):
    """One move in a deal's life: an offer, or a change of status, by whom and when."""

    at: datetime
    by: Party | None
    kind: str  # "offer" or the status the deal moved to
    fee_cents: int | None = None
    message: str = ""


class DealOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    campaign_title: str
    brand_name: str
    creator_id: uuid.UUID
    creator_handle: str
    status: DealStatus
    fee_cents: int
    currency: str
    deliverables: list[dict[str, Any]]
    last_offer_by: Party
    accepted_fee_cents: int | None
    allowed_actions: list[str]
    offers: list[OfferOut] | None = None
    # Every move, oldest first: offers and counter-offers, acceptance, delivery, completion...
    history: list[HistoryEntry] | None = None
    created_at: datetime
    updated_at: datetime
