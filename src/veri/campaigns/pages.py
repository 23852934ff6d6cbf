"""Campaign pages: the brand's dashboard, the campaign list, the new-campaign form and the
campaign page with its applicants, lifecycle buttons and the creator's application form."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from veri.brands import service as brand_service
from veri.campaigns import lifecycle, service
from veri.campaigns.schemas import CampaignIn
from veri.deals import service as deal_service
from veri.deals.forms import open_deal_from_form
from veri.dependencies import DbSession
from veri.errors import Invalid
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import BrandPrincipal, CurrentPrincipal
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.models.campaigns import CampaignStatus
from veri.models.creators import Platform
from veri.pagination import Page, Paging
from veri.recommend import service as recommend_service
from veri.web.forms import FormErrors, dollars_to_cents, form_values, parse_form
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])

DELIVERABLE_KINDS = ("video", "short", "post", "story", "stream")


@router.get("/brand", response_class=HTMLResponse)
def brand_dashboard(request: Request, principal: BrandPrincipal, db: DbSession) -> Response:
    brand = brand_service.own_brand(db, principal=principal)
    campaigns, total = service.list_campaigns(db, principal=principal, limit=50)
    counts = service.count_by_status(db, principal=principal)
    deals, deal_total = deal_service.list_deals(db, principal=principal, limit=10)
    return render(
        request,
        "brand_dashboard.html",
        principal,
        brand=brand,
        campaigns=campaigns,
        total=total,
        counts={s.value: counts.get(s, 0) for s in CampaignStatus},
        deals=[deal_service.deal_out(db, principal=principal, deal=d) for d in deals],
        deal_total=deal_total,
    )


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    status: CampaignStatus | None = None,
    niche: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    rows, total = service.list_campaigns(
        db,
        principal=principal,
        status=status,
        niche=niche or None,
        query=q or None,
        limit=paging.limit,
        offset=paging.offset,
    )
    return render(
        request,
        "campaigns.html",
        principal,
        campaigns=rows,
        page=Page[object](items=[], total=total, limit=paging.limit, offset=paging.offset),
        filters={"status": status.value if status else "", "niche": niche or "", "q": q or ""},
        statuses=[s.value for s in (lifecycle.PUBLIC if principal.role is Role.CREATOR else CampaignStatus)],
    )


def _new_page(
    request: Request,
    principal: Principal,
    *,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "campaign_form.html",
        principal,
        errors=errors or {},
        values=values or {},
        platforms=[p.value for p in Platform],
        kinds=DELIVERABLE_KINDS,
        status_code=status_code,
    )


@router.get("/campaigns/new", response_class=HTMLResponse)
def new_campaign_page(request: Request, principal: BrandPrincipal) -> Response:
    return _new_page(request, principal)


@router.post("/campaigns/new", response_class=HTMLResponse)
async def new_campaign_submit(request: Request, principal: BrandPrincipal, db: DbSession) -> Response:
    values = form_values(await request.form(), lists=("platforms",))
    shown = dict(values)
    publish = bool(values.pop("publish", None))
    dollars_to_cents(values, "budget", "budget_cents")
    values["niches"] = [n.strip() for n in str(values.get("niches", "")).split(",") if n.strip()]
    kind, platform, quantity = (
        values.pop(k, "") for k in ("deliverable_kind", "deliverable_platform", "deliverable_quantity")
    )
    values["deliverables"] = (
        [{"kind": kind, "platform": platform, "quantity": quantity or 1}] if kind and platform else []
    )
    for key in ("starts_on", "ends_on"):
        if not values.get(key):
            values.pop(key, None)
    data, errors = parse_form(CampaignIn, values)
    if "budget_cents" in errors:
        errors["budget"] = errors.pop("budget_cents")
    if data is None:
        return _new_page(request, principal, errors=errors, values=shown, status_code=422)
    campaign = service.create_campaign(db, principal=principal, data=data)
    if publish:
        service.transition_campaign(db, principal=principal, campaign_id=campaign.id, to=CampaignStatus.OPEN)
    return redirect(f"/campaigns/{campaign.id}", flash=f"Campaign “{campaign.title}” created.")


def _detail_page(
    request: Request,
    principal: Principal,
    db: DbSession,
    campaign_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    campaign = service.get_campaign(db, principal=principal, campaign_id=campaign_id)
    manages = principal.is_admin or campaign.brand_id == principal.brand_id
    deals = []
    my_deal = None
    if manages:
        rows, _ = deal_service.list_deals(db, principal=principal, campaign_id=campaign.id, limit=200)
        deals = [deal_service.deal_out(db, principal=principal, deal=d) for d in rows]
    else:
        my_deal = deal_service.own_deal_on(db, principal=principal, campaign_id=campaign.id)
    recommended = None
    if manages and campaign.status in (CampaignStatus.DRAFT, CampaignStatus.OPEN, CampaignStatus.ACTIVE):
        recommended = recommend_service.recommend_creators(
            db, principal=principal, serving=request.app.state.serving_model, campaign_id=campaign.id, limit=5
        )
    return render(
        request,
        "campaign_detail.html",
        principal,
        campaign=campaign,
        manages=manages,
        transitions=[s.value for s in lifecycle.allowed_transitions(campaign.status)] if manages else [],
        deals=deals,
        my_deal=my_deal,
        recommended=recommended,
        # Deals open on an open campaign, by its brand (admins look, they do not offer).
        can_offer=principal.role is Role.BRAND and campaign.status is CampaignStatus.OPEN,
        can_apply=principal.role is Role.CREATOR and campaign.status is CampaignStatus.OPEN and my_deal is None,
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(request: Request, campaign_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    return _detail_page(request, principal, db, campaign_id)


@router.post("/campaigns/{campaign_id}/transition")
async def campaign_transition(
    request: Request, campaign_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    target = (await request.form()).get("to")
    try:
        to = CampaignStatus(str(target))
    except ValueError:
        raise Invalid("to", f"{target!r} is not a campaign status") from None
    campaign = service.transition_campaign(db, principal=principal, campaign_id=campaign_id, to=to)
    return redirect(f"/campaigns/{campaign.id}", flash=f"Campaign is now {campaign.status.value}.")


@router.post("/campaigns/{campaign_id}/apply", response_class=HTMLResponse)
async def campaign_apply(
    request: Request, campaign_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    deal, errors = open_deal_from_form(db, principal, form_values(await request.form()), campaign_id=str(campaign_id))
    if deal is not None:
        sent = "Offer sent." if principal.role is Role.BRAND else "Application sent."
        return redirect(f"/deals/{deal.id}", flash=sent)
    return _detail_page(request, principal, db, campaign_id, errors=errors, status_code=422)
