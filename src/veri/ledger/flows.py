"""How money moves, as rules over a `Book`: a deal accepted reserves its fee in escrow (charging
the brand's payment method for what its balance lacks), completed releases it to the creator less
the platform's fee, cancelled refunds it to the brand's balance; a payout moves the creator's
available money to pending, then to paid, or back when it fails.

Every operation is a `Posting` with an idempotency key derived from what caused it (the deal and
the step, the payout and the step), so applying the same cause twice moves nothing. The rules
only read balances and the escrow's recorded terms: the same code runs on the database
(`ledger.book.LedgerBook`) and in memory (`MemoryBook`, for property tests), and decisions that
depend on the moment (how much to charge the brand, the fee rate) are recorded once as
`escrow.reserved` and reused by every replay.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from veri.models.ledger import PLATFORM, AccountKind, TransactionKind

__all__ = [
    "NEVER_NEGATIVE",
    "NEVER_POSITIVE",
    "AccountRef",
    "Book",
    "DealMove",
    "EscrowTerms",
    "InsufficientFunds",
    "KeyReused",
    "LedgerRuleBroken",
    "MemoryBook",
    "Overdrawn",
    "PayoutMove",
    "Posting",
    "Refs",
    "apply_deal_move",
    "check_limits",
    "payout_failed",
    "payout_paid",
    "platform_fee",
    "request_payout",
]

K = AccountKind
# Accounts whose balance may never go below zero (escrow, what a creator is owed, ...), and the
# one that only ever gives (the brand's payment method, outside Veri).
NEVER_NEGATIVE = frozenset({K.ESCROW, K.CREATOR_PAYABLE, K.PAYOUTS_PENDING, K.PAYOUTS_PAID, K.PLATFORM_FEE})
NEVER_POSITIVE = frozenset({K.BRAND_FUNDING})


class LedgerRuleBroken(Exception):
    """A posting that would break a ledger rule: a bug or a corrupt history, never user input."""


class Overdrawn(LedgerRuleBroken):
    """A posting would leave an account below zero where that is forbidden."""


class KeyReused(LedgerRuleBroken):
    """An idempotency key already names a different operation."""


class InsufficientFunds(Exception):
    """A payout larger than the creator's available balance."""

    def __init__(self, available: int, currency: str):
        super().__init__(f"only {available} {currency} (minor units) is available")
        self.available = available
        self.currency = currency


@dataclass(frozen=True, order=True)
class AccountRef:
    kind: AccountKind
    owner_id: uuid.UUID
    currency: str


@dataclass(frozen=True)
class Refs:
    """What a transaction concerns, for statements."""

    deal_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    creator_id: uuid.UUID | None = None
    payout_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Posting:
    """One transaction: legs (account, signed minor units) that sum to zero in one currency."""

    key: str
    kind: TransactionKind
    currency: str
    legs: tuple[tuple[AccountRef, int], ...]
    at: datetime
    refs: Refs = field(default_factory=Refs)
    event_id: uuid.UUID | None = None
    memo: str = ""

    def __post_init__(self) -> None:
        if len(self.legs) < 2:
            raise LedgerRuleBroken(f"{self.key}: a transaction needs two legs or more")
        if sum(amount for _, amount in self.legs) != 0:
            raise LedgerRuleBroken(f"{self.key}: legs sum to {sum(a for _, a in self.legs)}, not zero")
        if any(amount == 0 for _, amount in self.legs):
            raise LedgerRuleBroken(f"{self.key}: a leg of zero")
        if any(ref.currency != self.currency for ref, _ in self.legs):
            raise LedgerRuleBroken(f"{self.key}: a leg in another currency than {self.currency}")
        if len({ref for ref, _ in self.legs}) != len(self.legs):
            raise LedgerRuleBroken(f"{self.key}: an account twice")


@dataclass(frozen=True)
class EscrowTerms:
    """What was decided when a deal's fee went into escrow (recorded as `escrow.reserved`)."""

    deal_id: uuid.UUID
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    creator_id: uuid.UUID
    currency: str
    amount: int
    charged: int  # from the brand's payment method: what its balance lacked
    fee_bps: int  # the platform's fee, in basis points of the amount


class Book(Protocol):
    """Where postings go: the database, or memory."""

    def balance(self, account: AccountRef, *, lock: bool = False) -> int:
        """The sum of the account's entries; `lock` holds the account until the end of the
        transaction (a decision that spends from it)."""
        ...

    def applied(self, key: str) -> bool: ...

    def post(self, posting: Posting) -> bool:
        """Apply a posting; False when its key was applied before (nothing moved). Raises
        Overdrawn, KeyReused."""
        ...

    def terms(self, deal_id: uuid.UUID) -> EscrowTerms | None: ...

    def record_terms(self, terms: EscrowTerms, at: datetime) -> None: ...


