"""The `analytics` consumer group: enrich metrics snapshots, keep the facts, recompute the
daily rollups of every creator, brand and campaign a batch touches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from veri.analytics.cache import AnalyticsCache
from veri.analytics.enrichment import enrich_snapshot, latest_per_day
from veri.analytics.repository import AnalyticsRepository, DealState, Key, PublishedContent
from veri.events.derived import whole
from veri.events.envelope import Event
from veri.events.registry import REGISTRY
from veri.events.types import (
    ContentMetricsSnapshot,
    ContentPublished,
    DealCreated,
    DealStatusChanged,
)

__all__ = ["AnalyticsHandler"]


def _fold_deals(events: Sequence[Event]) -> list[DealState]:
    """One state per deal from the batch's deal events, applied in the order they happened."""
    states: dict[uuid.UUID, DealState] = {}
    for event in sorted(events, key=lambda e: (e.occurred_at, e.position)):
        p = event.payload
        assert isinstance(p, DealCreated | DealStatusChanged)
        before = states.get(p.deal_id)
        status = p.to_status if isinstance(p, DealStatusChanged) else "proposed"
        day = event.occurred_at.date()
        accepted_fee = p.accepted_fee_cents if isinstance(p, DealStatusChanged) else None
        states[p.deal_id] = DealState(
            deal_id=p.deal_id,
            creator_id=p.creator_id,
            brand_id=p.brand_id,
            campaign_id=p.campaign_id,
            status=status,
            accepted_on=day if status == "accepted" else (before.accepted_on if before else None),
            completed_on=day if status == "completed" else (before.completed_on if before else None),
            accepted_fee_cents=accepted_fee
            if accepted_fee is not None
            else (before.accepted_fee_cents if before else None),
            changed_at=event.occurred_at,
        )
    return list(states.values())


class AnalyticsHandler:
    group = "analytics"
    types = REGISTRY.names_of(ContentPublished, ContentMetricsSnapshot, DealCreated, DealStatusChanged)
    derived = (
        whole("analytics_content", "content_id"),
        whole("analytics_content_daily", "content_id", "day"),
        whole("analytics_deals", "deal_id"),
        whole("analytics_daily", "scope", "scope_id", "day"),
    )

    def __init__(self, cache: AnalyticsCache | None = None):
        self.cache = cache
        self._touched: set[Key] = set()

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        repo = AnalyticsRepository(db)
        published = [
            PublishedContent(
                p.content_id,
                p.creator_id,
                p.platform.lower(),
                p.published_at,
                p.campaign_id,
                p.brand_id,
            )
            for e in events
            if isinstance(p := e.payload, ContentPublished)
        ]
        snapshots = latest_per_day(
            [enrich_snapshot(e.payload) for e in events if isinstance(e.payload, ContentMetricsSnapshot)]
        )
        deals = _fold_deals([e for e in events if isinstance(e.payload, DealCreated | DealStatusChanged)])
        keys = repo.upsert_content(published) | repo.upsert_daily(snapshots) | repo.upsert_deals(deals)
        repo.recompute(keys)
        # Accumulates over retries; a rolled-back attempt only costs an extra invalidation.
        self._touched |= keys

    def after_commit(self, events: Sequence[Event]) -> None:
        if self.cache is not None:
            self.cache.invalidate({(scope, scope_id) for scope, scope_id, _ in self._touched})
        self._touched = set()

    def reset(self, db: Session) -> None:
        AnalyticsRepository(db).reset()
