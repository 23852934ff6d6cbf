"""The analytics page: daily charts (Plotly, served locally) with a date range and, for brands
and admins, a choice of what to look at; for admins, creator retention by sign-up cohort."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import plotly
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from veri.analytics import service
from veri.analytics.schemas import Scope
from veri.brands import service as brand_service
from veri.campaigns import service as campaign_service
from veri.creators import service as creator_service
from veri.dependencies import DbSession
from veri.errors import Invalid
from veri.fields import Day
from veri.identity.deps import CurrentPrincipal
from veri.models.accounts import Role
from veri.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/vendor/plotly.min.js")
def plotly_bundle() -> FileResponse:
    """Plotly's offline bundle, from the installed package: no CDN."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    scope: Scope | None = None,
    id: uuid.UUID | None = None,
    start: Day | None = None,
    end: Day | None = None,
    months: Annotated[int, Query(ge=1, le=service.MAX_RETENTION_MONTHS)] = 12,
) -> Response:
    start, end = service.resolve_range(start, end)
    choices: list[tuple[str, str, str]] = []  # (scope, id, label)
    if principal.role is Role.CREATOR and principal.creator_id is not None:
        choices.append(("creator", str(principal.creator_id), "My content and deals"))
    elif principal.role is Role.BRAND and principal.brand_id is not None:
        brand = brand_service.own_brand(db, principal=principal)
        choices.append(("brand", str(brand.id), f"{brand.name} (all campaigns)"))
        campaigns, _ = campaign_service.list_campaigns(db, principal=principal, limit=200)
        choices.extend(("campaign", str(c.id), f"Campaign: {c.title}") for c in campaigns)
    elif principal.is_admin:
        brands, _ = brand_service.list_brands(db, limit=200)
        choices.extend(("brand", str(b.id), f"Brand: {b.name}") for b in brands)
        creators, _ = creator_service.list_creators(db, principal=principal, limit=200)
        choices.extend(("creator", str(c.id), f"Creator: @{c.handle}") for c in creators)
    if (scope is None or id is None) and choices:
        scope, id = Scope(choices[0][0]), uuid.UUID(choices[0][1])
    # Retention needs no profile to look at: an admin of a world of imported creators sees it alone.
    retention = service.retention(db, principal=principal, months=months) if principal.is_admin else None
    if scope is None or id is None:
        if retention is None:
            raise Invalid("id", "nothing to show yet")
        data = None
    else:
        data = service.series(
            db,
            principal=principal,
            scope=scope,
            scope_id=id,
            start=start,
            end=end,
            cache=request.app.state.analytics_cache,
        )
    return render(
        request,
        "analytics.html",
        principal,
        series=data,
        series_json=data.model_dump(mode="json") if data else None,
        retention=retention,
        retention_json=retention.model_dump(mode="json") if retention else None,
        choices=choices,
        selected=f"{scope.value}:{id}" if scope and id else "",
        months=months,
    )
