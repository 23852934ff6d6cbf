"""Helpers of the ledger's tests: deals driven through the API to a status, the `ledger` group run
over the log, and balances read back."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import new_client, run_group, sign_up
from veri.db.engine import Database
from veri.ledger.handlers import LedgerHandler
from veri.ledger.repository import LedgerRepository


def run_ledger(database: Database) -> int:
    """The `ledger` consumer group over everything in the log, as the worker would."""
    return run_group(database, LedgerHandler())


def balances(database: Database) -> dict[Any, int]:
    with database.sessions() as db:
        return {k: v for k, v in LedgerRepository(db).balances().items() if v}


def people(app: FastAPI, brand: str = "lena", creator: str = "maya") -> tuple[TestClient, TestClient]:
    b, c = new_client(app), new_client(app)
    sign_up(b, "brand", brand)
    sign_up(c, "creator", creator)
    return b, c


def deal_to(
    brand: TestClient,
    creator: TestClient,
    status: str,
    *,
    fee_cents: int = 50_000,
    currency: str = "USD",
    title: str = "Peak week",
) -> dict[str, Any]:
    """A campaign of `brand` in `currency`, `creator`'s application, moved to `status` through the
    API (accepted, delivered, completed or cancelled)."""
    campaign = brand.post(
        "/api/v1/campaigns", json={"title": title, "budget_cents": 10_000_000, "currency": currency}
    ).json()
    assert brand.post(f"/api/v1/campaigns/{campaign['id']}/transition", json={"to": "open"}).status_code == 200
    deal = creator.post("/api/v1/deals", json={"campaign_id": campaign["id"], "fee_cents": fee_cents}).json()
    steps = {
        "accepted": [(brand, "accept")],
        "delivered": [(brand, "accept"), (creator, "deliver")],
        "completed": [(brand, "accept"), (creator, "deliver"), (brand, "complete")],
        "cancelled": [(brand, "accept"), (brand, "cancel")],
    }[status]
    for who, action in steps:
        response = who.post(f"/api/v1/deals/{deal['id']}/{action}", json={})
        assert response.status_code == 200, response.text
    return dict(deal)
