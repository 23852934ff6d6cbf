"""The `ledger` consumer group: deals' money from `deal.status_changed` (escrow when an offer is
accepted, released to the creator less the platform's fee on completion, refunded to the brand's
balance on cancellation), and payouts from `payout.*` (which the API and the webhook also apply
in their own transactions: the group then finds the idempotency key taken and moves nothing).

Every operation is keyed by its deal or payout and step, and the escrow's terms are recorded as
`escrow.reserved` the first time: deleting the ledger and replaying the log (`veri ledger
rebuild`) rebuilds identical balances.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import structlog
from sqlalchemy.orm import Session

from veri.brands import service as brand_service
from veri.campaigns import service as campaign_service
from veri.config import LedgerSettings
from veri.creators import service as creator_service
from veri.errors import NotFound
from veri.events.derived import DerivedTable
from veri.events.envelope import Event
from veri.events.registry import REGISTRY
from veri.events.types import DealStatusChanged, PayoutFailed, PayoutPaid, PayoutRequested
from veri.ledger import flows
from veri.ledger.book import LedgerBook
from veri.ledger.currencies import ACCEPTED
from veri.ledger.flows import DealMove, PayoutMove
from veri.ledger.repository import LedgerRepository
from veri.live import service as live

__all__ = ["DEFAULT_CURRENCY", "LedgerHandler"]

log = structlog.get_logger(__name__)

# A deal whose campaign Veri does not hold (a simulated or imported world): the campaigns'
# default currency.
DEFAULT_CURRENCY = "USD"
# Money that moved for a person's own action (not history brought in) refreshes their open pages.
FRESH = timedelta(hours=1)


class LedgerHandler:
    group = "ledger"
    types = REGISTRY.names_of(DealStatusChanged, PayoutRequested, PayoutPaid, PayoutFailed)
    derived = (
        DerivedTable(
            "ledger_accounts", ("kind", "owner_id", "currency"), "SELECT kind, owner_id, currency FROM ledger_accounts"
        ),
        DerivedTable(
            "ledger_transactions",
            ("idempotency_key",),
            "SELECT idempotency_key, kind, currency, deal_id, campaign_id, brand_id, creator_id, payout_id, event_id,"
            " memo, occurred_at FROM ledger_transactions",
        ),
        DerivedTable(
            "ledger_entries",
            ("idempotency_key", "kind", "owner_id", "currency"),
            # Entries have serial ids: each transaction's legs by the account they move, summed.
            "SELECT t.idempotency_key, a.kind, a.owner_id, e.currency, sum(e.amount) AS amount, count(*) AS legs"
            " FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id"
            " JOIN ledger_accounts a ON a.id = e.account_id"
            " GROUP BY t.idempotency_key, a.kind, a.owner_id, e.currency",
        ),
    )

    def __init__(self, settings: LedgerSettings | None = None, *, tell: bool = True):
        self.fee_bps = (settings or LedgerSettings()).platform_fee_bps
        # False in a rebuild: nobody's money changed.
        self.tell = tell

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        book = LedgerBook(db)
        moved: set[tuple[str, uuid.UUID]] = set()
        for event in events:
            p = event.payload
            if isinstance(p, DealStatusChanged):
                if self._deal(db, book, event, p) and _fresh(event):
                    moved |= {("creator", p.creator_id), ("brand", p.brand_id)}
            elif isinstance(p, PayoutRequested | PayoutPaid | PayoutFailed):
                self._payout(book, event, p)
        if self.tell and moved:
            _tell(db, moved)

    def after_commit(self, events: Sequence[Event]) -> None:
        return None

    def reset(self, db: Session) -> None:
        LedgerRepository(db).reset()

    def _deal(self, db: Session, book: LedgerBook, event: Event, p: DealStatusChanged) -> bool:
        """Apply a deal's new status; True when money moved."""
        if p.to_status not in ("accepted", "completed", "cancelled", "declined", "withdrawn"):
            return False
        terms = book.terms(p.deal_id)
        if terms is not None:
            currency = terms.currency
        elif p.to_status in ("accepted", "completed"):
            currency = self._currency_of(db, p)
        else:
            return False  # nothing was ever held for it: nothing to refund
        move = DealMove(
            deal_id=p.deal_id,
            campaign_id=p.campaign_id,
            brand_id=p.brand_id,
            creator_id=p.creator_id,
            status=p.to_status,
            amount=p.accepted_fee_cents if p.accepted_fee_cents is not None else p.fee_cents,
            currency=currency,
            at=event.occurred_at,
            event_id=event.id,
        )
        return bool(flows.apply_deal_move(book, move, fee_bps=self.fee_bps))

    @staticmethod
    def _currency_of(db: Session, p: DealStatusChanged) -> str:
        found = campaign_service.campaign_summaries(db, campaign_ids=[p.campaign_id]).get(p.campaign_id)
        currency = found.currency if found is not None else DEFAULT_CURRENCY
        if currency not in ACCEPTED:
            # Raised: retried, then dead-lettered where an operator sees it (never silently dropped).
            raise ValueError(f"deal {p.deal_id}: the ledger does not keep {currency}")
        return currency

    @staticmethod
    def _payout(book: LedgerBook, event: Event, p: PayoutRequested | PayoutPaid | PayoutFailed) -> None:
        record = book.repo.payout(p.payout_id)
        if (
            record is None
            or record.creator_id != p.creator_id
            or (record.amount_minor, record.currency) != (p.amount_minor, p.currency)
        ):
            # Payouts are records a person made: an event about one Veri never made moves nothing.
            log.warning("payout_event_without_payout", payout_id=str(p.payout_id), event_id=str(event.id))
            return
        move = PayoutMove(
            payout_id=p.payout_id,
            creator_id=p.creator_id,
            amount=p.amount_minor,
            currency=p.currency,
            at=event.occurred_at,
            event_id=event.id,
        )
        if isinstance(p, PayoutRequested):
            flows.request_payout(book, move)
        elif isinstance(p, PayoutPaid):
            flows.payout_paid(book, move)
        else:
            flows.payout_failed(book, move, p.reason)


def _fresh(event: Event) -> bool:
    return event.recorded_at is None or event.recorded_at - event.occurred_at < FRESH


def _tell(db: Session, moved: set[tuple[str, uuid.UUID]]) -> None:
    """The open earnings and spend pages of the people whose money moved refresh (after commit)."""
    users: set[uuid.UUID] = set()
    for kind, owner in moved:
        if kind == "creator":
            creator = creator_service.creator_by_id(db, owner)
            if creator is not None:
                users.add(creator.user_id)
        else:
            try:
                users.add(brand_service.get_brand(db, brand_id=owner).owner_id)
            except NotFound:  # a simulated or imported brand has no account
                continue
    if users:
        live.publish(db, user_ids=users, kind="ledger", data={})
