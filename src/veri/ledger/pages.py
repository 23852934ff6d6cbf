"""Money pages: a creator's earnings (balances, a chart by month, every entry with its deal, the
payout button, CSV), a brand's spend (funded, in escrow, paid, fees, by campaign), and the admin's
ledger (totals that must balance, every invariant)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from veri.dependencies import DbSession
from veri.errors import Invalid, VeriError
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import AdminPrincipal, CurrentPrincipal
from veri.identity.principal import Principal
from veri.ledger import service
from veri.ledger.currencies import label
from veri.ledger.schemas import Money, PayoutIn
from veri.models.accounts import Role
from veri.pagination import Paging
from veri.web.forms import form_values
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])

ACCOUNT_LABELS = {
    "brand_funding": "charged to payment method",
    "brand_balance": "balance",
    "escrow": "escrow",
    "creator_payable": "available",
    "payouts_pending": "payout pending",
    "payouts_paid": "paid out",
    "platform_fee": "platform fee",
}
KIND_LABELS = {
    "fund": "Funded",
    "reserve": "Held in escrow",
    "release": "Deal completed",
    "refund": "Refunded",
    "payout_request": "Payout requested",
    "payout_paid": "Payout paid",
    "payout_failed": "Payout returned",
}


def show(value: Money) -> str:
    return label(value.amount_minor, value.currency)


def _helpers() -> dict[str, Any]:
    return {"show": show, "account_labels": ACCOUNT_LABELS, "kind_labels": KIND_LABELS}


def _earnings_page(
    request: Request,
    principal: Principal,
    db: DbSession,
    paging: Paging,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    data = service.creator_earnings(db, principal=principal, limit=paging.limit, offset=paging.offset)
    return render(
        request,
        "earnings.html",
        principal,
        e=data,
        page={"offset": paging.offset, "limit": paging.limit, "total": data["entry_total"]},
        new_key=str(uuid.uuid4()),  # one per rendering: a double-submitted form pays once
        errors=errors or {},
        status_code=status_code,
        **_helpers(),
    )


@router.get("/earnings", response_class=HTMLResponse)
def earnings_page(request: Request, principal: CurrentPrincipal, db: DbSession, paging: Paging) -> Response:
    if principal.role is Role.BRAND:
        return redirect("/spend")
    if principal.role is Role.ADMIN:
        return redirect("/admin/ledger")
    return _earnings_page(request, principal, db, paging)


@router.post("/earnings/payouts", response_class=HTMLResponse)
async def payout_submit(
    request: Request, background: BackgroundTasks, principal: CurrentPrincipal, db: DbSession, paging: Paging
) -> Response:
    values = form_values(await request.form())
    key = str(values.get("idempotency_key") or "").strip()
    try:
        if not key or len(key) > 200:
            raise Invalid("form", "reload the page and try again")
        data = PayoutIn.model_validate({"currency": values.get("currency"), "amount": values.get("amount") or None})
        with db.begin_nested():
            payout, created = service.request_payout(
                db, principal=principal, data=data, idempotency_key=key, provider=request.app.state.payouts.name
            )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "form"
        return _earnings_page(
            request, principal, db, paging, errors={field: first["msg"].removeprefix("Value error, ")}, status_code=422
        )
    except VeriError as exc:
        field = getattr(exc, "field", "form")
        reason = getattr(exc, "reason", exc.message)
        return _earnings_page(request, principal, db, paging, errors={field: reason}, status_code=exc.status_code)
    if created:
        background.add_task(
            service.send_payout,
            request.app.state.db,
            request.app.state.payouts,
            payout.id,
            settings=request.app.state.settings.ledger,
        )
    amount = label(payout.amount_minor, payout.currency)
    said = f"Payout of {amount} requested." if created else f"Payout of {amount} was already requested."
    return redirect("/earnings", flash=said)


@router.get("/spend", response_class=HTMLResponse)
def spend_page(request: Request, principal: CurrentPrincipal, db: DbSession, paging: Paging) -> Response:
    if principal.role is Role.CREATOR:
        return redirect("/earnings")
    if principal.role is Role.ADMIN:
        return redirect("/admin/ledger")
    data = service.brand_spend(db, principal=principal, limit=paging.limit, offset=paging.offset)
    return render(
        request,
        "spend.html",
        principal,
        s=data,
        page={"offset": paging.offset, "limit": paging.limit, "total": data["entry_total"]},
        **_helpers(),
    )


@router.get("/admin/ledger", response_class=HTMLResponse)
def admin_ledger_page(request: Request, principal: AdminPrincipal, db: DbSession) -> Response:
    payouts, _ = service.list_payouts(db, principal=principal, limit=20)
    return render(
        request,
        "admin_ledger.html",
        principal,
        o=service.overview(db, principal=principal),
        recent=service.recent_transactions(db, principal=principal),
        payouts=[service.payout_out(p) for p in payouts],
        **_helpers(),
    )