def platform_fee(amount: int, fee_bps: int) -> int:
    """The platform's share of `amount` minor units, rounded half up to a whole minor unit."""
    return (amount * fee_bps + 5_000) // 10_000


# -- deals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealMove:
    """A deal reached `status` (from `deal.status_changed`)."""

    deal_id: uuid.UUID
    campaign_id: uuid.UUID
    brand_id: uuid.UUID
    creator_id: uuid.UUID
    status: str
    amount: int  # the accepted fee (or, before acceptance, the one on the table)
    currency: str  # the campaign's; an escrow's recorded currency wins
    at: datetime
    event_id: uuid.UUID | None = None

    @property
    def refs(self) -> Refs:
        return Refs(
            deal_id=self.deal_id, campaign_id=self.campaign_id, brand_id=self.brand_id, creator_id=self.creator_id
        )


def _escrow_key(deal_id: uuid.UUID, step: str) -> str:
    return f"escrow:{deal_id}:{step}"


def apply_deal_move(book: Book, move: DealMove, *, fee_bps: int) -> list[Posting]:
    """The postings a deal's new status calls for, applied; those applied before are skipped."""
    if move.status == "accepted":
        return _reserve(book, move, fee_bps)
    if move.status == "completed":
        done = _reserve(book, move, fee_bps)  # history that starts at completion: reserve first
        return done + _release(book, move)
    if move.status in ("cancelled", "declined", "withdrawn"):
        return _refund(book, move)
    return []  # proposed, delivered: the money stays where it is


def _reserve(book: Book, move: DealMove, fee_bps: int) -> list[Posting]:
    key = _escrow_key(move.deal_id, "reserve")
    if book.applied(key):
        return []
    terms = book.terms(move.deal_id)
    if terms is None:
        if move.amount <= 0:
            return []  # a deal for nothing holds nothing
        balance = AccountRef(K.BRAND_BALANCE, move.brand_id, move.currency)
        available = max(book.balance(balance, lock=True), 0)
        terms = EscrowTerms(
            deal_id=move.deal_id,
            campaign_id=move.campaign_id,
            brand_id=move.brand_id,
            creator_id=move.creator_id,
            currency=move.currency,
            amount=move.amount,
            charged=max(move.amount - available, 0),
            fee_bps=fee_bps,
        )
        book.record_terms(terms, move.at)
    currency = terms.currency
    balance = AccountRef(K.BRAND_BALANCE, terms.brand_id, currency)
    done: list[Posting] = []
    if terms.charged > 0:
        funding = AccountRef(K.BRAND_FUNDING, terms.brand_id, currency)
        done.append(
            Posting(
                _escrow_key(move.deal_id, "fund"),
                TransactionKind.FUND,
                currency,
                ((funding, -terms.charged), (balance, terms.charged)),
                move.at,
                move.refs,
                move.event_id,
                "charged to the brand's payment method",
            )
        )
    escrow = AccountRef(K.ESCROW, move.deal_id, currency)
    done.append(
        Posting(
            key,
            TransactionKind.RESERVE,
            currency,
            ((balance, -terms.amount), (escrow, terms.amount)),
            move.at,
            move.refs,
            move.event_id,
            "offer accepted: fee held in escrow",
        )
    )
    return [p for p in done if book.post(p)]


def _release(book: Book, move: DealMove) -> list[Posting]:
    key = _escrow_key(move.deal_id, "release")
    terms = book.terms(move.deal_id)
    if terms is None or book.applied(key) or book.applied(_escrow_key(move.deal_id, "refund")):
        return []
    escrow = AccountRef(K.ESCROW, move.deal_id, terms.currency)
    held = book.balance(escrow, lock=True)
    if held <= 0:
        return []
    fee = platform_fee(held, terms.fee_bps)
    legs: list[tuple[AccountRef, int]] = [(escrow, -held)]
    if held - fee:
        legs.append((AccountRef(K.CREATOR_PAYABLE, terms.creator_id, terms.currency), held - fee))
    if fee:
        legs.append((AccountRef(K.PLATFORM_FEE, PLATFORM, terms.currency), fee))
    posting = Posting(
        key,
        TransactionKind.RELEASE,
        terms.currency,
        tuple(legs),
        move.at,
        move.refs,
        move.event_id,
        f"deal completed: released less the platform's {terms.fee_bps / 100:g}% fee",
    )
    return [posting] if book.post(posting) else []


def _refund(book: Book, move: DealMove) -> list[Posting]:
    key = _escrow_key(move.deal_id, "refund")
    terms = book.terms(move.deal_id)
    if terms is None or book.applied(key) or book.applied(_escrow_key(move.deal_id, "release")):
        return []
    escrow = AccountRef(K.ESCROW, move.deal_id, terms.currency)
    held = book.balance(escrow, lock=True)
    if held <= 0:
        return []
    posting = Posting(
        key,
        TransactionKind.REFUND,
        terms.currency,
        ((escrow, -held), (AccountRef(K.BRAND_BALANCE, terms.brand_id, terms.currency), held)),
        move.at,
        move.refs,
        move.event_id,
        f"deal {move.status}: escrow refunded to the brand's balance",
    )
    return [posting] if book.post(posting) else []


