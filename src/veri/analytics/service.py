"""Reading analytics: who may see which series, day filling, totals, the Redis cache.
A creator sees their own series; a brand its own and its campaigns'; admins all."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy.orm import Session

from veri.analytics.cache import AnalyticsCache
from veri.analytics.repository import Activity, AnalyticsRepository
from veri.analytics.schemas import DayOut, Scope, SeriesOut
from veri.campaigns import service as campaign_service
from veri.errors import Invalid, NotFound
from veri.identity.principal import Principal

__all__ = ["MAX_DAYS", "Activity", "creator_activity", "resolve_range", "series"]

MAX_DAYS = 366


def resolve_range(start: date | None, end: date | None, *, days: int = 30) -> tuple[date, date]:
    """Missing ends default to the `days` days up to today (or up to `end`)."""
    end = end or date.today()
    return start or end - timedelta(days=days - 1), end


def creator_activity(db: Session, creator_ids: list[uuid.UUID], *, start: date, end: date) -> dict[uuid.UUID, Activity]:
    """Views, engagements and posts of each creator over [start, end) (for models: no principal;
    the caller decides who may see what it derives)."""
    return AnalyticsRepository(db).activity(Scope.CREATOR.value, creator_ids, start, end) if creator_ids else {}


def _authorise(db: Session, principal: Principal, scope: Scope, scope_id: uuid.UUID) -> None:
    if principal.is_admin:
        return
    if scope is Scope.CREATOR and principal.creator_id == scope_id:
        return
    if scope is Scope.BRAND and principal.brand_id == scope_id:
        return
    if scope is Scope.CAMPAIGN and principal.brand_id is not None:
        campaign = campaign_service.get_campaign(db, principal=principal, campaign_id=scope_id)
        if campaign.brand_id == principal.brand_id:
            return
    raise NotFound(f"no {scope.value} analytics here")


def series(
    db: Session,
    *,
    principal: Principal,
    scope: Scope,
    scope_id: uuid.UUID,
    start: date,
    end: date,
    cache: AnalyticsCache | None = None,
) -> SeriesOut:
    if end < start:
        raise Invalid("end", "must not be before start")
    if (end - start).days >= MAX_DAYS:
        raise Invalid("start", f"the range is limited to {MAX_DAYS} days")
    _authorise(db, principal, scope, scope_id)

    def compute() -> dict[str, object]:
        stored = {row.day: row for row in AnalyticsRepository(db).series(scope.value, scope_id, start, end)}
        days = []
        for offset in range((end - start).days + 1):
            day = start + timedelta(days=offset)
            row = stored.get(day)
            days.append(DayOut.model_validate(row, from_attributes=True) if row else DayOut(day=day))
        views = sum(d.views for d in days)
        engagements = sum(d.engagements for d in days)
        totals = DayOut(
            day=end,
            views=views,
            engagements=engagements,
            engagement_rate=engagements / views if views else 0.0,
            posts=sum(d.posts for d in days),
            deals_accepted=sum(d.deals_accepted for d in days),
            deals_completed=sum(d.deals_completed for d in days),
            earnings_cents=sum(d.earnings_cents for d in days),
        )
        out = SeriesOut(scope=scope, scope_id=scope_id, start=start, end=end, days=days, totals=totals)
        return out.model_dump(mode="json")

    if cache is None:
        return SeriesOut.model_validate(compute())
    return SeriesOut.model_validate(cache.get_or_compute(scope.value, scope_id, f"{start}:{end}", compute))
