"""Live pages in Debian's Chromium, two people in two browser contexts: the creator's deal page
is open; the brand writes in the thread and counters; the creator's page shows the message and
the new terms within a second, without a reload, and the header's unread badge counts up.
Screenshots go to artifacts/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD, make_settings, open_test_database, served
from veri.app import create_app
from veri.db.embedded import EmbeddedPostgres

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def live_url(embedded_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    embedded_server.drop_database("veri_live_browser")
    embedded_server.ensure_database("veri_live_browser")
    database = open_test_database(embedded_server.url("veri_live_browser"), embedded_server)
    settings = make_settings(tmp_path_factory.mktemp("live-browser"))
    with served(create_app(settings, database=database)) as port:
        yield f"http://127.0.0.1:{port}"
    database.dispose()


def _person(browser: Any, live_url: str, role: str, name: str) -> Any:
    """A browser context logged in as a new `role` named `name` (signed up through the API)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    body: dict[str, str] = {
        "email": f"{name}@example.com",
        "password": PASSWORD,
        "display_name": name.title(),
        "role": role,
    }
    body |= {"handle": name} if role == "creator" else {"brand_name": f"{name.title()} Co"}
    response = context.request.post(f"{live_url}/api/v1/auth/signup", data=body)
    assert response.status == 201, response.text()
    return context


def _api(context: Any, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    token = next(c["value"] for c in context.cookies() if c["name"] == "veri_csrf")
    response = context.request.fetch(url, method=method, data=body, headers={"X-CSRF-Token": token})
    assert response.ok, response.text()
    return dict(response.json())


def _open(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("html[data-live-connected]", timeout=10_000)  # the stream is open
    return page


def test_the_creators_open_deal_page_shows_the_brands_message_and_offer_live(browser: Any, live_url: str) -> None:
    from playwright.sync_api import expect

    brand = _person(browser, live_url, "brand", "lena")
    creator = _person(browser, live_url, "creator", "maya")
    campaign = _api(brand, "POST", f"{live_url}/api/v1/campaigns", {"title": "Peak week", "budget_cents": 300_000})
    _api(brand, "POST", f"{live_url}/api/v1/campaigns/{campaign['id']}/transition", {"to": "open"})
    deal = _api(creator, "POST", f"{live_url}/api/v1/deals", {"campaign_id": campaign["id"], "fee_cents": 90_000})

    maya = _open(creator, f"{live_url}/deals/{deal['id']}")
    badge = maya.locator("header [data-unread-count]")
    expect(badge).to_be_hidden()  # nothing unread yet
    maya.evaluate("window.__sameDocument = true")  # gone if the page reloads
    lena = _open(brand, f"{live_url}/deals/{deal['id']}")
    expect(lena.locator("header [data-unread-count]")).to_have_text("1")  # the application

    # The brand writes in the thread, as a person does: the form, then the button.
    lena.get_by_label("Write a message").fill("Could you add a story to the two reels?")
    started = time.perf_counter()
    lena.get_by_role("button", name="Send", exact=True).click()
    message = maya.locator("#deal-messages li", has_text="Could you add a story to the two reels?")
    expect(message).to_be_visible(timeout=1_000)
    took = time.perf_counter() - started
    assert took < 1.0, f"the message took {took:.2f}s to appear"
    assert "Brand" in message.inner_text()
    expect(badge).to_have_text("1", timeout=1_000)
    ARTIFACTS.mkdir(exist_ok=True)
    maya.screenshot(path=str(ARTIFACTS / "13-deal-message-live.png"), full_page=True)

    # The brand counters: the creator's terms, moves and negotiation update in place.
    lena.wait_for_url(f"{live_url}/deals/{deal['id']}*")
    lena.locator("#f-fee").fill("800")
    started = time.perf_counter()
    lena.get_by_role("button", name="Send counter-offer").click()
    expect(maya.locator("#deal-terms")).to_contain_text("$800", timeout=1_000)
    assert time.perf_counter() - started < 1.0
    expect(maya.locator("#deal-history")).to_contain_text("offered $800")
    expect(maya.locator("#deal-terms").get_by_role("button", name="Accept")).to_be_visible()
    expect(badge).to_have_text("2", timeout=1_000)
    assert maya.evaluate("window.__sameDocument") is True  # never reloaded

    # The notification centre lists both; opening one marks it read and leads to the deal.
    maya.locator("header a.notif-link").click()
    maya.wait_for_url(f"{live_url}/notifications")
    items = maya.locator("ol.notifications li.unread")
    expect(items).to_have_count(2)
    maya.screenshot(path=str(ARTIFACTS / "14-notifications.png"), full_page=True)
    maya.get_by_role("button", name="Lena Co counters with $800 on Peak week", exact=True).click()
    maya.wait_for_url(f"{live_url}/deals/{deal['id']}")
    expect(maya.locator("header [data-unread-count]")).to_have_text("1")
