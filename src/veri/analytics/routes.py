"""Analytics API: daily series per creator, brand or campaign."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from veri.analytics import service
from veri.analytics.schemas import Scope, SeriesOut
from veri.dependencies import DbSession
from veri.fields import Day
from veri.identity.deps import CurrentPrincipal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


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
