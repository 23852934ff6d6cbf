"""The ledger's `Book` on PostgreSQL, in the caller's transaction: accounts opened on first use,
postings inserted once per idempotency key, balances summed from entries, and an escrow's terms
recorded as an `escrow.reserved` event with an id derived from the deal (so a replay finds them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from veri.events.outbox import stored_event
from veri.events.service import emit
from veri.events.types import EscrowReserved
from veri.ledger.flows import AccountRef, EscrowTerms, KeyReused, Posting, check_limits
from veri.ledger.repository import LedgerRepository

__all__ = ["LedgerBook", "terms_event_id"]

_TERMS = uuid.UUID("0b7d7c56-3c1e-4f0e-9a57-6a0f3d1c2e17")


def terms_event_id(deal_id: uuid.UUID) -> uuid.UUID:
    """The id of a deal's `escrow.reserved`: the same on every replay."""
    return uuid.uuid5(_TERMS, f"escrow:{deal_id}")


class LedgerBook:
    def __init__(self, db: Session, repository: LedgerRepository | None = None):
        self.db = db
        self.repo = repository or LedgerRepository(db)

    def _id(self, account: AccountRef) -> uuid.UUID:
        return self.repo.account_id(account.kind, account.owner_id, account.currency)

    def balance(self, account: AccountRef, *, lock: bool = False) -> int:
        account_id = self._id(account)
        if lock:
            self.repo.lock_account(account_id)
        return self.repo.balance(account_id)

    def applied(self, key: str) -> bool:
        return self.repo.has_transaction(key)

    def post(self, posting: Posting) -> bool:
        legs = [(self._id(account), amount) for account, amount in posting.legs]
        made = self.repo.insert_transaction(
            {
                "idempotency_key": posting.key,
                "kind": posting.kind,
                "currency": posting.currency,
                "deal_id": posting.refs.deal_id,
                "campaign_id": posting.refs.campaign_id,
                "brand_id": posting.refs.brand_id,
                "creator_id": posting.refs.creator_id,
                "payout_id": posting.refs.payout_id,
                "event_id": posting.event_id,
                "memo": posting.memo[:300],
                "occurred_at": posting.at,
            }
        )
        if made is None:
            if sorted(self.repo.legs_of(posting.key)) != sorted(legs):
                raise KeyReused(f"{posting.key} was applied with other legs")
            return False
        self.repo.insert_entries(
            [
                {"transaction_id": made, "account_id": account_id, "currency": posting.currency, "amount": amount}
                for account_id, amount in legs
            ]
        )
        for (account, _), (account_id, _) in zip(posting.legs, legs, strict=True):
            check_limits(account, self.repo.balance(account_id))
        return True

    def terms(self, deal_id: uuid.UUID) -> EscrowTerms | None:
        record = stored_event(self.db, terms_event_id(deal_id))
        if record is None:
            return None
        payload = record.to_event().payload
        assert isinstance(payload, EscrowReserved)
        return EscrowTerms(
            deal_id=payload.deal_id,
            campaign_id=payload.campaign_id,
            brand_id=payload.brand_id,
            creator_id=payload.creator_id,
            currency=payload.currency,
            amount=payload.amount_minor,
            charged=payload.charged_minor,
            fee_bps=payload.platform_fee_bps,
        )

    def record_terms(self, terms: EscrowTerms, at: datetime) -> None:
        emit(
            self.db,
            EscrowReserved(
                deal_id=terms.deal_id,
                campaign_id=terms.campaign_id,
                brand_id=terms.brand_id,
                creator_id=terms.creator_id,
                currency=terms.currency,
                amount_minor=terms.amount,
                charged_minor=terms.charged,
                platform_fee_bps=terms.fee_bps,
            ),
            subject=f"creator:{terms.creator_id}",
            actor="system:ledger",
            occurred_at=at,
            event_id=terms_event_id(terms.deal_id),
        )
