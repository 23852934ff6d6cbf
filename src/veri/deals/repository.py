"""All SQL of the deals domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from veri.db.paging import fetch_page
from veri.models.campaigns import Campaign
from veri.models.deals import Deal, DealMessage, DealOffer, DealStatus, Party

__all__ = ["DealRepository"]

_WITH_PARTIES = (
    joinedload(Deal.campaign).joinedload(Campaign.brand),
    joinedload(Deal.creator),
)


class DealRepository:
    def __init__(self, db: Session):
        self.db = db

    def get(self, deal_id: uuid.UUID, *, for_update: bool = False) -> Deal | None:
        statement = select(Deal).options(*_WITH_PARTIES).where(Deal.id == deal_id)
        if for_update:
            statement = statement.with_for_update(of=Deal)
        return self.db.scalar(statement)

    def for_pair(self, campaign_id: uuid.UUID, creator_id: uuid.UUID) -> Deal | None:
        return self.db.scalar(select(Deal).where(Deal.campaign_id == campaign_id, Deal.creator_id == creator_id))

    def search(
        self,
        *,
        creator_id: uuid.UUID | None,
        brand_id: uuid.UUID | None,
        campaign_id: uuid.UUID | None,
        status: DealStatus | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Deal], int]:
        statement = select(Deal)
        if creator_id is not None:
            statement = statement.where(Deal.creator_id == creator_id)
        if brand_id is not None:
            statement = statement.join(Campaign, Deal.campaign_id == Campaign.id).where(Campaign.brand_id == brand_id)
        if campaign_id is not None:
            statement = statement.where(Deal.campaign_id == campaign_id)
        if status is not None:
            statement = statement.where(Deal.status == status)
        return fetch_page(
            self.db,
            statement.options(*_WITH_PARTIES),
            order_by=(Deal.updated_at.desc(), Deal.id),
            limit=limit,
            offset=offset,
        )

    def offers(self, deal_id: uuid.UUID) -> list[DealOffer]:
        return list(
            self.db.scalars(
                select(DealOffer).where(DealOffer.deal_id == deal_id).order_by(DealOffer.created_at, DealOffer.id)
            ).all()
        )

    def messages(self, deal_id: uuid.UUID) -> list[DealMessage]:
        return list(
            self.db.scalars(
                select(DealMessage)
                .where(DealMessage.deal_id == deal_id)
                .order_by(DealMessage.created_at, DealMessage.id)
            ).all()
        )

    def standing(
        self, *, campaign_id: uuid.UUID, brand_id: uuid.UUID, declined_since: datetime
    ) -> tuple[set[uuid.UUID], set[uuid.UUID], dict[uuid.UUID, int]]:
        """Who has a deal on the campaign; who said no to one of the brand's since `declined_since`
        (withdrew, or declined the brand's offer: only the party an offer is made to can decline);
        how many deals each creator has under way (accepted, not delivered)."""
        on_campaign = set(self.db.scalars(select(Deal.creator_id).where(Deal.campaign_id == campaign_id)))
        declined = set(
            self.db.scalars(
                select(Deal.creator_id)
                .join(Campaign, Campaign.id == Deal.campaign_id)
                .where(
                    Campaign.brand_id == brand_id,
                    (Deal.status == DealStatus.WITHDRAWN)
                    | ((Deal.status == DealStatus.DECLINED) & (Deal.last_offer_by == Party.BRAND)),
                    Deal.updated_at >= declined_since,
                )
            )
        )
        busy = dict(
            self.db.execute(
                select(Deal.creator_id, func.count())
                .where(Deal.status == DealStatus.ACCEPTED)
                .group_by(Deal.creator_id)
            ).all()
        )
        return on_campaign, declined, busy

    def earnings_cents(self, creator_id: uuid.UUID) -> int:
        value = self.db.scalar(
            select(func.coalesce(func.sum(Deal.accepted_fee_cents), 0)).where(
                Deal.creator_id == creator_id, Deal.status == DealStatus.COMPLETED
            )
        )
        return int(value or 0)
