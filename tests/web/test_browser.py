"""End to end in Debian's Chromium (headless, driven by Playwright): a creator signs up, logs
out and in again and opens the dashboard; a brand signs up and creates a campaign. Screenshots
go to artifacts/ for a person to look at."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from tests.factories import IN_CI, PASSWORD, make_settings, open_test_database
from veri.app import create_app
from veri.db.embedded import EmbeddedPostgres

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(embedded_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    embedded_server.drop_database("veri_browser")
    embedded_server.ensure_database("veri_browser")
    database = open_test_database(embedded_server.url("veri_browser"), embedded_server)
    port = _free_port()
    settings = make_settings(tmp_path_factory.mktemp("live"), port=port)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database=database),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    database.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("Debian's chromium is missing: `make test` installs it")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_creator_signs_up_logs_in_and_sees_the_dashboard(browser: object, live_url: str) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()  # type: ignore[attr-defined]
    page.goto(f"{live_url}/")
    assert page.url.endswith("/login")
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
