"""Analytics API: daily series per creator, brand or campaign; creator retention by sign-up
cohort for admins."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from veri.analytics import service
from veri.analytics.schemas import RetentionOut, Scope, SeriesOut
from veri.dependencies import DbSession
from veri.fields import Day
from veri.identity.deps import AdminPrincipal, CurrentPrincipal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


@router.get("/retention", response_model=RetentionOut)
def get_retention(
    principal: AdminPrincipal,
    db: DbSession,
    months: Annotated[
        int, Query(ge=1, le=service.MAX_RETENTION_MONTHS, description="Sign-up months to show, up to `end`.")
    ] = 12,
    end: Annotated[
        Day | None, Query(description="A day of the last month (default: the latest month with creator events).")
    ] = None,
) -> RetentionOut:
    """Monthly active creators by sign-up cohort (UTC months, from the event log): each cohort's
    size and the share of it that did something themselves in each month since, with the
    retention target. Platform-wide: admins only."""
    return service.retention(db, principal=principal, months=months, end=end)


@router.get("/{scope}/{scope_id}", response_model=SeriesOut)
def get_series(
    scope: Scope,
    scope_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    request: Request,
    start: Day | None = None,
    end: Day | None = None,
) -> SeriesOut:
    """Views, engagement, posts, deals and earnings per day (UTC), zero-filled; the last 30
    days by default."""
    start, end = service.resolve_range(start, end)
    return service.series(
        db,
        principal=principal,
        scope=scope,
        scope_id=scope_id,
        start=start,
        end=end,
        cache=request.app.state.analytics_cache,
    )
