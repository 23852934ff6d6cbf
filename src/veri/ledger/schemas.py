"""What the ledger's API takes and answers. Amounts go out as integer minor units with their
currency and the decimal amount they make; a payout is asked for in a decimal amount (or all that
is available), checked against its currency's minor unit."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from veri.ledger.currencies import ACCEPTED, format_minor, to_minor
from veri.models.ledger import AccountKind, PayoutStatus, TransactionKind

__all__ = [
    "BalanceOut",
    "BrandBalance",
    "BrandCurrencyBalance",
    "CheckOut",
    "CreatorBalance",
    "CreatorCurrencyBalance",
    "CurrencyTotals",
    "EntryOut",
    "LedgerOverview",
    "Money",
    "PayoutIn",
    "PayoutOut",
    "money",
]


class Money(BaseModel):
    amount_minor: int = Field(description="Integer minor units (cents, yen, fils)")
    currency: str = Field(description="ISO 4217 code")
    amount: str = Field(description="The decimal amount, with the currency's minor unit: 12.50, 1200, 1.250")


def money(amount: int, currency: str) -> Money:
    return Money(amount_minor=amount, currency=currency, amount=format_minor(amount, currency))


class CreatorCurrencyBalance(BaseModel):
    currency: str
    available: Money = Field(description="Earned and available to pay out")
    in_escrow: Money = Field(description="Accepted deals' fees held until they complete (before the platform's fee)")
    pending_payout: Money = Field(description="Asked for, on its way to the bank")
    paid_out: Money
    earned: Money = Field(description="Released from completed deals, after the platform's fee")


class CreatorBalance(BaseModel):
    role: Literal["creator"] = "creator"
    creator_id: uuid.UUID
    currencies: list[CreatorCurrencyBalance]


class BrandCurrencyBalance(BaseModel):
    currency: str
    funded: Money = Field(description="Charged to the brand's payment method")
    balance: Money = Field(description="Credit with Veri (refunds), spent before charging again")
    in_escrow: Money = Field(description="Accepted deals' fees held until they complete")
    paid_to_creators: Money
    fees: Money = Field(description="The platform's fees on completed deals")
    refunded: Money = Field(description="Returned from cancelled deals to the balance")


class BrandBalance(BaseModel):
    role: Literal["brand"] = "brand"
    brand_id: uuid.UUID
    currencies: list[BrandCurrencyBalance]


BalanceOut = Annotated[CreatorBalance | BrandBalance, Field(discriminator="role")]


class EntryOut(BaseModel):
    id: int
    transaction_id: uuid.UUID
    occurred_at: datetime
    kind: TransactionKind
    account: AccountKind
    owner_id: uuid.UUID
    amount: Money
    deal_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    campaign_title: str | None
    brand_id: uuid.UUID | None
    creator_id: uuid.UUID | None
    payout_id: uuid.UUID | None
    memo: str


class PayoutIn(BaseModel):
    """A payout of `amount` (or of everything available when left out) in `currency`."""

    model_config = ConfigDict(extra="forbid")

    currency: Annotated[str, Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. USD")]
    amount: Annotated[
        Decimal | None,
        Field(gt=0, max_digits=18, description="Decimal amount, e.g. 12.50; left out: all that is available"),
    ] = None

    @field_validator("currency", mode="before")
    @classmethod
    def _known_currency(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().upper()
            if value not in ACCEPTED:
                raise ValueError("must be an ISO 4217 currency Veri pays in, such as USD or EUR")
        return value

    @field_validator("amount")
    @classmethod
    def _fits_the_currency(cls, value: Decimal | None, info: ValidationInfo) -> Decimal | None:
        currency = info.data.get("currency")
        if value is not None and currency is not None:
            to_minor(value, currency)  # ValueError: "USD amounts have at most 2 decimals"
        return value

    def minor(self) -> int | None:
        return None if self.amount is None else to_minor(self.amount, self.currency)


class PayoutOut(BaseModel):
    id: uuid.UUID
    creator_id: uuid.UUID
    amount: Money
    status: PayoutStatus
    provider: str
    provider_ref: str | None
    failure_reason: str
    requested_at: datetime
    sent_at: datetime | None
    settled_at: datetime | None


class CheckOut(BaseModel):
    name: str
    ok: bool
    failures: list[str] = Field(default_factory=list)


class AccountTotal(BaseModel):
    account: AccountKind
    accounts: int
    balance: Money


class CurrencyTotals(BaseModel):
    currency: str
    by_account: list[AccountTotal]
    total: Money = Field(description="The sum of every entry: zero when the ledger balances")
    balanced: bool


class LedgerOverview(BaseModel):
    ok: bool = Field(description="Every invariant holds")
    currencies: list[CurrencyTotals]
    checks: list[CheckOut]
    transactions: int
    entries: int
    payouts: dict[str, int]
