"""Money as people see it and move it: a creator's earnings and payouts, a brand's spend, the
platform's totals and invariants, and the rebuild of the ledger from the log.

Who sees what: a creator their own money, a brand its own, an admin everyone's; another's object
is not found (404), like everywhere in Veri. Payouts are asked for with an idempotency key (a
retry with the same key returns the first payout and moves nothing), sent to the provider after
the request's transaction commits, and settled by the provider's signed webhook.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from veri.campaigns import service as campaign_service
from veri.config import LedgerSettings
from veri.creators import service as creator_service
from veri.db.engine import Database
from veri.errors import Conflict, Forbidden, Invalid, NotFound, VeriError
from veri.events.service import emit
from veri.events.types import PayoutFailed, PayoutPaid, PayoutRequested
from veri.identity.principal import Principal
from veri.ledger import flows
from veri.ledger.book import LedgerBook
from veri.ledger.checks import check_ledger
from veri.ledger.currencies import label
from veri.ledger.flows import AccountRef, InsufficientFunds, PayoutMove
from veri.ledger.handlers import LedgerHandler
from veri.ledger.payouts import BadSignature, PayoutOrder, PayoutProvider, ProviderUnavailable
from veri.ledger.repository import EntryRow, FlowRow, LedgerRepository
from veri.ledger.schemas import (
    AccountTotal,
    BrandBalance,
    BrandCurrencyBalance,
    CheckOut,
    CreatorBalance,
    CreatorCurrencyBalance,
    CurrencyTotals,
    EntryOut,
    LedgerOverview,
    PayoutIn,
    PayoutOut,
    money,
)
from veri.live import service as live
from veri.models.base import utcnow
from veri.models.ledger import AccountKind, Payout, PayoutStatus, TransactionKind

__all__ = [
    "CSV_COLUMNS",
    "WebhookRefused",
    "balance_of",
    "brand_spend",
    "creator_earnings",
    "entries_csv",
    "entries_of",
    "get_payout",
    "headline",
    "list_payouts",
    "overview",
    "payout_out",
    "rebuild",
    "receive_webhook",
    "request_payout",
    "send_due_payouts",
    "send_payout",
]

log = structlog.get_logger(__name__)

K = AccountKind
T = TransactionKind
# A sender's claim on a payout: another sender (the worker's chore) leaves it alone this long.
CLAIM_SECONDS = 60
MONTHS_CHARTED = 24


class WebhookRefused(VeriError):
    """A payout webhook that is not the provider's (no signature, a forged one, an old one)."""

    status_code = 400
    code = "bad_signature"


# -- whose money -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose money a request looks at: one creator's, one brand's, or (admin, neither) all."""

    creator_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None


def _scope(principal: Principal, creator_id: uuid.UUID | None, brand_id: uuid.UUID | None) -> Scope:
    """The viewer's own money, or (admins) the creator's or brand's they name. Naming anyone else's
    is not found: ids reveal nothing."""
    if principal.is_admin:
        if creator_id is not None and brand_id is not None:
            raise Invalid("brand_id", "name a creator or a brand, not both")
        return Scope(creator_id, brand_id)
    if principal.creator_id is not None:
        if (creator_id not in (None, principal.creator_id)) or brand_id is not None:
            raise NotFound("no such balance")
        return Scope(creator_id=principal.creator_id)
    if principal.brand_id is not None:
        if (brand_id not in (None, principal.brand_id)) or creator_id is not None:
            raise NotFound("no such balance")
        return Scope(brand_id=principal.brand_id)
    raise Forbidden("only creators, brands and admins have money in Veri")


# -- balances ----------------------------------------------------------------------------------


def _sum(rows: list[FlowRow], *, account: AccountKind, kinds: tuple[TransactionKind, ...] | None = None) -> int:
    return sum(r.amount for r in rows if r.account is account and (kinds is None or r.kind in kinds))


def _by_currency(rows: list[FlowRow]) -> dict[str, list[FlowRow]]:
    grouped: dict[str, list[FlowRow]] = defaultdict(list)
    for row in rows:
        grouped[row.currency].append(row)
    return dict(sorted(grouped.items()))


