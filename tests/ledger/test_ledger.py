"""The ledger on PostgreSQL, through the API and the `ledger` consumer group: escrow on acceptance
(charging the brand for what its balance lacks), release less the platform's fee, refunds,
payouts (offline provider) with idempotency keys, bad input named by field, who sees whose money,
CSV, the admin's totals, `veri ledger check` and a rebuild that brings back identical balances."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from typer.testing import CliRunner

from tests.factories import empty_tables, log_in, make_admin, new_client
from tests.ledger.helpers import balances, deal_to, people, run_ledger
from tests.ledger.world import deal_specs, operations, play, replay
from veri.cli import app as cli
from veri.config import LedgerSettings, get_settings
from veri.db.engine import Database
from veri.ledger import service
from veri.ledger.book import LedgerBook
from veri.ledger.checks import check_ledger
from veri.ledger.flows import MemoryBook
from veri.ledger.repository import LedgerRepository

KEY = {"Idempotency-Key": "first-payout-0001"}


def _creator_balance(client: Any, currency: str = "USD") -> dict[str, Any]:
    body = client.get("/api/v1/ledger/balance").json()
    assert body["role"] == "creator"
    found = [c for c in body["currencies"] if c["currency"] == currency]
    return {k: v["amount_minor"] for k, v in found[0].items() if isinstance(v, dict)} if found else {}


def _brand_balance(client: Any, currency: str = "USD") -> dict[str, Any]:
    body = client.get("/api/v1/ledger/balance").json()
    assert body["role"] == "brand"
    found = [c for c in body["currencies"] if c["currency"] == currency]
    return {k: v["amount_minor"] for k, v in found[0].items() if isinstance(v, dict)} if found else {}


# -- deals -------------------------------------------------------------------------------------


def test_an_accepted_offer_is_held_in_escrow_and_released_less_the_fee_on_completion(
    app: FastAPI, clean_db: Database
) -> None:
    brand, creator = people(app)
    deal = deal_to(brand, creator, "accepted")
    run_ledger(clean_db)
    assert _brand_balance(brand) == {
        "funded": 50_000,
        "balance": 0,
        "in_escrow": 50_000,
        "paid_to_creators": 0,
        "fees": 0,
        "refunded": 0,
    }
    assert _creator_balance(creator)["in_escrow"] == 50_000
    assert _creator_balance(creator)["available"] == 0

    assert creator.post(f"/api/v1/deals/{deal['id']}/deliver", json={}).status_code == 200
    assert brand.post(f"/api/v1/deals/{deal['id']}/complete", json={}).status_code == 200
    run_ledger(clean_db)
    assert _creator_balance(creator) == {
        "available": 45_000,
        "in_escrow": 0,
        "pending_payout": 0,
        "paid_out": 0,
        "earned": 45_000,
    }
    spent = _brand_balance(brand)
    assert (spent["paid_to_creators"], spent["fees"], spent["in_escrow"]) == (45_000, 5_000, 0)
    assert run_ledger(clean_db) == 0  # nothing new: nothing moves
    dashboard = creator.get("/creator", headers={"accept": "text/html"}).text
    assert "$450.00" in dashboard and 'href="/earnings"' in dashboard
    with clean_db.sessions() as db:
        assert all(c.ok for c in check_ledger(db)), [c.failures for c in check_ledger(db)]


def test_a_cancelled_deal_refunds_the_brand_which_funds_its_next_deal_first(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "cancelled", fee_cents=30_000, title="First")
    run_ledger(clean_db)
    assert _brand_balance(brand) == {
        "funded": 30_000,
        "balance": 30_000,
        "in_escrow": 0,
        "paid_to_creators": 0,
        "fees": 0,
        "refunded": 30_000,
    }
    other = new_client(app)
    from tests.factories import sign_up

    sign_up(other, "creator", "noor")
    deal_to(brand, other, "accepted", fee_cents=50_000, title="Second")
    run_ledger(clean_db)
    spent = _brand_balance(brand)
    assert spent["funded"] == 50_000  # 30,000 from the balance, only 20,000 charged
    assert (spent["balance"], spent["in_escrow"]) == (0, 50_000)
    page = brand.get("/spend", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "First" in page.text and "Second" in page.text and "$500.00" in page.text


def test_money_keeps_its_currency_and_minor_unit(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed", fee_cents=12_345, currency="JPY", title="Tokyo")
    deal_to(brand, creator, "completed", fee_cents=10_000, currency="BHD", title="Manama")
    run_ledger(clean_db)
    body = creator.get("/api/v1/ledger/balance").json()
    by = {c["currency"]: c for c in body["currencies"]}
    assert by["JPY"]["available"] == {"amount_minor": 11_110, "currency": "JPY", "amount": "11110"}
    assert by["BHD"]["available"] == {"amount_minor": 9_000, "currency": "BHD", "amount": "9.000"}
    page = creator.get("/earnings", headers={"accept": "text/html"})
    assert "¥11,110" in page.text and "BHD 9.000" in page.text
    assert 'id="earnings-chart-JPY"' in page.text


# -- payouts -----------------------------------------------------------------------------------


def test_a_payout_retried_with_the_same_key_happens_once(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed")
    run_ledger(clean_db)
    first = creator.post("/api/v1/payouts", json={"currency": "USD", "amount": "100.00"}, headers=KEY)
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == {"amount_minor": 10_000, "currency": "USD", "amount": "100.00"}
    again = creator.post("/api/v1/payouts", json={"currency": "USD", "amount": "100.00"}, headers=KEY)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "paid"  # offline: paid as soon as it was sent
    money = _creator_balance(creator)
    assert (money["available"], money["paid_out"], money["pending_payout"]) == (35_000, 10_000, 0)
    assert creator.get("/api/v1/payouts").json()["total"] == 1
    # The same key for another request is a conflict, not a second payout.
    other = creator.post("/api/v1/payouts", json={"currency": "USD", "amount": "5.00"}, headers=KEY)
    assert other.status_code == 409
    # "All that is available", then nothing is left.
    rest = creator.post("/api/v1/payouts", json={"currency": "USD"}, headers={"Idempotency-Key": "rest-1"})
    assert rest.status_code == 201 and rest.json()["amount"]["amount_minor"] == 35_000
    empty = creator.post("/api/v1/payouts", json={"currency": "USD"}, headers={"Idempotency-Key": "rest-2"})
    assert empty.status_code == 422 and empty.json()["detail"][0]["field"] == "amount"
    run_ledger(clean_db)  # the payout events find their operations done: nothing moves twice
    money = _creator_balance(creator)
    assert (money["available"], money["paid_out"]) == (0, 45_000)
    with clean_db.sessions() as db:
        assert all(c.ok for c in check_ledger(db))


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"currency": "EUR", "amount": "10.00"}, "currency", "no EUR balance"),
        ({"currency": "XAU", "amount": "1"}, "currency", "ISO 4217"),
        ({"currency": "USD", "amount": "10.005"}, "amount", "at most 2 decimals"),
        ({"currency": "USD", "amount": 10.005}, "amount", "at most 2 decimals"),
        ({"currency": "USD", "amount": "-5"}, "amount", "greater than 0"),
        ({"currency": "USD", "amount": "450.01"}, "amount", "more than your available balance of $450.00"),
        ({"currency": "USD", "amount": "NaN"}, "amount", ""),
        ({"currency": "USD", "amount": "1", "to": "elsewhere"}, "to", ""),
    ],
)
def test_a_payout_in_the_wrong_currency_or_with_too_many_decimals_is_refused_naming_the_field(
    app: FastAPI, clean_db: Database, body: dict[str, Any], field: str, reason: str
) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed")
    run_ledger(clean_db)
    response = creator.post("/api/v1/payouts", json=body, headers=KEY)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field
    assert reason in response.json()["detail"][0]["reason"]
    assert _creator_balance(creator)["available"] == 45_000


def test_a_payout_needs_an_idempotency_key_and_a_creator(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed")
    run_ledger(clean_db)
    missing = creator.post("/api/v1/payouts", json={"currency": "USD"})
    assert missing.status_code == 422 and "Idempotency-Key" in missing.json()["detail"][0]["field"]
    assert brand.post("/api/v1/payouts", json={"currency": "USD"}, headers=KEY).status_code == 403


def test_the_earnings_page_pays_out_once_per_form(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed")
    run_ledger(clean_db)
    page = creator.get("/earnings", headers={"accept": "text/html"})
    assert page.status_code == 200 and "$450.00" in page.text and "Pay out USD" in page.text
    form = {
        "csrf_token": creator.cookies["veri_csrf"],
        "currency": "USD",
        "amount": "",
        "idempotency_key": "page-key-1-USD",
    }
    done = creator.post("/earnings/payouts", data=form, follow_redirects=False)
    assert done.status_code == 303
    twice = creator.post("/earnings/payouts", data=form, follow_redirects=False)  # a double click
    assert twice.status_code == 303
    assert creator.get("/api/v1/payouts").json()["total"] == 1
    bad = creator.post("/earnings/payouts", data={**form, "idempotency_key": "k2", "amount": "1.001"})
    assert bad.status_code == 422 and "at most 2 decimals" in bad.text
    after = creator.get("/earnings", headers={"accept": "text/html"})
    assert "Payout paid" in after.text and "paid" in after.text


# -- who sees what -----------------------------------------------------------------------------


def test_each_sees_only_their_own_money(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed")
    run_ledger(clean_db)
    payout = creator.post("/api/v1/payouts", json={"currency": "USD", "amount": "1"}, headers=KEY).json()
    outsider_brand, outsider = people(app, "omar", "ines")
    make_admin(clean_db)
    admin = new_client(app)
    log_in(admin, "root@example.com")
    me = creator.get("/api/v1/ledger/balance").json()["creator_id"]

    assert outsider.get(f"/api/v1/payouts/{payout['id']}").status_code == 404
    assert brand.get(f"/api/v1/payouts/{payout['id']}").status_code == 404
    assert admin.get(f"/api/v1/payouts/{payout['id']}").status_code == 200
    assert outsider.get(f"/api/v1/ledger/balance?creator_id={me}").status_code == 404
    assert outsider_brand.get(f"/api/v1/ledger/balance?creator_id={me}").status_code == 404
    assert admin.get(f"/api/v1/ledger/balance?creator_id={me}").json()["currencies"][0]["earned"]["amount"] == "450.00"
    assert admin.get("/api/v1/ledger/balance").status_code == 422
    assert outsider.get("/api/v1/ledger/entries").json()["total"] == 0
    assert outsider_brand.get("/api/v1/ledger/balance").json()["currencies"] == []
    assert outsider.get("/api/v1/payouts").json()["total"] == 0
    assert brand.get("/api/v1/payouts").status_code == 403
    mine = creator.get("/api/v1/ledger/entries").json()
    assert {e["account"] for e in mine["items"]} <= {"creator_payable", "payouts_pending", "payouts_paid"}
    assert all(e["creator_id"] == me for e in mine["items"])
    theirs = brand.get("/api/v1/ledger/entries").json()
    assert {e["account"] for e in theirs["items"]} == {"brand_funding", "brand_balance", "escrow"}
    assert admin.get("/api/v1/ledger/entries").json()["total"] > mine["total"] + theirs["total"]
    assert admin.get("/api/v1/admin/ledger").json()["ok"] is True
    assert creator.get("/api/v1/admin/ledger").status_code == 403


def test_entries_export_as_csv(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed", title="=HYPERLINK(evil)")
    run_ledger(clean_db)
    for response in (
        creator.get("/api/v1/ledger/entries?format=csv"),
        creator.get("/api/v1/ledger/entries", headers={"accept": "text/csv"}),
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        lines = response.text.strip().splitlines()
        assert lines[0].startswith("occurred_at,transaction_id,kind,account,currency,amount,amount_minor")
        assert len(lines) == 2 and ",release,creator_payable,USD,450.00,45000," in lines[1]
        assert "'=HYPERLINK(evil)" in lines[1]  # a title is never a formula in the reader's spreadsheet
    paged = creator.get("/api/v1/ledger/entries?limit=1").json()
    assert paged["total"] == 1 and paged["items"][0]["campaign_title"] == "=HYPERLINK(evil)"


# -- operations --------------------------------------------------------------------------------


def test_the_admin_page_shows_totals_that_balance(app: FastAPI, clean_db: Database) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed")
    run_ledger(clean_db)
    make_admin(clean_db)
    admin = new_client(app)
    log_in(admin, "root@example.com")
    page = admin.get("/admin/ledger", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.text.count('class="badge ok">OK') >= 2 and "broken" not in page.text
    overview = admin.get("/api/v1/admin/ledger").json()
    usd = overview["currencies"][0]
    assert usd["balanced"] is True and usd["total"]["amount_minor"] == 0
    assert {a["account"]: a["balance"]["amount_minor"] for a in usd["by_account"]} == {
        "brand_funding": -50_000,
        "brand_balance": 0,
        "escrow": 0,
        "creator_payable": 45_000,
        "platform_fee": 5_000,
    }


@pytest.fixture
def cli_env(clean_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> Any:
    monkeypatch.setenv("VERI_DATABASE_URL", clean_db.url)
    monkeypatch.setenv("VERI_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_ledger_check_exits_1_listing_what_is_broken(app: FastAPI, clean_db: Database, cli_env: CliRunner) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "completed")
    run_ledger(clean_db)
    good = cli_env.invoke(cli, ["ledger", "check", "--json"])
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout.strip().splitlines()[-1])["ok"] is True
    with clean_db.transaction() as db:  # a corrupt entry: money from nowhere
        db.execute(
            text(
                "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount)"
                " SELECT transaction_id, account_id, currency, 1 FROM ledger_entries LIMIT 1"
            )
        )
    bad = cli_env.invoke(cli, ["ledger", "check", "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.stdout.strip().splitlines()[-1])
    broken = {c["name"]: c["failures"] for c in report["checks"] if c["failures"]}
    assert "every transaction sums to zero per currency" in broken
    assert "the ledger sums to zero per currency" in broken
    assert "escrow:" in broken["every transaction sums to zero per currency"][0]


def test_a_rebuild_from_the_log_brings_back_identical_balances(
    app: FastAPI, clean_db: Database, cli_env: CliRunner
) -> None:
    brand, creator = people(app)
    deal_to(brand, creator, "cancelled", fee_cents=20_000, title="Cancelled")
    deal_to(brand, creator, "completed", fee_cents=50_000, title="Completed")
    deal_to(brand, creator, "accepted", fee_cents=10_000, currency="JPY", title="Open")
    run_ledger(clean_db)
    creator.post("/api/v1/payouts", json={"currency": "USD", "amount": "100"}, headers=KEY)
    before = balances(clean_db)
    assert before
    with clean_db.sessions() as db:
        transactions = LedgerRepository(db).counts()
    # Another fee setting now: deals keep the rate recorded with their escrow.
    applied = service.rebuild(
        clean_db, settings=LedgerSettings(platform_fee_percent=25), partitions=get_settings().events.event_partitions
    )
    assert applied > 0
    assert balances(clean_db) == before
    result = cli_env.invoke(cli, ["ledger", "rebuild", "--json"])
    assert result.exit_code == 0, result.output
    assert balances(clean_db) == before
    with clean_db.sessions() as db:
        assert LedgerRepository(db).counts() == transactions
        assert all(c.ok for c in check_ledger(db))


# -- properties on the database ----------------------------------------------------------------


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(deal_specs, operations, st.integers(0, 10_000), st.integers(0, 1000))
def test_the_database_book_agrees_with_the_rules_and_replays_identically(
    clean_db: Database,
    specs: list[tuple[int, int, str, int, str]],
    ops: list[tuple[str, int, int]],
    fee_bps: int,
    seed: int,
) -> None:
    empty_tables(clean_db)
    memory = MemoryBook()
    log, _ = play(memory, specs, ops, fee_bps=fee_bps, seed=seed)
    with clean_db.transaction() as db:
        replay(log, LedgerBook(db), fee_bps=fee_bps)
    expected = {(a.kind, a.owner_id, a.currency): v for a, v in memory.nonzero().items()}
    assert balances(clean_db) == expected
    with clean_db.transaction() as db:
        LedgerRepository(db).reset()
    with clean_db.transaction() as db:  # the escrows' terms come back from the outbox
        replay(log, LedgerBook(db), fee_bps=(fee_bps + 1234) % 10_001)
    assert balances(clean_db) == expected
    with clean_db.sessions() as db:
        failed = [c for c in check_ledger(db) if not c.ok and c.name != "payouts agree with the ledger"]
        assert not failed, failed
