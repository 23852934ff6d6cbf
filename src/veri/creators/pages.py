"""Creator pages: the dashboard, the profile editor, and, for brands, the creator directory and a
creator's profile with an invitation to a campaign."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from veri.campaigns import service as campaign_service
from veri.connectors import service as connector_service
from veri.connectors.schemas import PLATFORM_NAMES
from veri.content import service as content_service
from veri.creators import service
from veri.creators.schemas import CreatorUpdate, SocialAccountIn
from veri.deals import service as deal_service
from veri.deals.forms import open_deal_from_form
from veri.dependencies import DbSession
from veri.errors import Forbidden, VeriError
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import BrandPrincipal, CreatorPrincipal, CurrentPrincipal
from veri.identity.principal import Principal
from veri.ledger import service as ledger_service
from veri.models.accounts import Role
from veri.models.campaigns import CampaignStatus
from veri.models.creators import Platform
from veri.models.deals import DealStatus
from veri.pagination import Page, Paging
from veri.recommend import service as recommend_service
from veri.scoring import service as scoring_service
from veri.web.edge import policy_with_form_targets
from veri.web.forms import FormErrors, errors_from, form_values, parse_form
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])


@router.get("/creator", response_class=HTMLResponse)
def dashboard(request: Request, principal: CreatorPrincipal, db: DbSession) -> Response:
    creator = service.own_creator(db, principal=principal)
    deals, deal_total = deal_service.list_deals(db, principal=principal, limit=20)
    content, content_total = content_service.list_content(db, principal=principal, limit=10)
    open_deals = sum(1 for d in deals if d.status in (DealStatus.PROPOSED, DealStatus.ACCEPTED, DealStatus.DELIVERED))
    return render(
        request,
        "creator_dashboard.html",
        principal,
        creator=creator,
        deals=[deal_service.deal_out(db, principal=principal, deal=d) for d in deals],
        deal_total=deal_total,
        open_deals=open_deals,
        earnings=ledger_service.headline(db, creator_id=creator.id),
        content=content_service.content_out(db, items=content),
        content_total=content_total,
        for_you=recommend_service.recommend_campaigns(
            db, principal=principal, serving=request.app.state.serving_model, limit=5
        ),
        loop=scoring_service.creator_progress(
            db, principal=principal, boards=getattr(request.app.state, "leaderboards", None)
        ),
    )


def _profile_page(
    request: Request,
    principal: CreatorPrincipal,
    db: DbSession,
    *,
    errors: FormErrors | None = None,
    values: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    creator = service.own_creator(db, principal=principal)
    runtime = request.app.state.connectors
    synced, _ = content_service.list_content(db, principal=principal, limit=8)
    page = render(
        request,
        "creator_profile.html",
        principal,
        creator=creator,
        accounts=service.list_social_accounts(db, principal=principal),
        connections={c.account_id: c for c in connector_service.connections(db, principal=principal)},
        connectable=[p.value for p in runtime.connectors.platforms],
        platform_names=PLATFORM_NAMES,
        synced=content_service.content_out(db, items=synced),
        platforms=[p.value for p in Platform],
        errors=errors or {},
        values=values or {},
        status_code=status_code,
    )
    # The connect buttons' redirect leads to the platforms' consent pages.
    page.headers["content-security-policy"] = policy_with_form_targets(runtime.connectors.authorize_origins())
    return page


@router.get("/creator/profile", response_class=HTMLResponse)
def profile_page(request: Request, principal: CreatorPrincipal, db: DbSession) -> Response:
    return _profile_page(request, principal, db)


def _split(text: object) -> list[str]:
    return [part.strip() for part in str(text or "").split(",") if part.strip()]


@router.post("/creator/profile", response_class=HTMLResponse)
async def profile_submit(request: Request, principal: CreatorPrincipal, db: DbSession) -> Response:
    values = form_values(await request.form(), lists=("platforms",))
    values["niches"] = _split(values.get("niches"))
    values.setdefault("platforms", [])
    data, errors = parse_form(CreatorUpdate, values)
    if data is not None:
        service.update_profile(db, principal=principal, changes=data)
        return redirect("/creator/profile", flash="Profile saved.")
    return _profile_page(request, principal, db, errors=errors, values=values, status_code=422)


@router.post("/creator/social-accounts", response_class=HTMLResponse)
async def social_account_submit(request: Request, principal: CreatorPrincipal, db: DbSession) -> Response:
    values = form_values(await request.form())
    data, errors = parse_form(SocialAccountIn, values)
    if data is not None:
        try:
            with db.begin_nested():
                service.add_social_account(db, principal=principal, data=data)
        except VeriError as exc:
            errors = errors_from(exc)
        else:
            return redirect("/creator/profile", flash=f"{data.platform.value} account added.")
    return _profile_page(
        request,
        principal,
        db,
        errors={f"social_{k}": v for k, v in errors.items()},
        status_code=422,
    )


@router.post("/creator/social-accounts/{account_id}/remove")
def social_account_remove(account_id: uuid.UUID, principal: CreatorPrincipal, db: DbSession) -> Response:
    service.remove_social_account(db, principal=principal, account_id=account_id)
    return redirect("/creator/profile", flash="Social account removed.")


@router.get("/creators", response_class=HTMLResponse)
def directory(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    niche: Annotated[str | None, Query(max_length=40)] = None,
    platform: Platform | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    if principal.role is Role.CREATOR:
        raise Forbidden("the creator directory is for brands")
    rows, total = service.list_creators(
        db,
        principal=principal,
        niche=niche or None,
        platform=platform.value if platform else None,
        query=q or None,
        limit=paging.limit,
        offset=paging.offset,
    )
    return render(
        request,
        "creators.html",
        principal,
        creators=rows,
        page=Page[object](items=[], total=total, limit=paging.limit, offset=paging.offset),
        filters={
            "niche": niche or "",
            "platform": platform.value if platform else "",
            "q": q or "",
        },
        platforms=[p.value for p in Platform],
    )


def _public_profile(
    request: Request,
    principal: Principal,
    db: DbSession,
    creator_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    values: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    if principal.role is Role.CREATOR:
        raise Forbidden("creator profiles are for brands")
    creator = service.get_creator(db, principal=principal, creator_id=creator_id)
    deals, _ = deal_service.list_deals(db, principal=principal, with_creator=creator.id, limit=200)
    with_them = [deal_service.deal_out(db, principal=principal, deal=d) for d in deals]
    invitable = []
    if principal.role is Role.BRAND:
        taken = {d.campaign_id for d in with_them}
        campaigns, _ = campaign_service.list_campaigns(db, principal=principal, limit=200)
        invitable = [
            c for c in campaigns if c.status in (CampaignStatus.OPEN, CampaignStatus.ACTIVE) and c.id not in taken
        ]
    return render(
        request,
        "creator_public.html",
        principal,
        creator=creator,
        deals=with_them,
        campaigns=invitable,
        errors=errors or {},
        values=values or {},
        status_code=status_code,
    )


@router.get("/creators/{creator_id}", response_class=HTMLResponse)
def public_profile(request: Request, creator_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    """A creator as a brand sees them: the profile, the deals with them, and an invitation."""
    return _public_profile(request, principal, db, creator_id)


@router.post("/creators/{creator_id}/invite", response_class=HTMLResponse)
async def invite(request: Request, creator_id: uuid.UUID, principal: BrandPrincipal, db: DbSession) -> Response:
    """The brand's first offer to a creator on one of its open campaigns."""
    values = form_values(await request.form())
    deal, errors = open_deal_from_form(db, principal, values, creator_id=str(creator_id))
    if deal is not None:
        return redirect(f"/deals/{deal.id}", flash="Offer sent: the creator answers on this page.")
    return _public_profile(request, principal, db, creator_id, errors=errors, values=values, status_code=422)