def creator_balances(db: Session, creator_id: uuid.UUID) -> list[CreatorCurrencyBalance]:
    out = []
    for currency, rows in _by_currency(LedgerRepository(db).flows(creator_id=creator_id)).items():
        out.append(
            CreatorCurrencyBalance(
                currency=currency,
                available=money(_sum(rows, account=K.CREATOR_PAYABLE), currency),
                in_escrow=money(_sum(rows, account=K.ESCROW), currency),
                pending_payout=money(_sum(rows, account=K.PAYOUTS_PENDING), currency),
                paid_out=money(_sum(rows, account=K.PAYOUTS_PAID), currency),
                earned=money(_sum(rows, account=K.CREATOR_PAYABLE, kinds=(T.RELEASE,)), currency),
            )
        )
    return out


def headline(db: Session, *, creator_id: uuid.UUID) -> dict[str, str]:
    """The creator dashboard's line: what they earned and have available, in the currency they
    earned the most deals' worth in (counted in its own units), with how many others they hold."""
    balances = creator_balances(db, creator_id)
    if not balances:
        return {"earned": label(0, "USD"), "available": label(0, "USD"), "others": "0"}
    main = max(balances, key=lambda b: (b.earned.amount_minor > 0, b.available.amount_minor > 0, b.currency == "USD"))
    return {
        "earned": label(main.earned.amount_minor, main.currency),
        "available": label(main.available.amount_minor, main.currency),
        "others": str(len(balances) - 1),
    }


def _brand_numbers(rows: list[FlowRow], currency: str) -> dict[str, Any]:
    return {
        "funded": money(-_sum(rows, account=K.BRAND_FUNDING), currency),
        "balance": money(_sum(rows, account=K.BRAND_BALANCE), currency),
        "in_escrow": money(_sum(rows, account=K.ESCROW), currency),
        "paid_to_creators": money(_sum(rows, account=K.CREATOR_PAYABLE, kinds=(T.RELEASE,)), currency),
        "fees": money(_sum(rows, account=K.PLATFORM_FEE), currency),
        "refunded": money(_sum(rows, account=K.BRAND_BALANCE, kinds=(T.REFUND,)), currency),
    }


def brand_balances(db: Session, brand_id: uuid.UUID) -> list[BrandCurrencyBalance]:
    return [
        BrandCurrencyBalance(currency=currency, **_brand_numbers(rows, currency))
        for currency, rows in _by_currency(LedgerRepository(db).flows(brand_id=brand_id)).items()
    ]


def balance_of(
    db: Session, *, principal: Principal, creator_id: uuid.UUID | None = None, brand_id: uuid.UUID | None = None
) -> CreatorBalance | BrandBalance:
    scope = _scope(principal, creator_id, brand_id)
    if scope.creator_id is not None:
        return CreatorBalance(creator_id=scope.creator_id, currencies=creator_balances(db, scope.creator_id))
    if scope.brand_id is not None:
        return BrandBalance(brand_id=scope.brand_id, currencies=brand_balances(db, scope.brand_id))
    raise Invalid("creator_id", "an admin names whose balance to show: creator_id or brand_id")


# -- entries -----------------------------------------------------------------------------------


def _entries_out(db: Session, rows: list[EntryRow]) -> list[EntryOut]:
    titles = campaign_service.campaign_summaries(db, campaign_ids={r.campaign_id for r in rows if r.campaign_id})
    return [
        EntryOut(
            id=r.id,
            transaction_id=r.transaction_id,
            occurred_at=r.occurred_at,
            kind=r.kind,
            account=r.account,
            owner_id=r.owner_id,
            amount=money(r.amount, r.currency),
            deal_id=r.deal_id,
            campaign_id=r.campaign_id,
            campaign_title=titles[r.campaign_id].title if r.campaign_id in titles else None,
            brand_id=r.brand_id,
            creator_id=r.creator_id,
            payout_id=r.payout_id,
            memo=r.memo,
        )
        for r in rows
    ]


