"""Reading analytics: who may see which series, day filling, totals, the Redis cache.
A creator sees their own series; a brand its own and its campaigns'; admins all, and the
platform-level creator retention by sign-up cohort, which is nobody else's to see."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from veri.analytics.cache import AnalyticsCache
from veri.analytics.repository import Activity, AnalyticsRepository
from veri.analytics.schemas import CohortOut, DayOut, RetentionOut, Scope, SeriesOut
from veri.campaigns import service as campaign_service
from veri.errors import Forbidden, Invalid, NotFound
from veri.identity.principal import Principal

__all__ = [
    "MAX_DAYS",
    "MAX_RETENTION_MONTHS",
    "RETENTION_TARGET",
    "Activity",
    "creator_activity",
    "resolve_range",
    "retention",
    "series",
]

MAX_DAYS = 366
MAX_RETENTION_MONTHS = 60
RETENTION_TARGET = 0.35  # the brief's business target: 35%+ of creators retained


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


def _month(day: date) -> date:
    return day.replace(day=1)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _months_between(first: date, later: date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def retention(
    db: Session,
    *,
    principal: Principal | None,
    months: int = 12,
    end: date | None = None,
) -> RetentionOut:
    """Monthly active creators by sign-up cohort over the `months` sign-up months up to `end`'s
    month: each cohort's size and the share of it active in each month since. By default the
    window ends with the latest month in which anything happened to a creator (the current one on
    a live platform; the last simulated one in a replayed world); never after the current month.
    Admins only (`principal` None: an operator at the command line)."""
    if principal is not None and not principal.is_admin:
        raise Forbidden("creator retention is platform-wide: for admins only")
    if not 1 <= months <= MAX_RETENTION_MONTHS:
        raise Invalid("months", f"must be between 1 and {MAX_RETENTION_MONTHS}")
    this_month = _month(datetime.now(UTC).date())
    last = min(_month(end), this_month) if end is not None else this_month
    until = datetime.combine(_add_months(last, 1), datetime.min.time(), UTC)
    counts = AnalyticsRepository(db).retention_counts(until=until)
    if end is None and counts:
        last = max(c.month or c.cohort for c in counts)
    first = _add_months(last, -(months - 1))
    sizes = {c.cohort: c.creators for c in counts if c.month is None and first <= c.cohort <= last}
    active = {(c.cohort, c.month): c.creators for c in counts if c.month is not None and c.month <= last}
    cohorts = []
    for cohort, size in sorted(sizes.items()):
        row = [active.get((cohort, _add_months(cohort, k)), 0) for k in range(_months_between(cohort, last) + 1)]
        cohorts.append(CohortOut(month=cohort, size=size, active=row, retention=[n / size for n in row]))
    average = []
    for offset in range(max((len(c.active) for c in cohorts), default=0)):
        reached = [c for c in cohorts if offset < len(c.active)]
        average.append(sum(c.active[offset] for c in reached) / sum(c.size for c in reached))
    seen = [c.last_seen for c in counts if c.month is None and c.cohort in sizes]
    through = max(seen).astimezone(UTC).date() if seen else None
    return RetentionOut(
        months=months,
        start=first,
        end=last,
        through=through,
        partial=through is None or through < _add_months(last, 1) - timedelta(days=1),
        target=RETENTION_TARGET,
        creators=sum(sizes.values()),
        cohorts=cohorts,
        average=average,
    )
