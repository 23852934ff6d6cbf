"""Payouts through a provider: the port every adapter implements, and the offline adapter of the
embedded default. Stripe Connect is `ledger.stripe_connect`; `wiring.payout_provider` chooses.

A provider is asked once per payout (`send`, with the payout's id as its idempotency key, so a
retry after a lost answer pays nothing twice) and tells the outcome later through a signed
webhook (`parse_webhook`), or at once when it knows it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "BadSignature",
    "Dispatch",
    "OfflinePayouts",
    "PayoutOrder",
    "PayoutProvider",
    "PayoutUpdate",
    "ProviderUnavailable",
]


@dataclass(frozen=True)
class PayoutOrder:
    """What a provider needs to pay a creator."""

    payout_id: uuid.UUID
    creator_id: uuid.UUID
    amount_minor: int
    currency: str
    email: str
    account_ref: str | None  # the creator's account at the provider, once opened


@dataclass(frozen=True)
class Dispatch:
    """The provider's answer to `send`: on its way (`sent`), or already `paid` or `failed`."""

    outcome: Literal["sent", "paid", "failed"]
    provider_ref: str | None = None
    account_ref: str | None = None  # an account opened for the creator on the way, to keep
    reason: str = ""


@dataclass(frozen=True)
class PayoutUpdate:
    """What a provider's webhook says of one payout."""

    event_id: str
    outcome: Literal["paid", "failed"]
    provider_ref: str
    payout_id: uuid.UUID | None
    amount_minor: int
    currency: str
    reason: str = ""


class ProviderUnavailable(Exception):
    """The provider could not be asked (network, 5xx, rate limit): the payout is sent again later."""

    def __init__(self, message: str, *, account_ref: str | None = None):
        super().__init__(message)
        self.account_ref = account_ref


class BadSignature(Exception):
    """A webhook that is not the provider's: unsigned, forged, or signed too long ago."""


class PayoutProvider(Protocol):
    name: str

    def send(self, order: PayoutOrder) -> Dispatch:
        """Pay `order` (idempotent by its payout id). Raises ProviderUnavailable."""
        ...

    def parse_webhook(self, body: bytes, signature: str | None) -> PayoutUpdate | None:
        """The verified update a webhook carries; None for events Veri does not act on. Raises
        BadSignature."""
        ...


class OfflinePayouts:
    """No provider (the embedded default, a demo): a payout is paid the moment it is sent."""

    name = "offline"

    def send(self, order: PayoutOrder) -> Dispatch:
        return Dispatch("paid", provider_ref=f"offline_{order.payout_id.hex}")

    def parse_webhook(self, body: bytes, signature: str | None) -> PayoutUpdate | None:
        raise BadSignature("no payout provider sends webhooks here (payouts are offline)")
