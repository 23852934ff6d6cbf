"""The money pages in Debian's Chromium: a creator with months of completed deals (three through
the API, earlier ones brought in as events) sees what is available, in escrow and paid out, the
chart by month and every entry; asks for a payout with the page's button; the brand sees its spend
by campaign, the admin a ledger that balances. Screenshots go to artifacts/."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD, envelope, make_admin, make_settings, open_test_database, put, served
from tests.ledger.helpers import run_ledger
from tests.live.test_browser_live import _api, _person
from veri.app import create_app
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def money_site(
    embedded_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Database]]:
    embedded_server.drop_database("veri_ledger_browser")
    embedded_server.ensure_database("veri_ledger_browser")
    database = open_test_database(embedded_server.url("veri_ledger_browser"), embedded_server)
    settings = make_settings(tmp_path_factory.mktemp("ledger-browser"))
    with served(create_app(settings, database=database)) as port:
        yield f"http://127.0.0.1:{port}", database
    database.dispose()


def _deal(brand: Any, creator: Any, url: str, title: str, fee: int, upto: str) -> dict[str, Any]:
    campaign = _api(brand, "POST", f"{url}/api/v1/campaigns", {"title": title, "budget_cents": 5_000_000})
    _api(brand, "POST", f"{url}/api/v1/campaigns/{campaign['id']}/transition", {"to": "open"})
    deal = _api(creator, "POST", f"{url}/api/v1/deals", {"campaign_id": campaign["id"], "fee_cents": fee})
    for who, action in [(brand, "accept"), (creator, "deliver"), (brand, "complete")]:
        _api(who, "POST", f"{url}/api/v1/deals/{deal['id']}/{action}", {})
        if action == upto:
            break
    return deal


def _history(database: Database, deal: dict[str, Any], fees: list[int]) -> None:
    """Earlier deals on the same campaign brought in as events, one a month before this one."""
    now = datetime.now(UTC).replace(day=15, hour=12, minute=0, second=0, microsecond=0)
    events = []
    for months_ago, fee in enumerate(fees, start=1):
        at = (now - timedelta(days=31 * months_ago)).replace(day=10)
        refs = {
            "deal_id": str(uuid.uuid4()),
            "campaign_id": deal["campaign_id"],
            "brand_id": deal["brand_id"],
            "creator_id": deal["creator_id"],
        }
        for step, status in enumerate(("accepted", "completed")):
            payload = {
                **refs,
                "from_status": "proposed",
                "to_status": status,
                "fee_cents": fee,
                "accepted_fee_cents": fee,
            }
            events.append(
                envelope(
                    "deal.status_changed",
                    payload,
                    subject=f"creator:{deal['creator_id']}",
                    at=at + timedelta(days=8 * step),
                )
            )
    put(database, events)


def test_the_earnings_page_shows_the_money_and_pays_out(browser: Any, money_site: tuple[str, Database]) -> None:
    from playwright.sync_api import expect

    url, database = money_site
    brand = _person(browser, url, "brand", "lena")
    creator = _person(browser, url, "creator", "maya")
    done = _deal(brand, creator, url, "Peak week", 120_000, "complete")
    _deal(brand, creator, url, "Trail mix reels", 80_000, "complete")
    _deal(brand, creator, url, "Summer launch", 150_000, "accept")
    brand_id = _api(brand, "GET", f"{url}/api/v1/brands/me", {})["id"]
    _history(database, {**done, "brand_id": brand_id}, [90_000, 60_000, 75_000, 40_000])
    run_ledger(database)

    page = creator.new_page()
    page.goto(f"{url}/earnings")
    money = page.locator("#earnings-money")
    expect(money.locator(".stat").first).to_contain_text("$4,185.00")  # (1,200 + 800 + 2,650) less 10%
    expect(money).to_contain_text("$1,500.00")  # the accepted deal, in escrow
    expect(page.locator("#earnings-chart-USD .main-svg").first).to_be_visible()
    expect(page.locator("#earnings-entries")).to_contain_text("Trail mix reels")
    page.get_by_label("Amount in USD").fill("1000")
    page.get_by_role("button", name="Pay out USD").click()
    expect(page.locator(".flash")).to_have_text("Payout of $1,000.00 requested.")
    expect(money.locator(".stat").first).to_contain_text("$3,185.00")  # set aside at once
    # Sent to the provider once the request committed (offline: paid at once).
    deadline = time.monotonic() + 10
    while _api(creator, "GET", f"{url}/api/v1/payouts", {})["items"][0]["status"] != "paid":
        assert time.monotonic() < deadline, "the payout was not sent"
        time.sleep(0.1)
    page.goto(f"{url}/earnings")
    expect(money.locator(".stat").nth(3)).to_contain_text("$1,000.00")
    expect(page.locator("#earnings-money table .badge")).to_have_text("paid")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "17-earnings.png"), full_page=True)

    spend = brand.new_page()
    spend.goto(f"{url}/spend")
    expect(spend.locator("#spend-money")).to_contain_text("Trail mix reels")
    expect(spend.locator("#spend-money .stat").first).to_contain_text("$6,150.00")  # every fee, charged
    spend.screenshot(path=str(ARTIFACTS / "17-spend.png"), full_page=True)

    make_admin(database, "ledger-admin@example.com")
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    login = admin.request.post(
        f"{url}/api/v1/auth/login", data={"email": "ledger-admin@example.com", "password": PASSWORD}
    )
    assert login.ok
    ops = admin.new_page()
    ops.goto(f"{url}/admin/ledger")
    expect(ops.locator("h1 .badge")).to_have_text("OK")
    ops.screenshot(path=str(ARTIFACTS / "17-admin-ledger.png"), full_page=True)
