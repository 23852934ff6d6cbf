"""Connecting a platform in Debian's Chromium: the creator's profile, "Connect YouTube", the
platform's consent page (another origin), Approve, back on the profile connected; the worker's
sync brings the posts and numbers, and the open page shows them without a reload. Screenshots
go to artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.helpers import settings_for, start_demo
from tests.factories import PASSWORD, free_port, open_test_database, served
from veri.app import create_app
from veri.connectors.sync import SyncRunner
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database
from veri.demo_platform import DemoPlatformServer

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def site(
    embedded_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Any, Database, DemoPlatformServer]]:
    embedded_server.drop_database("veri_connect_browser")
    embedded_server.ensure_database("veri_connect_browser")
    database = open_test_database(embedded_server.url("veri_connect_browser"), embedded_server)
    tmp = tmp_path_factory.mktemp("connect-browser")
    port = free_port()
    settings = settings_for(tmp, port)
    app = create_app(settings, database=database)
    with start_demo(tmp, port) as demo, served(app) as veri_port:
        url = f"http://127.0.0.1:{veri_port}"
        demo.app.state.sender.url = f"{url}/api/v1/connectors/{{platform}}/webhook"  # the platform's webhooks
        yield url, app, database, demo
    database.dispose()


def test_a_creator_connects_youtube_through_the_consent_page_and_sees_the_posts_arrive(
    browser: Any, site: tuple[str, Any, Database, DemoPlatformServer]
) -> None:
    from playwright.sync_api import expect

    url, app, database, demo = site
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    body = {
        "email": "maya@example.com",
        "password": PASSWORD,
        "display_name": "Maya",
        "role": "creator",
        "handle": "maya",
    }
    assert context.request.post(f"{url}/api/v1/auth/signup", data=body).status == 201
    page = context.new_page()
    page.goto(f"{url}/creator/profile")
    page.wait_for_selector("html[data-live-connected]", timeout=10_000)
    page.get_by_role("button", name="Connect YouTube").click()

    # The platform's own page, on its own origin.
    page.wait_for_url(f"{demo.url}/youtube/o/oauth2/v2/auth*")
    expect(page.get_by_role("heading")).to_contain_text("wants to access your YouTube account")
    page.get_by_label("Signed in as").fill("maya_moves")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "17-consent.png"), full_page=True)
    page.get_by_role("button", name="Approve").click()

    # Back on Veri, connected.
    page.wait_for_url(f"{url}/creator/profile")
    expect(page.locator(".flash")).to_contain_text("YouTube account maya_moves connected")
    row = page.locator("#connections tbody tr", has_text="maya_moves")
    expect(row.locator(".badge")).to_have_text("connected")
    page.wait_for_selector("html[data-live-connected]", timeout=10_000)
    page.evaluate("window.__sameDocument = true")

    # The worker's sync: the open page fills in by itself.
    report = SyncRunner(database, app.state.connectors).run_once()
    assert report.synced == 1 and report.posts == demo.config.posts_per_account
    expect(page.locator("table.synced-posts tbody tr")).to_have_count(demo.config.posts_per_account, timeout=5_000)
    expect(row.locator("td").nth(5)).to_have_text(str(demo.config.posts_per_account))
    assert page.evaluate("window.__sameDocument") is True
    page.screenshot(path=str(ARTIFACTS / "17-connect.png"), full_page=True)

    # Disconnect: the button, and the account stays, disconnected, with a way back.
    page.get_by_role("button", name="Disconnect youtube maya_moves").click()
    page.wait_for_url(f"{url}/creator/profile")
    expect(row.locator(".badge")).to_have_text("disconnected")
    expect(page.get_by_role("button", name="Reconnect youtube maya_moves")).to_be_visible()
    context.close()
