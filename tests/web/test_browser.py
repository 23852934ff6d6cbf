"""End to end in Debian's Chromium (headless, driven by Playwright): a creator signs up, logs
out and in again and opens the dashboard; a brand signs up, creates a campaign, invites a creator
from the directory and sees the answer arrive without a reload; the pages on a phone; the API
docs. Screenshots (desktop and phone) go to artifacts/ for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import PASSWORD, make_settings, open_test_database, served
from veri.app import create_app
from veri.db.embedded import EmbeddedPostgres

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def live_url(embedded_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    embedded_server.drop_database("veri_browser")
    embedded_server.ensure_database("veri_browser")
    database = open_test_database(embedded_server.url("veri_browser"), embedded_server)
    settings = make_settings(tmp_path_factory.mktemp("live"))
    with served(create_app(settings, database=database)) as port:
        yield f"http://127.0.0.1:{port}"
    database.dispose()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_creator_signs_up_logs_in_and_sees_the_dashboard(browser: object, live_url: str) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()  # type: ignore[attr-defined]
    page.goto(f"{live_url}/")
    assert "Brand deals that remember" in page.get_by_role("heading", level=1).inner_text()
    _shot(page, "00-landing")
    page.get_by_role("link", name="Log in").first.click()
    page.wait_for_url(f"{live_url}/login")
    _shot(page, "01-login")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Your name").fill("Maya Ortiz")
    page.get_by_label("Email").fill("maya@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_label("Creator handle").fill("maya.moves")
    page.get_by_role("button", name="Create account").click()
    _shot(page, "02-signup-error")
    assert "at least 10 characters" in page.locator("#e-password").inner_text(timeout=5000)
    _shot(page, "02-signup-error")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_url}/creator")
    assert "Welcome to Veri, Maya Ortiz!" in page.get_by_role("status").inner_text()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_url}/login")
    page.get_by_label("Email").fill("maya@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_url}/creator")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Hi Maya Ortiz")
    page.get_by_role("link", name="Edit profile").click()
    page.get_by_label("Niches").fill("fitness, wellness")
    page.get_by_label("Audience size").fill("48000")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_role("link", name="Dashboard").click()
    assert "48k" in page.inner_text("main")
    _shot(page, "03-creator-dashboard")


def test_brand_creates_a_campaign(browser: object, live_url: str) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()  # type: ignore[attr-defined]
    page.goto(f"{live_url}/signup?role=brand")
    page.get_by_label("a brand").check()
    page.get_by_label("Your name").fill("Lena Fischer")
    page.get_by_label("Email").fill("lena@peakform.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Brand name").fill("Peakform")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_url}/brand")
    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Title").fill("Summer strength challenge")
    page.get_by_label("Brief").fill("Three home workouts with our bands.")
    page.get_by_label("Budget (USD)").fill("4000")
    page.get_by_label("Niches").fill("fitness")
    page.get_by_label("youtube").first.check()
    page.get_by_label("Open it to creators right away").check()
    _shot(page, "04-campaign-form")
    page.get_by_role("button", name="Create campaign").click()
    page.wait_for_url(f"{live_url}/campaigns/*")
    assert "Summer strength challenge" in page.get_by_role("heading", level=1).inner_text()
    assert "$4,000" in page.inner_text("main")
    _shot(page, "05-campaign-detail")
    page.get_by_role("link", name="Campaigns").first.click()
    assert "Summer strength challenge" in page.inner_text("main")
    _shot(page, "06-brand-dashboard")


def test_creator_explores_memory(browser: object, live_url: str, embedded_server: EmbeddedPostgres) -> None:
    from datetime import timedelta

    from tests.factories import START, conversation, form_memories, message, put

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()  # type: ignore[attr-defined]
    page.goto(f"{live_url}/signup")
    page.get_by_label("Your name").fill("Ines Duarte")
    page.get_by_label("Email").fill("ines@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Creator handle").fill("ines.lifts")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_url}/creator")
    creator = page.request.get(f"{live_url}/api/v1/creators/me").json()["id"]

    # Her conversations arrive as events and the memory consumer group forms what she sees.
    import uuid

    database = open_test_database(embedded_server.url("veri_browser"), embedded_server)
    try:
        me = uuid.UUID(creator)
        put(
            database,
            [
                *conversation(me),
                message(me, "I'm based in Porto.", START + timedelta(days=1)),
                message(me, "I'm moving to Lisbon in May, <b>filming</b> pauses.", START + timedelta(days=30)),
            ],
        )
        form_memories(database)
    finally:
        database.dispose()

    page.get_by_role("link", name="Memory").click()
    page.wait_for_url(f"{live_url}/memories")
    assert "Timeline" in page.inner_text("main")
    page.wait_for_selector("#chart-timeline .main-svg")
    _shot(page, "07-memory-explorer")
    page.get_by_label("Search").fill("What budget did Peakform offer for the first sponsored video?")
    page.get_by_role("button", name="Search").click()
    first = page.locator("ol.hits li a").first
    assert "budget for a first sponsored video" in first.inner_text()
    page.locator("ol.hits details summary").first.click()
    assert "bm25" in page.locator("ol.hits details").first.inner_text().lower()
    _shot(page, "08-memory-search")

    page.goto(f"{live_url}/memories?type=creator_entity")
    page.get_by_role("link", name="lives in Lisbon").click()
    assert "Validity history" in page.inner_text("main")
    history = page.get_by_role("region", name="Validity history").inner_text()
    assert "Porto" in history and "Lisbon" in history and "superseded" in history
    assert "<b>filming</b>" in page.locator("article.source").first.inner_text()  # shown, not rendered
    _shot(page, "09-memory-detail")

    page.goto(f"{live_url}/memories?type=creator_entity")
    page.eval_on_selector(
        "#as-of-slider",
        "el => { el.value = 200; el.dispatchEvent(new Event('input')); el.dispatchEvent(new Event('change')); }",
    )
    page.wait_for_url("**as_of=**")
    timeline = page.locator("ul.timeline").inner_text()
    assert "Porto" in timeline and "Lisbon" not in timeline
    _shot(page, "10-memory-as-of")

    # She asks Veri: the answer streams in with its steps and sources; her HTML stays text.
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.get_by_role("link", name="Ask Veri").click()
    page.wait_for_url(f"{live_url}/agent")
    page.get_by_label("Your question").fill("What budget did Peakform offer for the first sponsored video?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_selector("article.turn p.citations a")
    turn = page.locator("article.turn").last
    assert "1,200 dollars" in turn.locator(".answer").inner_text()
    assert "search memories" in turn.locator(".steps").inner_text()
    _shot(page, "11-agent-answer")
    page.get_by_label("Your question").fill("<img src=x onerror=alert(1)> where do I live?")
    page.get_by_role("button", name="Ask").click()
    page.locator("article.turn").nth(1).get_by_text("completed ·").wait_for()
    page.reload()  # the history, rendered by the server
    assert "<img src=x onerror=alert(1)>" in page.locator("article.turn .question").last.inner_text()
    assert dialogs == []
    page.locator("article.turn button.feedback").first.click()
    page.wait_for_selector("article.turn button.feedback[aria-pressed=true]")
    _shot(page, "12-agent-history")


def _sign_up(context: object, live_url: str, role: str, name: str, handle_or_brand: str) -> object:
    page = context.new_page()  # type: ignore[attr-defined]
    page.goto(f"{live_url}/signup?role={role}")
    if role == "brand":
        page.get_by_label("a brand").check()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(f"{handle_or_brand.lower().replace(' ', '')}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Brand name" if role == "brand" else "Creator handle").fill(handle_or_brand)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{live_url}/{role}")
    return page


def _api(page: object, method: str, url: str, body: dict[str, object]) -> dict[str, object]:
    """Call the API as the page's logged-in person (cookie session + CSRF header)."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "veri_csrf")  # type: ignore[attr-defined]
    response = page.request.fetch(url, method=method, data=body, headers={"X-CSRF-Token": token})  # type: ignore[attr-defined]
    assert response.ok, response.text()
    return dict(response.json())


