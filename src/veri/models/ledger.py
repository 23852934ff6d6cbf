"""Money: a double-entry ledger (accounts, transactions, entries in integer minor units) and the
payouts creators ask for.

Balances are never stored: an account's balance is the sum of its entries. Every transaction's
entries sum to zero in its currency, and carries a unique idempotency key (what caused it: a
deal's reservation, a payout's request), so doing an operation again moves nothing. Accounts,
transactions and entries are derived from events by the `ledger` consumer group and rebuilt by a
replay; payouts and the creators' payout accounts are records (a person's request, a provider's
answer).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, TimestampMixin, UUIDPrimaryKey, enum_column, utcnow

__all__ = [
    "PLATFORM",
    "AccountKind",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "Payout",
    "PayoutAccount",
    "PayoutStatus",
    "TransactionKind",
]

# The owner of the platform's own accounts (its fees).
PLATFORM = uuid.UUID(int=0)


class AccountKind(enum.StrEnum):
    # The brand's payment method, outside Veri: what it was charged (its balance is <= 0).
    BRAND_FUNDING = "brand_funding"
    BRAND_BALANCE = "brand_balance"  # the brand's credit with Veri (refunds), spent first
    ESCROW = "escrow"  # one per deal: the accepted fee, held until completion or cancellation
    CREATOR_PAYABLE = "creator_payable"  # earned and available to pay out
    PAYOUTS_PENDING = "payouts_pending"  # asked for, on its way to the creator's bank
    PAYOUTS_PAID = "payouts_paid"  # left Veri for the creator's bank (outside Veri)
    PLATFORM_FEE = "platform_fee"  # Veri's share of each completed deal


class TransactionKind(enum.StrEnum):
    FUND = "fund"  # brand funding -> brand balance (the shortfall of a reservation)
    RESERVE = "reserve"  # brand balance -> escrow (an offer accepted)
    RELEASE = "release"  # escrow -> creator payable + platform fee (the deal completed)
    REFUND = "refund"  # escrow -> brand balance (the deal cancelled)
    PAYOUT_REQUEST = "payout_request"  # creator payable -> payouts pending
    PAYOUT_PAID = "payout_paid"  # payouts pending -> payouts paid
    PAYOUT_FAILED = "payout_failed"  # payouts pending (or paid, when a bank returns it) -> creator payable


class LedgerAccount(UUIDPrimaryKey, Base):
    """One kind of money of one owner (a brand, a deal, a creator, the platform) in one currency."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("kind", "owner_id", "currency"),)

    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, "ledger_account_kind"))
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)  # brand, deal or creator; PLATFORM for fees
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class LedgerTransaction(UUIDPrimaryKey, Base):
    """One money operation: its entries sum to zero in `currency`."""

    __tablename__ = "ledger_transactions"

    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, "ledger_transaction_kind"))
    currency: Mapped[str] = mapped_column(String(3))
    # What it concerns, for statements and reports.
    deal_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    campaign_id: Mapped[uuid.UUID | None]
    brand_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    creator_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    payout_id: Mapped[uuid.UUID | None]
    event_id: Mapped[uuid.UUID | None]  # the event that caused it
    memo: Mapped[str] = mapped_column(String(300), default="")
    occurred_at: Mapped[datetime]  # when it happened in the world (its event's moment)
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)


class LedgerEntry(Base):
    """One leg of a transaction: a signed amount in minor units on one account."""

    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    transaction_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_transactions.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ledger_accounts.id", ondelete="CASCADE"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)


class PayoutStatus(enum.StrEnum):
    REQUESTED = "requested"  # money set aside; not yet accepted by the provider
    SENT = "sent"  # the provider accepted it; its webhook says paid or failed
    PAID = "paid"
    FAILED = "failed"  # the money went back to the creator's available balance


class Payout(UUIDPrimaryKey, TimestampMixin, Base):
    """A creator's request to be paid, and what the payout provider made of it."""

    __tablename__ = "payouts"
    __table_args__ = (
        UniqueConstraint("creator_id", "idempotency_key"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("creators.id", ondelete="RESTRICT"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PayoutStatus] = mapped_column(
        enum_column(PayoutStatus, "payout_status"), default=PayoutStatus.REQUESTED, index=True
    )
    # The client's key (Idempotency-Key), and a hash of what it asked with that key.
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A sender's claim: another sender leaves the payout alone until it is this old.
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    settled_at: Mapped[datetime | None] = mapped_column(default=None)


class PayoutAccount(Base):
    """Where a creator is paid at a provider (a Stripe connected account), opened on first payout."""

    __tablename__ = "payout_accounts"

    creator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("creators.id", ondelete="RESTRICT"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), default=None)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