# -- payouts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutMove:
    payout_id: uuid.UUID
    creator_id: uuid.UUID
    amount: int
    currency: str
    at: datetime
    event_id: uuid.UUID | None = None

    @property
    def refs(self) -> Refs:
        return Refs(creator_id=self.creator_id, payout_id=self.payout_id)

    def key(self, step: str) -> str:
        return f"payout:{self.payout_id}:{step}"


def request_payout(book: Book, move: PayoutMove) -> Posting | None:
    """Set the payout's money aside: available -> pending. Raises InsufficientFunds."""
    key = move.key("request")
    if book.applied(key):
        return None
    payable = AccountRef(K.CREATOR_PAYABLE, move.creator_id, move.currency)
    available = book.balance(payable, lock=True)
    if move.amount > available:
        raise InsufficientFunds(available, move.currency)
    posting = Posting(
        key,
        TransactionKind.PAYOUT_REQUEST,
        move.currency,
        ((payable, -move.amount), (AccountRef(K.PAYOUTS_PENDING, move.creator_id, move.currency), move.amount)),
        move.at,
        move.refs,
        move.event_id,
        "payout requested",
    )
    return posting if book.post(posting) else None


def payout_paid(book: Book, move: PayoutMove) -> Posting | None:
    """The provider paid it: pending -> paid. Nothing once it failed."""
    if book.applied(move.key("paid")) or book.applied(move.key("failed")):
        return None
    request_payout(book, move)
    posting = Posting(
        move.key("paid"),
        TransactionKind.PAYOUT_PAID,
        move.currency,
        (
            (AccountRef(K.PAYOUTS_PENDING, move.creator_id, move.currency), -move.amount),
            (AccountRef(K.PAYOUTS_PAID, move.creator_id, move.currency), move.amount),
        ),
        move.at,
        move.refs,
        move.event_id,
        "payout paid",
    )
    return posting if book.post(posting) else None


def payout_failed(book: Book, move: PayoutMove, reason: str = "") -> Posting | None:
    """It failed (or the bank returned it after it was paid): the money is available again."""
    if book.applied(move.key("failed")):
        return None
    request_payout(book, move)
    was_paid = book.applied(move.key("paid"))
    source = AccountRef(K.PAYOUTS_PAID if was_paid else K.PAYOUTS_PENDING, move.creator_id, move.currency)
    posting = Posting(
        move.key("failed"),
        TransactionKind.PAYOUT_FAILED,
        move.currency,
        ((source, -move.amount), (AccountRef(K.CREATOR_PAYABLE, move.creator_id, move.currency), move.amount)),
        move.at,
        move.refs,
        move.event_id,
        ("payout returned by the bank" if was_paid else "payout failed") + (f": {reason}" if reason else ""),
    )
    return posting if book.post(posting) else None


# -- in memory ---------------------------------------------------------------------------------


def check_limits(account: AccountRef, balance: int) -> None:
    """Raise Overdrawn when `balance` is one `account` may not have."""
    if account.kind in NEVER_NEGATIVE and balance < 0:
        raise Overdrawn(f"{account.kind.value} {account.owner_id} would be {balance} {account.currency}")
    if account.kind in NEVER_POSITIVE and balance > 0:
        raise Overdrawn(f"{account.kind.value} {account.owner_id} would be {balance} {account.currency}")


class MemoryBook:
    """A `Book` in memory: the same rules without a database (property tests, what-ifs)."""

    def __init__(self) -> None:
        self.balances: dict[AccountRef, int] = defaultdict(int)
        self.postings: dict[str, Posting] = {}
        self.recorded: dict[uuid.UUID, EscrowTerms] = {}

    def balance(self, account: AccountRef, *, lock: bool = False) -> int:
        return self.balances.get(account, 0)

    def applied(self, key: str) -> bool:
        return key in self.postings

    def post(self, posting: Posting) -> bool:
        seen = self.postings.get(posting.key)
        if seen is not None:
            if sorted(seen.legs) != sorted(posting.legs):
                raise KeyReused(f"{posting.key} was applied with other legs")
            return False
        for account, amount in posting.legs:
            check_limits(account, self.balances.get(account, 0) + amount)
        for account, amount in posting.legs:
            self.balances[account] += amount
        self.postings[posting.key] = posting
        return True

    def terms(self, deal_id: uuid.UUID) -> EscrowTerms | None:
        return self.recorded.get(deal_id)

    def record_terms(self, terms: EscrowTerms, at: datetime) -> None:
        self.recorded[terms.deal_id] = terms

    def nonzero(self) -> dict[AccountRef, int]:
        return {account: value for account, value in self.balances.items() if value}