def entries_of(
    db: Session,
    *,
    principal: Principal,
    creator_id: uuid.UUID | None = None,
    brand_id: uuid.UUID | None = None,
    currency: str | None = None,
    account: AccountKind | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[EntryOut], int]:
    """Entries on the viewer's accounts (a brand's include its deals' escrow), newest first; an
    admin's are everyone's, or a creator's or brand's they name."""
    scope = _scope(principal, creator_id, brand_id)
    rows, total = LedgerRepository(db).entries(
        creator_id=scope.creator_id,
        brand_id=scope.brand_id,
        currency=currency,
        account=account,
        limit=limit,
        offset=offset,
    )
    return _entries_out(db, rows), total


CSV_COLUMNS = (
    "occurred_at",
    "transaction_id",
    "kind",
    "account",
    "currency",
    "amount",
    "amount_minor",
    "deal_id",
    "campaign_id",
    "campaign",
    "payout_id",
    "memo",
)


def entries_csv(
    db: Session,
    *,
    principal: Principal,
    creator_id: uuid.UUID | None = None,
    brand_id: uuid.UUID | None = None,
    currency: str | None = None,
    account: AccountKind | None = None,
) -> Iterator[str]:
    """Every entry of the same scope as `entries_of`, oldest first, as CSV lines (an export for a
    spreadsheet or an accountant: all pages at once)."""
    scope = _scope(principal, creator_id, brand_id)
    repo = LedgerRepository(db)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        for chunk in repo.all_entries(
            creator_id=scope.creator_id, brand_id=scope.brand_id, currency=currency, account=account
        ):
            for e in _entries_out(db, chunk):
                writer.writerow(
                    [
                        e.occurred_at.isoformat(),
                        e.transaction_id,
                        e.kind.value,
                        e.account.value,
                        e.amount.currency,
                        e.amount.amount,
                        e.amount.amount_minor,
                        e.deal_id or "",
                        e.campaign_id or "",
                        _spreadsheet_safe(e.campaign_title or ""),
                        e.payout_id or "",
                        _spreadsheet_safe(e.memo),
                    ]
                )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return lines()


