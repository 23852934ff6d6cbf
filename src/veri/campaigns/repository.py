"""All SQL of the campaigns domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from veri.db.paging import fetch_page
from veri.models.campaigns import Campaign, CampaignStatus

__all__ = ["CampaignRepository"]


class CampaignRepository:
    def __init__(self, db: Session):
        self.db = db

    def get(self, campaign_id: uuid.UUID, *, for_update: bool = False) -> Campaign | None:
        statement = select(Campaign).options(joinedload(Campaign.brand)).where(Campaign.id == campaign_id)
        if for_update:
            statement = statement.with_for_update(of=Campaign)
        return self.db.scalar(statement)

    def search(
        self,
        *,
        brand_id: uuid.UUID | None,
        statuses: Collection[CampaignStatus] | None,
        niche: str | None,
        platform: str | None,
        query: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Campaign], int]:
        statement = select(Campaign)
        if brand_id is not None:
            statement = statement.where(Campaign.brand_id == brand_id)
        if statuses is not None:
            statement = statement.where(Campaign.status.in_(list(statuses)))
        if niche:
            statement = statement.where(Campaign.niches.contains([niche.lower()]))
        if platform:
            statement = statement.where(Campaign.platforms.contains([platform]))
        if query:
            statement = statement.where(Campaign.title.ilike(f"%{query}%"))
        order = (Campaign.created_at.desc(), Campaign.id)
        return fetch_page(
            self.db, statement.options(joinedload(Campaign.brand)), order_by=order, limit=limit, offset=offset
        )

    def by_ids(self, campaign_ids: Collection[uuid.UUID]) -> list[Campaign]:
        if not campaign_ids:
            return []
        return list(
            self.db.scalars(
                select(Campaign).options(joinedload(Campaign.brand)).where(Campaign.id.in_(list(campaign_ids)))
            )
        )

    def count_by_status(self, brand_id: uuid.UUID | None) -> dict[CampaignStatus, int]:
        statement = select(Campaign.status, func.count()).group_by(Campaign.status)
        if brand_id is not None:
            statement = statement.where(Campaign.brand_id == brand_id)
        return {status: count for status, count in self.db.execute(statement)}
