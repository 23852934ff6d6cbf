"""All SQL of the content domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from veri.db.paging import fetch_page
from veri.models.campaigns import Campaign
from veri.models.content import ContentItem, MetricSnapshot
from veri.models.deals import Deal

__all__ = ["ContentRepository"]


class ContentRepository:
    def __init__(self, db: Session):
        self.db = db

    def get(self, content_id: uuid.UUID) -> ContentItem | None:
        return self.db.get(ContentItem, content_id)

    def by_external_id(self, platform: str, external_id: str) -> ContentItem | None:
        return self.db.scalar(
            select(ContentItem).where(ContentItem.platform == platform, ContentItem.external_id == external_id)
        )

    def brand_of(self, content: ContentItem) -> uuid.UUID | None:
        """The brand whose deal this content was made for, if any."""
        if content.deal_id is None:
            return None
        return self.db.scalar(
            select(Campaign.brand_id).join(Deal, Deal.campaign_id == Campaign.id).where(Deal.id == content.deal_id)
        )

    def search(
        self,
        *,
        creator_id: uuid.UUID | None,
        brand_id: uuid.UUID | None,
        platform: str | None,
        deal_id: uuid.UUID | None,
        limit: int,
        offset: int,
    ) -> tuple[list[ContentItem], int]:
        statement = select(ContentItem)
        if creator_id is not None:
            statement = statement.where(ContentItem.creator_id == creator_id)
        if brand_id is not None:
            statement = (
                statement.join(Deal, Deal.id == ContentItem.deal_id)
                .join(Campaign, Campaign.id == Deal.campaign_id)
                .where(Campaign.brand_id == brand_id)
            )
        if platform:
            statement = statement.where(ContentItem.platform == platform)
        if deal_id is not None:
            statement = statement.where(ContentItem.deal_id == deal_id)
        order = (ContentItem.published_at.desc(), ContentItem.id)
        return fetch_page(self.db, statement, order_by=order, limit=limit, offset=offset)

    def by_external_ids(self, platform: str, external_ids: list[str]) -> dict[str, ContentItem]:
        if not external_ids:
            return {}
        rows = self.db.scalars(
            select(ContentItem).where(ContentItem.platform == platform, ContentItem.external_id.in_(external_ids))
        ).all()
        return {row.external_id: row for row in rows}

    def snapshot_moments(self, pairs: list[tuple[uuid.UUID, datetime]]) -> set[tuple[uuid.UUID, datetime]]:
        """Which (content, captured_at) measurements are stored already."""
        if not pairs:
            return set()
        rows = self.db.execute(
            select(MetricSnapshot.content_id, MetricSnapshot.captured_at).where(
                tuple_(MetricSnapshot.content_id, MetricSnapshot.captured_at).in_(pairs)
            )
        ).all()
        return {(row[0], row[1]) for row in rows}

    def recent(self, *, creator_id: uuid.UUID, platform: str, since: object, limit: int) -> list[ContentItem]:
        return list(
            self.db.scalars(
                select(ContentItem)
                .where(
                    ContentItem.creator_id == creator_id,
                    ContentItem.platform == platform,
                    ContentItem.published_at >= since,
                )
                .order_by(ContentItem.published_at.desc())
                .limit(limit)
            ).all()
        )

    def latest_metrics(self, content_ids: list[uuid.UUID]) -> dict[uuid.UUID, MetricSnapshot]:
        if not content_ids:
            return {}
        rows = self.db.scalars(
            select(MetricSnapshot)
            .where(MetricSnapshot.content_id.in_(content_ids))
            .ext(distinct_on(MetricSnapshot.content_id))
            .order_by(MetricSnapshot.content_id, MetricSnapshot.captured_at.desc())
        ).all()
        return {row.content_id: row for row in rows}

    def metrics(self, content_id: uuid.UUID) -> list[MetricSnapshot]:
        return list(
            self.db.scalars(
                select(MetricSnapshot)
                .where(MetricSnapshot.content_id == content_id)
                .order_by(MetricSnapshot.captured_at)
            ).all()
        )

    def snapshot_at(self, content_id: uuid.UUID, captured_at: object) -> MetricSnapshot | None:
        return self.db.scalar(
            select(MetricSnapshot).where(
                MetricSnapshot.content_id == content_id, MetricSnapshot.captured_at == captured_at
            )
        )
