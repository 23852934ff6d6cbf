"""A local fake of the few Stripe endpoints Veri's payouts use, for the official `stripe` SDK to
talk to over HTTP (Stripe cannot be reached from here): connected accounts, transfers to them,
payouts on them (the `Stripe-Account` header), idempotency keys honoured as Stripe does, and
errors on demand. `event()` builds a webhook body and `sign()` its `Stripe-Signature` header the
way Stripe signs them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

API_KEY = "sk_test_veri_fake"
WEBHOOK_SECRET = "whsec_veri_fake_secret"


def _form(body: bytes) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[key]=v`, `a[b][c]=v`) as nested dicts."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


@dataclass
class FakeStripe:
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None, str | None]] = field(default_factory=list)
    # The next calls fail: "server" (a 500, which the SDK retries), "refuse" (a 400 for good).
    failures: list[str] = field(default_factory=list)
    _seen: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def stripe_rules(request: Request, call_next: Any) -> Any:
            key = request.headers.get("idempotency-key")
            self.requests.append((request.method, request.url.path, key, request.headers.get("stripe-account")))
            if request.headers.get("authorization") != f"Bearer {API_KEY}":
                return _error(401, "invalid_request_error", "Invalid API Key provided")
            if self.failures:
                failure = self.failures.pop(0)
                if failure == "server":
                    return _error(500, "api_error", "Something went wrong on Stripe's end")
                return _error(400, "invalid_request_error", "Payouts are disabled for this account")
            if key is not None and key in self._seen:
                status, body = self._seen[key]
                return JSONResponse(body, status_code=status, headers={"Idempotent-Replayed": "true"})
            response = await call_next(request)
            if key is not None and response.status_code < 500:
                raw = b"".join([chunk async for chunk in response.body_iterator])
                self._seen[key] = (response.status_code, json.loads(raw))
                return JSONResponse(json.loads(raw), status_code=response.status_code)
            return response

        @app.post("/v1/accounts")
        async def create_account(request: Request) -> JSONResponse:
            form = _form(await request.body())
            account = {
                "id": f"acct_{next(self._ids):06d}",
                "object": "account",
                "type": form.get("type", "express"),
                "email": form.get("email"),
                "metadata": form.get("metadata", {}),
                "balance": {},
            }
            self.accounts[account["id"]] = account
            return JSONResponse(account)

        @app.post("/v1/transfers")
        async def create_transfer(request: Request) -> JSONResponse:
            form = _form(await request.body())
            account = self.accounts.get(form.get("destination", ""))
            if account is None:
                return _error(400, "invalid_request_error", "No such destination")
            amount, currency = int(form["amount"]), form["currency"]
            account["balance"][currency] = account["balance"].get(currency, 0) + amount
            transfer = {
                "id": f"tr_{next(self._ids):06d}",
                "object": "transfer",
                "amount": amount,
                "currency": currency,
                "destination": account["id"],
                "metadata": form.get("metadata", {}),
            }
            self.transfers[transfer["id"]] = transfer
            return JSONResponse(transfer)

        @app.post("/v1/payouts")
        async def create_payout(request: Request) -> JSONResponse:
            form = _form(await request.body())
            account = self.accounts.get(request.headers.get("stripe-account") or "")
            if account is None:
                return _error(400, "invalid_request_error", "Payouts are made on a connected account")
            amount, currency = int(form["amount"]), form["currency"]
            if account["balance"].get(currency, 0) < amount:
                return _error(400, "invalid_request_error", "Insufficient funds in the account's balance")
            account["balance"][currency] -= amount
            payout = {
                "id": f"po_{next(self._ids):06d}",
                "object": "payout",
                "amount": amount,
                "currency": currency,
                "status": "pending",
                "metadata": form.get("metadata", {}),
                "failure_code": None,
                "failure_message": None,
                "account": account["id"],
            }
            self.payouts[payout["id"]] = payout
            return JSONResponse(payout)

        return app

    def event(self, payout_id: str, kind: str, *, failure: str | None = None, amount: int | None = None) -> bytes:
        """The body Stripe would post for a payout event on a connected account."""
        payout = dict(self.payouts[payout_id])
        payout["status"] = {"payout.paid": "paid", "payout.failed": "failed", "payout.canceled": "canceled"}.get(
            kind, payout["status"]
        )
        if failure:
            payout["failure_code"], payout["failure_message"] = "account_closed", failure
        if amount is not None:
            payout["amount"] = amount
        body = {
            "id": f"evt_{next(self._ids):06d}",
            "object": "event",
            "type": kind,
            "account": payout["account"],
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2025-01-27.acacia",
            "data": {"object": payout},
        }
        return json.dumps(body).encode()


def sign(body: bytes, secret: str = WEBHOOK_SECRET, *, at: int | None = None) -> str:
    """The `Stripe-Signature` header: `t=<time>,v1=<HMAC-SHA256 of "<time>.<body>">`."""
    timestamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
