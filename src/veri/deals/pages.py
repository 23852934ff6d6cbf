"""The deal page: the offer history and the moves the viewer may make."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from veri.deals import service
from veri.deals.negotiation import CLOSED, Action
from veri.deals.schemas import MessageIn, OfferIn
from veri.dependencies import DbSession
from veri.errors import Invalid
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import CurrentPrincipal
from veri.identity.principal import Principal
from veri.web.forms import FormErrors, dollars_to_cents, form_values, parse_form
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])


def _deal_page(
    request: Request,
    principal: Principal,
    db: DbSession,
    deal_id: uuid.UUID,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    deal = service.get_deal(db, principal=principal, deal_id=deal_id)
    return render(
        request,
        "deal_detail.html",
        principal,
        deal=service.deal_out(db, principal=principal, deal=deal, with_offers=True),
        messages=service.list_messages(db, principal=principal, deal_id=deal.id),
        party=service.party_of(principal, deal),
        closed=deal.status in CLOSED,
        errors=errors or {},
        status_code=status_code,
    )


@router.get("/deals/{deal_id}", response_class=HTMLResponse)
def deal_page(request: Request, deal_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    return _deal_page(request, principal, db, deal_id)


@router.post("/deals/{deal_id}/act", response_class=HTMLResponse)
async def deal_act(request: Request, deal_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    values = form_values(await request.form())
    raw_action = values.pop("action", "")
    try:
        action = Action(raw_action)
    except ValueError:
        raise Invalid("action", f"{raw_action!r} is not a deal action") from None
    offer = None
    if action is Action.COUNTER:
        dollars_to_cents(values, "fee", "fee_cents")
        offer, errors = parse_form(OfferIn, values)
        if offer is None:
            if "fee_cents" in errors:
                errors["fee"] = errors.pop("fee_cents")
            return _deal_page(request, principal, db, deal_id, errors=errors, status_code=422)
    service.act_on_deal(
        db,
        principal=principal,
        deal_id=deal_id,
        action=action,
        offer=offer,
        message=values.get("message", ""),
    )
    return redirect(f"/deals/{deal_id}", flash=f"Done: {action.value}.")


@router.post("/deals/{deal_id}/messages", response_class=HTMLResponse)
async def deal_message(request: Request, deal_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    data, errors = parse_form(MessageIn, form_values(await request.form()))
    if data is None:
        return _deal_page(request, principal, db, deal_id, errors=errors, status_code=422)
    service.post_message(db, principal=principal, deal_id=deal_id, body=data.body)
    return redirect(f"/deals/{deal_id}#thread")