def test_brand_invites_a_creator_and_sees_the_answer_live(browser: object, live_url: str) -> None:
    creator = _sign_up(
        browser.new_context(viewport={"width": 1280, "height": 860}), live_url, "creator", "Noa Lind", "noa.cooks"
    )  # type: ignore[attr-defined]
    creator_page = creator
    _api(creator_page, "PATCH", f"{live_url}/api/v1/creators/me", {"niches": ["cooking"], "bio": "Weeknight recipes."})
    brand = _sign_up(
        browser.new_context(viewport={"width": 1280, "height": 900}), live_url, "brand", "Ada Verde", "Verde Kitchen"
    )  # type: ignore[attr-defined]
    campaign = _api(brand, "POST", f"{live_url}/api/v1/campaigns", {"title": "Spring recipes", "budget_cents": 300_000})
    _api(brand, "POST", f"{live_url}/api/v1/campaigns/{campaign['id']}/transition", {"to": "open"})

    brand.get_by_role("link", name="Creators").click()  # type: ignore[attr-defined]
    brand.get_by_label("Niche").fill("cooking")  # type: ignore[attr-defined]
    brand.get_by_role("button", name="Filter").click()  # type: ignore[attr-defined]
    brand.get_by_role("link", name="Noa Lind").click()  # type: ignore[attr-defined]
    assert "Weeknight recipes." in brand.inner_text("main")  # type: ignore[attr-defined]
    brand.get_by_label("Your offer").fill("900")  # type: ignore[attr-defined]
    brand.get_by_label("Message").fill("Two reels for our spring range?")  # type: ignore[attr-defined]
    _shot(brand, "11-creator-profile-invite")
    brand.get_by_role("button", name="Send the offer").click()  # type: ignore[attr-defined]
    brand.wait_for_url(f"{live_url}/deals/*")  # type: ignore[attr-defined]
    assert brand.locator("#deal-status").inner_text() == "proposed"  # type: ignore[attr-defined]

    # The creator answers from the dashboard, where the moves are buttons.
    creator_page.goto(f"{live_url}/creator")  # type: ignore[attr-defined]
    creator_page.get_by_role("button", name="Accept: Spring recipes").click()  # type: ignore[attr-defined]
    creator_page.wait_for_url(f"{live_url}/deals/*")  # type: ignore[attr-defined]

    # The brand's open page shows it without a reload, and the negotiation lists every move.
    from playwright.sync_api import expect

    expect(brand.locator("#deal-status")).to_have_text("accepted", timeout=20_000)  # type: ignore[attr-defined]
    history = brand.locator("#deal-history").inner_text()  # type: ignore[attr-defined]
    assert "offered $900" in history and "accepted $900" in history
    _shot(brand, "12-deal-accepted-live")