def _spreadsheet_safe(text: str) -> str:
    """A campaign title a brand typed must not run as a formula in the reader's spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- payouts -----------------------------------------------------------------------------------


def payout_out(payout: Payout) -> PayoutOut:
    return PayoutOut(
        id=payout.id,
        creator_id=payout.creator_id,
        amount=money(payout.amount_minor, payout.currency),
        status=payout.status,
        provider=payout.provider,
        provider_ref=payout.provider_ref,
        failure_reason=payout.failure_reason,
        requested_at=payout.requested_at,
        sent_at=payout.sent_at,
        settled_at=payout.settled_at,
    )


def _request_hash(data: PayoutIn) -> str:
    amount = None if data.amount is None else format(data.amount.normalize(), "f")
    canonical = json.dumps({"currency": data.currency, "amount": amount}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(existing: Payout, data: PayoutIn) -> Payout:
    if existing.request_hash != _request_hash(data):
        raise Conflict(
            "this Idempotency-Key was used for a different payout request: use a new key for a new request",
            detail={"payout_id": str(existing.id)},
        )
    return existing


def request_payout(
    db: Session, *, principal: Principal, data: PayoutIn, idempotency_key: str, provider: str
) -> tuple[Payout, bool]:
    """Set money aside for a payout (available -> pending) and record the request; returns the
    payout and whether it is new. The same key again returns the first payout and moves nothing."""
    if principal.creator_id is None:
        raise Forbidden("only creators are paid out")
    creator_id = principal.creator_id
    repo = LedgerRepository(db)
    existing = repo.payout_by_key(creator_id, idempotency_key)
    if existing is not None:
        return _replayed(existing, data), False
    held = {c for (_, _, c) in repo.balances(kinds=[K.CREATOR_PAYABLE], owner_ids=[creator_id])}
    if data.currency not in held:
        yours = ", ".join(sorted(held)) or "none yet"
        raise Invalid("currency", f"you have no {data.currency} balance to pay out (your currencies: {yours})")
    book = LedgerBook(db, repo)
    available = book.balance(AccountRef(K.CREATOR_PAYABLE, creator_id, data.currency), lock=True)
    # Another request with this key may have committed while this one waited for the lock.
    existing = repo.payout_by_key(creator_id, idempotency_key)
    if existing is not None:
        return _replayed(existing, data), False
    amount = data.minor()
    if amount is None:
        amount = available
    if available <= 0:
        raise Invalid("amount", f"nothing is available to pay out in {data.currency}")
    if amount > available:
        raise Invalid("amount", f"more than your available balance of {label(available, data.currency)}")
    now = utcnow()
    payout = repo.add_payout(
        Payout(
            creator_id=creator_id,
            amount_minor=amount,
            currency=data.currency,
            status=PayoutStatus.REQUESTED,
            idempotency_key=idempotency_key,
            request_hash=_request_hash(data),
            provider=provider,
            requested_at=now,
        )
    )
    repo.ensure_payout_account(creator_id, provider, principal.user.email)
    event = emit(
        db,
        PayoutRequested(payout_id=payout.id, creator_id=creator_id, amount_minor=amount, currency=data.currency),
        subject=f"creator:{creator_id}",
        actor=principal.actor,
        occurred_at=now,
    )
    try:
        flows.request_payout(book, _move(payout, now, event.id))
    except InsufficientFunds as exc:  # the lock makes this unreachable; kept as the rule's guard
        raise Invalid("amount", f"more than your available balance of {label(exc.available, exc.currency)}") from None
    log.info("payout_requested", payout_id=str(payout.id), amount=amount, currency=data.currency)
    return payout, True


def _move(payout: Payout, at: datetime, event_id: uuid.UUID | None = None) -> PayoutMove:
    return PayoutMove(
        payout_id=payout.id,
        creator_id=payout.creator_id,
        amount=payout.amount_minor,
        currency=payout.currency,
        at=at,
        event_id=event_id,
    )


def list_payouts(
    db: Session, *, principal: Principal, creator_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Payout], int]:
    if principal.brand_id is not None and not principal.is_admin:
        raise Forbidden("payouts are creators'")
    scope = _scope(principal, creator_id, None)
    return LedgerRepository(db).payouts(creator_id=scope.creator_id, limit=limit, offset=offset)


def get_payout(db: Session, *, principal: Principal, payout_id: uuid.UUID) -> Payout:
    payout = LedgerRepository(db).payout(payout_id)
    if payout is None or not (principal.is_admin or payout.creator_id == principal.creator_id):
        raise NotFound("no such payout")
    return payout


def _settle(
    db: Session,
    payout: Payout,
    outcome: str,
    *,
    at: datetime,
    reason: str = "",
    provider_ref: str | None = None,
) -> bool:
    """Record a payout's outcome and move its money; False when it changes nothing (told before,
    or paid after it failed)."""
    if provider_ref and not payout.provider_ref:
        payout.provider_ref = provider_ref
    book = LedgerBook(db)
    if outcome == "paid":
        if payout.status in (PayoutStatus.PAID, PayoutStatus.FAILED):
            return False
        payout.status, payout.settled_at = PayoutStatus.PAID, at
        event = emit(
            db,
            PayoutPaid(
                payout_id=payout.id,
                creator_id=payout.creator_id,
                amount_minor=payout.amount_minor,
                currency=payout.currency,
                provider_ref=payout.provider_ref or "",
            ),
            subject=f"creator:{payout.creator_id}",
            actor=f"system:payouts:{payout.provider}",
            occurred_at=at,
        )
        flows.payout_paid(book, _move(payout, at, event.id))
        _tell(db, payout, f"{label(payout.amount_minor, payout.currency)} is on its way to your bank", "")
    else:
        if payout.status is PayoutStatus.FAILED:
            return False
        after_paid = payout.status is PayoutStatus.PAID
        payout.status, payout.settled_at, payout.failure_reason = PayoutStatus.FAILED, at, reason[:500]
        event = emit(
            db,
            PayoutFailed(
                payout_id=payout.id,
                creator_id=payout.creator_id,
                amount_minor=payout.amount_minor,
                currency=payout.currency,
                reason=reason[:500],
                after_paid=after_paid,
            ),
            subject=f"creator:{payout.creator_id}",
            actor=f"system:payouts:{payout.provider}",
            occurred_at=at,
        )
        flows.payout_failed(book, _move(payout, at, event.id), reason)
        _tell(
            db,
            payout,
            f"Your payout of {label(payout.amount_minor, payout.currency)} failed",
            "The money is back in your available balance." + (f" The provider said: {reason}" if reason else ""),
        )
    payout.updated_at = at
    db.flush()
    log.info("payout_settled", payout_id=str(payout.id), outcome=outcome, reason=reason)
    return True


def _tell(db: Session, payout: Payout, title: str, body: str) -> None:
    creator = creator_service.creator_by_id(db, payout.creator_id)
    if creator is None:
        return
    live.notify(db, user_id=creator.user_id, kind="payout", title=title, body=body, link="/earnings", email=True)
    live.publish(db, user_ids=[creator.user_id], kind="ledger", data={"payout_id": str(payout.id)})


def send_payout(
    database: Database, provider: PayoutProvider, payout_id: uuid.UUID, *, settings: LedgerSettings
) -> PayoutStatus | None:
    """Ask the provider to pay a requested payout, outside any transaction (the claim and the
    answer are each their own). None when another sender has it or it was sent before."""
    now = utcnow()
    with database.transaction() as db:
        repo = LedgerRepository(db)
        payout = repo.claim_payout(payout_id, now=now, stale_before=now - timedelta(seconds=CLAIM_SECONDS))
        if payout is None:
            return None
        account = repo.payout_account(payout.creator_id, provider.name)
        order = PayoutOrder(
            payout_id=payout.id,
            creator_id=payout.creator_id,
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            email=account.email if account is not None else "",
            account_ref=account.external_id if account is not None else None,
        )
        attempts = payout.attempts
    try:
        answer = provider.send(order)
    except ProviderUnavailable as exc:
        log.warning("payout_not_sent", payout_id=str(payout_id), attempt=attempts, error=str(exc))
        with database.transaction() as db:
            repo = LedgerRepository(db)
            if exc.account_ref:
                repo.set_payout_account(order.creator_id, provider.name, exc.account_ref)
            held = repo.payout(payout_id, for_update=True)
            if held is None or held.status is not PayoutStatus.REQUESTED:
                return held.status if held is not None else None
            if attempts >= settings.payout_max_attempts:
                _settle(db, held, "failed", at=utcnow(), reason=f"the provider could not be reached ({exc})"[:500])
            return held.status
    with database.transaction() as db:
        repo = LedgerRepository(db)
        if answer.account_ref:
            repo.set_payout_account(order.creator_id, provider.name, answer.account_ref)
        held = repo.payout(payout_id, for_update=True)
        assert held is not None
        if held.status is PayoutStatus.REQUESTED:
            at = utcnow()
            held.provider_ref = answer.provider_ref or held.provider_ref
            held.sent_at, held.claimed_at = at, None
            if answer.outcome == "sent":
                held.status, held.updated_at = PayoutStatus.SENT, at
                _tell_moved(db, held)
            else:
                _settle(db, held, answer.outcome, at=at, reason=answer.reason)
        log.info("payout_sent", payout_id=str(payout_id), outcome=answer.outcome, provider=provider.name)
        return held.status


def _tell_moved(db: Session, payout: Payout) -> None:
    creator = creator_service.creator_by_id(db, payout.creator_id)
    if creator is not None:
        live.publish(db, user_ids=[creator.user_id], kind="ledger", data={"payout_id": str(payout.id)})


def send_due_payouts(database: Database, provider: PayoutProvider, *, settings: LedgerSettings) -> int:
    """The worker's chore: send every requested payout nobody is sending (after a crash, or while
    the provider was down). Returns how many were sent."""
    now = utcnow()
    with database.sessions() as db:
        due = LedgerRepository(db).payouts_to_send(stale_before=now - timedelta(seconds=CLAIM_SECONDS))
    sent = 0
    for payout_id in due:
        if send_payout(database, provider, payout_id, settings=settings) not in (None, PayoutStatus.REQUESTED):
            sent += 1
    return sent


def receive_webhook(db: Session, *, provider: PayoutProvider, body: bytes, signature: str | None) -> str:
    """Apply a provider's webhook: verified (else WebhookRefused, logged), then the payout it names
    is settled once. Returns what came of it (paid, failed, ignored, unknown, duplicate)."""
    try:
        update = provider.parse_webhook(body, signature)
    except BadSignature as exc:
        log.warning("payout_webhook_refused", provider=provider.name, reason=str(exc))
        raise WebhookRefused(f"webhook refused: {exc}") from None
    if update is None:
        return "ignored"
    repo = LedgerRepository(db)
    payout = repo.payout(update.payout_id, for_update=True) if update.payout_id else None
    if payout is None:
        found = repo.payout_by_ref(update.provider_ref)
        payout = repo.payout(found.id, for_update=True) if found is not None else None
    if payout is None:
        log.warning("payout_webhook_unknown", provider_ref=update.provider_ref, event_id=update.event_id)
        return "unknown"
    if (update.amount_minor, update.currency) != (payout.amount_minor, payout.currency):
        log.error(
            "payout_webhook_mismatch",
            payout_id=str(payout.id),
            event_id=update.event_id,
            said=f"{update.amount_minor} {update.currency}",
            ours=f"{payout.amount_minor} {payout.currency}",
        )
        return "ignored"
    changed = _settle(db, payout, update.outcome, at=utcnow(), reason=update.reason, provider_ref=update.provider_ref)
    log.info("payout_webhook", payout_id=str(payout.id), outcome=update.outcome, event_id=update.event_id)
    return update.outcome if changed else "duplicate"


# -- pages -------------------------------------------------------------------------------------


def _months(rows: list[FlowRow], today: date) -> dict[str, dict[str, Any]]:
    """Per currency: the months from the first with money to this one (at most MONTHS_CHARTED),
    what was earned and paid out in each."""
    charts: dict[str, dict[str, Any]] = {}
    for currency, part in _by_currency(rows).items():
        dated = [r for r in part if r.month is not None]
        if not dated:
            continue
        first = min(r.month for r in dated if r.month is not None).date().replace(day=1)
        months: list[date] = []
        at = today.replace(day=1)
        while at >= first and len(months) < MONTHS_CHARTED:
            months.insert(0, at)
            at = (at - timedelta(days=1)).replace(day=1)
        earned = dict.fromkeys(months, 0)
        paid = dict.fromkeys(months, 0)
        for r in dated:
            assert r.month is not None
            month = r.month.date().replace(day=1)
            if month not in earned:
                continue
            if r.account is K.CREATOR_PAYABLE and r.kind is T.RELEASE:
                earned[month] += r.amount
            elif r.account is K.PAYOUTS_PAID:
                paid[month] += r.amount
        charts[currency] = {
            "currency": currency,
            "months": [m.isoformat()[:7] for m in months],
            "earned": [float(money(earned[m], currency).amount) for m in months],
            "paid_out": [float(money(paid[m], currency).amount) for m in months],
        }
    return charts


def creator_earnings(db: Session, *, principal: Principal, limit: int, offset: int) -> dict[str, Any]:
    """Everything the earnings page shows."""
    if principal.creator_id is None:
        raise Forbidden("the earnings page is a creator's")
    creator_id = principal.creator_id
    repo = LedgerRepository(db)
    entries, total = entries_of(db, principal=principal, limit=limit, offset=offset)
    payouts, payout_total = repo.payouts(creator_id=creator_id, limit=10, offset=0)
    return {
        "balances": creator_balances(db, creator_id),
        "charts": list(_months(repo.flows(creator_id=creator_id, by_month=True), datetime.now(UTC).date()).values()),
        "entries": entries,
        "entry_total": total,
        "payouts": [payout_out(p) for p in payouts],
        "payout_total": payout_total,
    }


def brand_spend(db: Session, *, principal: Principal, limit: int, offset: int) -> dict[str, Any]:
    """Everything the spend page shows: totals per currency, per campaign, the entries."""
    if principal.brand_id is None:
        raise Forbidden("the spend page is a brand's")
    brand_id = principal.brand_id
    rows = LedgerRepository(db).flows(brand_id=brand_id, by_campaign=True)
    grouped: dict[tuple[uuid.UUID | None, str], list[FlowRow]] = defaultdict(list)
    for row in rows:
        grouped[(row.campaign_id, row.currency)].append(row)
    titles = campaign_service.campaign_summaries(db, campaign_ids={c for c, _ in grouped if c is not None})
    campaigns = []
    for (campaign_id, currency), part in grouped.items():
        numbers = _brand_numbers(part, currency)
        reserved = _sum(part, account=K.ESCROW, kinds=(T.RESERVE,))
        campaigns.append(
            {
                "campaign_id": campaign_id,
                "title": titles[campaign_id].title if campaign_id in titles else "(a campaign Veri does not hold)",
                "currency": currency,
                "committed": money(reserved, currency),
                **{k: numbers[k] for k in ("in_escrow", "paid_to_creators", "fees", "refunded")},
            }
        )
    campaigns.sort(key=lambda c: (c["currency"], -c["committed"].amount_minor, c["title"]))
    entries, total = entries_of(db, principal=principal, limit=limit, offset=offset)
    return {
        "balances": brand_balances(db, brand_id),
        "campaigns": campaigns,
        "entries": entries,
        "entry_total": total,
    }


def overview(db: Session, *, principal: Principal) -> LedgerOverview:
    """The platform's ledger: totals per currency and account kind (each currency must sum to
    zero), every invariant checked, payouts by status."""
    if not principal.is_admin:
        raise Forbidden("the ledger's totals are for admins")
    repo = LedgerRepository(db)
    by_currency: dict[str, list[AccountTotal]] = defaultdict(list)
    for currency, kind, total, accounts in repo.totals():
        by_currency[currency].append(AccountTotal(account=kind, accounts=accounts, balance=money(total, currency)))
    currencies = []
    for currency, parts in sorted(by_currency.items()):
        total = sum(p.balance.amount_minor for p in parts)
        currencies.append(
            CurrencyTotals(currency=currency, by_account=parts, total=money(total, currency), balanced=total == 0)
        )
    checks = [CheckOut(name=c.name, ok=c.ok, failures=c.failures) for c in check_ledger(db)]
    transactions, entries = repo.counts()
    return LedgerOverview(
        ok=all(c.ok for c in checks),
        currencies=currencies,
        checks=checks,
        transactions=transactions,
        entries=entries,
        payouts={status.value: count for status, count in repo.payouts_by_status().items()},
    )


def recent_transactions(db: Session, *, principal: Principal, limit: int = 20) -> list[dict[str, Any]]:
    if not principal.is_admin:
        raise Forbidden("the ledger's transactions are for admins")
    return [
        {
            "key": t.idempotency_key,
            "kind": t.kind.value,
            "currency": t.currency,
            "occurred_at": t.occurred_at,
            "deal_id": t.deal_id,
            "payout_id": t.payout_id,
            "memo": t.memo,
        }
        for t in LedgerRepository(db).recent_transactions(limit)
    ]


# -- rebuild -----------------------------------------------------------------------------------


def rebuild(
    database: Database, *, settings: LedgerSettings, partitions: int, progress: Callable[[int], None] | None = None
) -> int:
    """Delete every account, transaction and entry and apply the whole log again: the escrows'
    recorded terms and the payouts' events bring back identical balances. Returns the events applied."""
    from veri.events.bus.embedded import EmbeddedLog
    from veri.events.runtime import ConsumerLoop, RetryPolicy
    from veri.events.service import replay_group

    handler = LedgerHandler(settings, tell=False)
    replay_group(database, handler, (0, 0), reset=True)
    consumer = EmbeddedLog(database, partitions=partitions, lease_seconds=600).consumer(handler.group, "rebuild")
    loop = ConsumerLoop(database, consumer, handler, batch_size=1000, retry=RetryPolicy(3, 0.5))
    applied = 0
    try:
        while True:
            done = loop.run_once()
            applied += done
            if progress is not None:
                progress(done)
            if done == 0 and not sum(consumer.lag().values()):
                break
    finally:
        consumer.close()
    return applied
