"""Ledger API: balances, entries (JSON pages or a CSV export), payouts (asked with an
Idempotency-Key, settled by the provider's signed webhook), and the platform's totals for admins."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from veri.dependencies import DbSession
from veri.identity.deps import AdminPrincipal, CurrentPrincipal
from veri.ledger import service
from veri.ledger.schemas import BalanceOut, EntryOut, LedgerOverview, PayoutIn, PayoutOut
from veri.models.ledger import AccountKind
from veri.pagination import Page, Paging

__all__ = ["IdempotencyKey", "router"]

router = APIRouter(prefix="/api/v1", tags=["ledger"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",
        description="Your key for this request (a UUID, say): the same key again returns the first payout",
    ),
]
CurrencyParam = Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="Only this currency (ISO 4217)")]


@router.get("/ledger/balance", response_model=BalanceOut)
def get_balance(
    principal: CurrentPrincipal,
    db: DbSession,
    creator_id: Annotated[uuid.UUID | None, Query(description="Admins: whose balance")] = None,
    brand_id: Annotated[uuid.UUID | None, Query(description="Admins: whose balance")] = None,
) -> BalanceOut:
    """A creator's money (available, in escrow, pending payout, paid out, earned) or a brand's
    (funded, balance, in escrow, paid to creators, fees, refunded), per currency."""
    return service.balance_of(db, principal=principal, creator_id=creator_id, brand_id=brand_id)


@router.get(
    "/ledger/entries",
    response_model=Page[EntryOut],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "A page, or all as CSV"}},
)
def list_entries(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    currency: CurrencyParam = None,
    account: AccountKind | None = None,
    creator_id: Annotated[uuid.UUID | None, Query(description="Admins: a creator's entries")] = None,
    brand_id: Annotated[uuid.UUID | None, Query(description="Admins: a brand's entries")] = None,
    format: Annotated[
        Literal["json", "csv"] | None, Query(description="csv (or Accept: text/csv): every entry, oldest first")
    ] = None,
) -> Page[EntryOut] | Response:
    """Entries on your accounts, newest first (a brand's include its deals' escrow; an admin's are
    everyone's). As CSV, every page at once."""
    wants_csv = format == "csv" or (format is None and "text/csv" in request.headers.get("accept", ""))
    if wants_csv:
        lines = service.entries_csv(
            db, principal=principal, creator_id=creator_id, brand_id=brand_id, currency=currency, account=account
        )
        body = "".join(lines)
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="veri-ledger.csv"'},
        )
    items, total = service.entries_of(
        db,
        principal=principal,
        creator_id=creator_id,
        brand_id=brand_id,
        currency=currency,
        account=account,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page[EntryOut](items=items, total=total, **paging.model_dump())


@router.post(
    "/payouts",
    status_code=status.HTTP_201_CREATED,
    response_model=PayoutOut,
    responses={200: {"model": PayoutOut, "description": "The first payout: this Idempotency-Key was used before"}},
)
def create_payout(
    data: PayoutIn,
    idempotency_key: IdempotencyKey,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    principal: CurrentPrincipal,
    db: DbSession,
) -> PayoutOut:
    """Pay out `amount` (or all that is available) in `currency` to your bank. 201 with the new
    payout; 200 with the first one when the Idempotency-Key was used before (nothing moves)."""
    payout, created = service.request_payout(
        db,
        principal=principal,
        data=data,
        idempotency_key=idempotency_key,
        provider=request.app.state.payouts.name,
    )
    if created:
        # After the response: the request's transaction has committed by then.
        background.add_task(
            service.send_payout,
            request.app.state.db,
            request.app.state.payouts,
            payout.id,
            settings=request.app.state.settings.ledger,
        )
    else:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return service.payout_out(payout)


@router.get("/payouts", response_model=Page[PayoutOut])
def list_payouts(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    creator_id: Annotated[uuid.UUID | None, Query(description="Admins: a creator's payouts")] = None,
) -> Page[PayoutOut]:
    """Your payouts, newest first (an admin's: everyone's)."""
    rows, total = service.list_payouts(
        db, principal=principal, creator_id=creator_id, limit=paging.limit, offset=paging.offset
    )
    return Page[PayoutOut](items=[service.payout_out(p) for p in rows], total=total, **paging.model_dump())


class WebhookOut(BaseModel):
    received: bool
    result: str


@router.post(
    "/payouts/webhook",
    response_model=WebhookOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": "t=<unix time>,v1=<HMAC-SHA256 of '<t>.<body>' with the webhook secret>",
            }
        ],
    },
)
async def payout_webhook(request: Request, db: DbSession) -> WebhookOut:
    """The payout provider's webhook (Stripe: payout.paid, payout.failed, payout.canceled). A body
    without a valid, recent signature is refused with 400."""
    body = await request.body()
    result = await run_in_threadpool(
        service.receive_webhook,
        db,
        provider=request.app.state.payouts,
        body=body,
        signature=request.headers.get("stripe-signature"),
    )
    return WebhookOut(received=True, result=result)


@router.get("/payouts/{payout_id}", response_model=PayoutOut)
def get_payout(payout_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> PayoutOut:
    return service.payout_out(service.get_payout(db, principal=principal, payout_id=payout_id))


@router.get("/admin/ledger", response_model=LedgerOverview)
def admin_ledger(principal: AdminPrincipal, db: DbSession) -> LedgerOverview:
    """The ledger's totals per currency and account kind (each currency sums to zero when it
    balances) and every invariant checked."""
    return service.overview(db, principal=principal)