def test_error_pages_keep_the_header_and_the_api_docs_load(browser: object, live_url: str) -> None:
    page = _sign_up(
        browser.new_context(viewport={"width": 1280, "height": 860}), live_url, "creator", "Lee Park", "lee.park"
    )  # type: ignore[attr-defined]
    response = page.goto(f"{live_url}/deals/00000000-0000-0000-0000-000000000000")  # type: ignore[attr-defined]
    assert response.status == 404
    assert page.get_by_role("button", name="Log out").is_visible()  # type: ignore[attr-defined]
    page.goto(f"{live_url}/api/docs")  # type: ignore[attr-defined]
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)  # type: ignore[attr-defined]
    assert page.locator(".swagger-ui .opblock").count() > 20  # type: ignore[attr-defined]
    _shot(page, "13-api-docs")


PHONE = {"width": 390, "height": 844}


def _fits_the_screen(page: object) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))  # type: ignore[attr-defined]


def test_pages_on_a_phone(browser: object, live_url: str) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{live_url}/")
    assert _fits_the_screen(page)
    _shot(page, "mobile-01-landing")
    page.goto(f"{live_url}/login")
    assert _fits_the_screen(page)
    _shot(page, "mobile-02-login")
    page = _sign_up(context, live_url, "brand", "Mo Reyes", "Reyes Outdoors")
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.is_visible()  # folded behind the toggle
    page.get_by_text("Menu").click()
    assert nav.is_visible()
    _shot(page, "mobile-03-menu-open")
    campaign = _api(
        page,
        "POST",
        f"{live_url}/api/v1/campaigns",
        {
            "title": "A campaign with a rather long title for a phone",
            "budget_cents": 150_000,
            "niches": ["outdoors", "travel", "hiking"],
        },
    )
    for path in ("/brand", f"/campaigns/{campaign['id']}", "/creators", "/analytics", "/memories", "/settings"):
        page.goto(f"{live_url}{path}")
        assert _fits_the_screen(page), path
    page.goto(f"{live_url}/brand")
    _shot(page, "mobile-04-brand-dashboard")
    page.goto(f"{live_url}/analytics")
    _shot(page, "mobile-05-analytics")
