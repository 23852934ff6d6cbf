"""Payouts through Stripe Connect: the official SDK against a local fake of Stripe's API (started
on a free port), the connected account opened on the first payout, a transfer and a payout per
request with idempotency keys, webhooks verified by signature and age (paid; failed, which returns
the money; forged or old, refused and logged), and a provider that is down."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from tests.factories import make_settings, served
from tests.ledger.fake_stripe import API_KEY, WEBHOOK_SECRET, FakeStripe, sign
from tests.ledger.helpers import deal_to, people, run_ledger
from veri.app import create_app
from veri.config import LedgerSettings
from veri.db.engine import Database
from veri.ledger import service
from veri.ledger.checks import check_ledger
from veri.ledger.payouts import PayoutOrder, ProviderUnavailable
from veri.ledger.stripe_connect import StripeConnect
from veri.models.ledger import PayoutStatus


@pytest.fixture(scope="module")
def stripe_fake() -> Iterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    with served(fake.app()) as port:
        yield fake, f"http://127.0.0.1:{port}"


@pytest.fixture
def fake(stripe_fake: tuple[FakeStripe, str]) -> FakeStripe:
    stripe_fake[0].failures.clear()
    return stripe_fake[0]


def _ledger_settings(base: str) -> LedgerSettings:
    return LedgerSettings(
        payout_provider="stripe",
        stripe_api_key=SecretStr(API_KEY),
        stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        stripe_api_base=base,
        stripe_webhook_tolerance_seconds=300,
        payout_max_attempts=2,
    )


@pytest.fixture
def stripe_app(clean_db: Database, tmp_path: Path, stripe_fake: tuple[FakeStripe, str]) -> FastAPI:
    return create_app(make_settings(tmp_path, ledger=_ledger_settings(stripe_fake[1])), database=clean_db)


def _earned(app: FastAPI, database: Database, name: str) -> tuple[Any, Any]:
    brand, creator = people(app, f"{name}brand", name)
    deal_to(brand, creator, "completed", fee_cents=100_000)
    run_ledger(database)
    return brand, creator


def _money(creator: Any) -> dict[str, int]:
    found = creator.get("/api/v1/ledger/balance").json()["currencies"][0]
    return {k: v["amount_minor"] for k, v in found.items() if isinstance(v, dict)}


def _webhook(client: Any, body: bytes, signature: str | None) -> Any:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/api/v1/payouts/webhook", content=body, headers=headers)


def test_a_payout_goes_through_stripe_connect_and_its_webhook_settles_it(
    stripe_app: FastAPI, clean_db: Database, fake: FakeStripe
) -> None:
    _, creator = _earned(stripe_app, clean_db, "maya")
    seen = len(fake.requests)  # the fake serves the whole module
    created = creator.post(
        "/api/v1/payouts", json={"currency": "USD", "amount": "300.00"}, headers={"Idempotency-Key": "s-1"}
    )
    assert created.status_code == 201, created.text
    payout = creator.get(f"/api/v1/payouts/{created.json()['id']}").json()
    assert payout["status"] == "sent" and payout["provider"] == "stripe"
    stripe_payout = fake.payouts[payout["provider_ref"]]
    assert stripe_payout["amount"] == 30_000 and stripe_payout["currency"] == "usd"
    assert stripe_payout["metadata"]["veri_payout_id"] == payout["id"]
    account = fake.accounts[stripe_payout["account"]]
    assert account["email"] == "maya@example.com" and account["type"] == "express"
    keys = [key for method, path, key, _ in fake.requests if path in ("/v1/transfers", "/v1/payouts")]
    assert keys[-2:] == [f"veri-transfer-{payout['id']}", f"veri-payout-{payout['id']}"]
    assert _money(creator)["pending_payout"] == 30_000

    # A retry with the same key: the first payout, nothing sent again.
    sent = len(fake.payouts)
    again = creator.post(
        "/api/v1/payouts", json={"currency": "USD", "amount": "300.00"}, headers={"Idempotency-Key": "s-1"}
    )
    assert again.status_code == 200 and again.json()["id"] == payout["id"]
    assert len(fake.payouts) == sent

    body = fake.event(payout["provider_ref"], "payout.paid")
    settled = _webhook(creator, body, sign(body))
    assert settled.status_code == 200 and settled.json() == {"received": True, "result": "paid"}
    assert _webhook(creator, body, sign(body)).json()["result"] == "duplicate"  # Stripe delivers twice
    money = _money(creator)
    assert (money["pending_payout"], money["paid_out"], money["available"]) == (0, 30_000, 60_000)
    assert creator.get(f"/api/v1/payouts/{payout['id']}").json()["status"] == "paid"

    # The second payout reuses the connected account.
    asked = creator.post("/api/v1/payouts", json={"currency": "USD"}, headers={"Idempotency-Key": "s-2"}).json()
    second = creator.get(f"/api/v1/payouts/{asked['id']}").json()  # sent once the request had committed
    assert fake.payouts[second["provider_ref"]]["account"] == stripe_payout["account"]
    assert sum(1 for _, path, *_ in fake.requests[seen:] if path == "/v1/accounts") == 1


def test_a_failed_payout_returns_the_money_to_the_creator(
    stripe_app: FastAPI, clean_db: Database, fake: FakeStripe
) -> None:
    _, creator = _earned(stripe_app, clean_db, "iris")
    asked = creator.post("/api/v1/payouts", json={"currency": "USD"}, headers={"Idempotency-Key": "f-1"}).json()
    payout = creator.get(f"/api/v1/payouts/{asked['id']}").json()
    assert _money(creator)["available"] == 0
    body = fake.event(payout["provider_ref"], "payout.failed", failure="The bank account has been closed")
    answer = _webhook(creator, body, sign(body))
    assert answer.json()["result"] == "failed"
    money = _money(creator)
    assert (money["available"], money["pending_payout"], money["paid_out"]) == (90_000, 0, 0)
    shown = creator.get(f"/api/v1/payouts/{payout['id']}").json()
    assert shown["status"] == "failed" and "closed" in shown["failure_reason"]
    # A paid event after it failed changes nothing.
    late = fake.event(payout["provider_ref"], "payout.paid")
    assert _webhook(creator, late, sign(late)).json()["result"] == "duplicate"
    assert _money(creator)["available"] == 90_000
    notices = creator.get("/api/v1/notifications").json()["items"]
    assert any("failed" in n["title"] for n in notices)
    with clean_db.sessions() as db:
        assert all(c.ok for c in check_ledger(db))


def test_a_forged_or_old_webhook_is_refused_and_logged(
    stripe_app: FastAPI, clean_db: Database, fake: FakeStripe, capsys: pytest.CaptureFixture[str]
) -> None:
    _, creator = _earned(stripe_app, clean_db, "noor")
    asked = creator.post("/api/v1/payouts", json={"currency": "USD"}, headers={"Idempotency-Key": "x-1"}).json()
    payout = creator.get(f"/api/v1/payouts/{asked['id']}").json()
    body = fake.event(payout["provider_ref"], "payout.paid")
    capsys.readouterr()
    refused = [
        _webhook(creator, body, None),  # unsigned
        _webhook(creator, body, sign(body, "whsec_someone_else")),  # forged
        _webhook(creator, body, sign(body, at=int(time.time()) - 301)),  # captured and sent again later
        _webhook(creator, body.replace(b'"paid"', b'"paid" '), sign(body)),  # altered after signing
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "bad_signature"
    logged = capsys.readouterr().err
    assert logged.count('"event": "payout_webhook_refused"') == 4
    assert "Timestamp outside the tolerance zone" in logged
    assert _money(creator)["pending_payout"] == 90_000  # nothing moved
    # Signed by Stripe but about a payout Veri never made, or not a payout event: acknowledged.
    other = fake.event(payout["provider_ref"], "payout.paid", amount=1)
    assert _webhook(creator, other, sign(other)).json()["result"] == "ignored"


def test_a_provider_that_is_down_is_retried_then_the_payout_fails_and_returns_the_money(
    stripe_app: FastAPI, clean_db: Database, fake: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, creator = _earned(stripe_app, clean_db, "lumi")
    fake.failures.extend(["server"] * 3)  # the first call and the SDK's two retries
    payout = creator.post(
        "/api/v1/payouts", json={"currency": "USD", "amount": "500"}, headers={"Idempotency-Key": "d-1"}
    ).json()
    assert creator.get(f"/api/v1/payouts/{payout['id']}").json()["status"] == "requested"
    assert _money(creator)["pending_payout"] == 50_000
    monkeypatch.setattr(service, "CLAIM_SECONDS", 0)  # the worker's next round, now
    provider = stripe_app.state.payouts
    ledger = stripe_app.state.settings.ledger
    assert service.send_due_payouts(clean_db, provider, settings=ledger) == 1
    assert creator.get(f"/api/v1/payouts/{payout['id']}").json()["status"] == "sent"

    # Down for good: after the attempts allowed, the payout fails and the money is available again.
    fake.failures.extend(["server"] * 3)
    second = creator.post(
        "/api/v1/payouts", json={"currency": "USD", "amount": "1"}, headers={"Idempotency-Key": "d-2"}
    ).json()
    assert creator.get(f"/api/v1/payouts/{second['id']}").json()["status"] == "requested"
    assert _money(creator)["available"] == 39_900
    fake.failures.extend(["server"] * 3)
    assert service.send_payout(clean_db, provider, second["id"], settings=ledger) is PayoutStatus.FAILED
    assert "could not be reached" in creator.get(f"/api/v1/payouts/{second['id']}").json()["failure_reason"]
    money = _money(creator)
    assert (money["available"], money["pending_payout"]) == (40_000, 50_000)
    with clean_db.sessions() as db:
        assert all(c.ok for c in check_ledger(db))


def test_a_payout_stripe_refuses_fails_at_once(stripe_app: FastAPI, clean_db: Database, fake: FakeStripe) -> None:
    _, creator = _earned(stripe_app, clean_db, "ada")
    fake.failures.append("refuse")
    payout = creator.post("/api/v1/payouts", json={"currency": "USD"}, headers={"Idempotency-Key": "r-1"}).json()
    shown = creator.get(f"/api/v1/payouts/{payout['id']}").json()
    assert shown["status"] == "failed" and "disabled" in shown["failure_reason"]
    assert _money(creator)["available"] == 90_000


def test_the_adapter_maps_stripe_errors(stripe_fake: tuple[FakeStripe, str]) -> None:
    fake, base = stripe_fake
    fake.failures.clear()
    connect = StripeConnect(API_KEY, WEBHOOK_SECRET, api_base=base, max_network_retries=0)
    order = PayoutOrder(uuid.uuid4(), uuid.uuid4(), 500, "JPY", "kai@example.com", None)
    fake.failures.append("server")
    with pytest.raises(ProviderUnavailable):
        connect.send(order)
    answer = connect.send(order)
    assert answer.outcome == "sent" and answer.account_ref in fake.accounts
    assert fake.payouts[answer.provider_ref or ""]["amount"] == 500  # yen have no minor unit
    wrong_key = StripeConnect("sk_test_wrong", WEBHOOK_SECRET, api_base=base, max_network_retries=0)
    refused = wrong_key.send(PayoutOrder(uuid.uuid4(), uuid.uuid4(), 1, "USD", "x@example.com", None))
    assert refused.outcome == "failed" and "API Key" in refused.reason
