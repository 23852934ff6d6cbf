"""Payouts through Stripe Connect with the official SDK: the creator's connected (Express)
account is opened on their first payout, the platform transfers the amount to it, and a payout
on that account sends it to their bank. Stripe's webhooks (`payout.paid`, `payout.failed`,
`payout.canceled`) are verified with `stripe.Webhook.construct_event`: the signature and the
timestamp's age.

Every call carries an idempotency key derived from the creator or the payout, so a retry after a
lost answer opens, transfers and pays nothing twice.
"""

from __future__ import annotations

import uuid
from typing import Any

import stripe

from veri.ledger.payouts import BadSignature, Dispatch, PayoutOrder, PayoutUpdate, ProviderUnavailable

__all__ = ["StripeConnect"]

_SETTLING = {"payout.paid": "paid", "payout.failed": "failed", "payout.canceled": "failed"}


class StripeConnect:
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        api_base: str | None = None,
        tolerance_seconds: int = 300,
        max_network_retries: int = 2,
    ):
        bases: Any = {"api": api_base, "connect": api_base} if api_base else None
        self.client = stripe.StripeClient(api_key, base_addresses=bases, max_network_retries=max_network_retries)
        self.webhook_secret = webhook_secret
        self.tolerance = tolerance_seconds

    def send(self, order: PayoutOrder) -> Dispatch:
        account = order.account_ref
        try:
            if account is None:
                account = self._open_account(order)
            amount = {"amount": order.amount_minor, "currency": order.currency.lower()}
            metadata = {"veri_payout_id": str(order.payout_id), "veri_creator_id": str(order.creator_id)}
            self.client.v1.transfers.create(
                params={
                    **amount,  # type: ignore[typeddict-item]
                    "destination": account,
                    "transfer_group": f"veri_payout_{order.payout_id}",
                    "metadata": metadata,
                },
                options={"idempotency_key": f"veri-transfer-{order.payout_id}"},
            )
            payout = self.client.v1.payouts.create(
                params={**amount, "metadata": metadata},  # type: ignore[typeddict-item]
                options={"idempotency_key": f"veri-payout-{order.payout_id}", "stripe_account": account},
            )
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise ProviderUnavailable(f"Stripe unreachable: {exc.user_message or exc}", account_ref=account) from exc
        except stripe.StripeError as exc:
            if exc.http_status is None or exc.http_status >= 500:
                raise ProviderUnavailable(f"Stripe failed: {exc.user_message or exc}", account_ref=account) from exc
            # Refused for good (no such account, payouts disabled, insufficient platform funds).
            return Dispatch("failed", account_ref=account, reason=str(exc.user_message or exc)[:500])
        status = str(payout.status)
        if status == "paid":
            return Dispatch("paid", provider_ref=payout.id, account_ref=account)
        if status in ("failed", "canceled"):
            reason = str(payout.failure_message or payout.failure_code or status)
            return Dispatch("failed", provider_ref=payout.id, account_ref=account, reason=reason)
        return Dispatch("sent", provider_ref=payout.id, account_ref=account)

    def _open_account(self, order: PayoutOrder) -> str:
        created = self.client.v1.accounts.create(
            params={
                "type": "express",
                "email": order.email,
                "capabilities": {"transfers": {"requested": True}},
                "metadata": {"veri_creator_id": str(order.creator_id)},
            },
            options={"idempotency_key": f"veri-account-{order.creator_id}"},
        )
        return str(created.id)

    def parse_webhook(self, body: bytes, signature: str | None) -> PayoutUpdate | None:
        try:
            event = stripe.Webhook.construct_event(body, signature, self.webhook_secret, tolerance=self.tolerance)
        except stripe.SignatureVerificationError as exc:
            raise BadSignature(str(exc).split(".")[0]) from None
        except ValueError:  # signed, but not JSON: nothing Stripe sends
            raise BadSignature("the body is not a JSON event") from None
        outcome = _SETTLING.get(str(event.type))
        if outcome is None:
            return None
        payout: dict[str, Any] = event.data.object.to_dict()
        metadata = dict(payout.get("metadata") or {})
        try:
            payout_id: uuid.UUID | None = uuid.UUID(str(metadata.get("veri_payout_id")))
        except ValueError:
            payout_id = None
        reason = "" if outcome == "paid" else str(payout.get("failure_message") or payout.get("failure_code") or "")
        return PayoutUpdate(
            event_id=str(event.id),
            outcome="paid" if outcome == "paid" else "failed",
            provider_ref=str(payout.get("id")),
            payout_id=payout_id,
            amount_minor=int(payout.get("amount") or 0),
            currency=str(payout.get("currency") or "").upper(),
            reason=reason or ("canceled" if event.type == "payout.canceled" else ""),
        )
