"""A task in Debian's Chromium, two people in two browser contexts: the creator submits a
screenshot through the tasks page; the brand approves it in the review queue; the creator's open
page shows the verdict within a second, without a reload."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.live.test_browser_live import _api, _open, _person, live_url  # noqa: F401 (live_url: a fixture)
from tests.tasks.test_tasks import _png

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


def test_the_creators_open_tasks_page_shows_the_brands_approval_live(
    browser: Any,
    live_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    brand = _person(browser, live_url, "brand", "tessa")
    creator = _person(browser, live_url, "creator", "iris")
    campaign = _api(brand, "POST", f"{live_url}/api/v1/campaigns", {"title": "Glow week", "budget_cents": 200_000})
    _api(brand, "POST", f"{live_url}/api/v1/campaigns/{campaign['id']}/transition", {"to": "open"})
    deal = _api(creator, "POST", f"{live_url}/api/v1/deals", {"campaign_id": campaign["id"], "fee_cents": 60_000})
    _api(brand, "POST", f"{live_url}/api/v1/deals/{deal['id']}/accept", {})
    task = _api(
        brand,
        "POST",
        f"{live_url}/api/v1/tasks",
        {"kind": "screenshot", "title": "Story reach screenshot", "deal_id": deal["id"], "points": 40},
    )

    iris = _open(creator, f"{live_url}/tasks")
    card = iris.locator(f"#task-{task['id']}")
    card.get_by_role("button", name="Accept").click()
    iris.wait_for_selector("html[data-live-connected]", timeout=10_000)
    card = iris.locator(f"#task-{task['id']}")
    shot = tmp_path / "story.png"
    shot.write_bytes(_png(seed=5))
    card.get_by_label("Views you see now").fill("1150")
    card.get_by_label("Screenshot (PNG, JPEG or WebP, at most 3 MB)").set_input_files(str(shot))
    card.get_by_role("button", name="Submit proof").click()
    iris.wait_for_selector("html[data-live-connected]", timeout=10_000)
    expect(iris.locator(f"#task-{task['id']} .badge")).to_have_text("needs review")
    iris.evaluate("window.__sameDocument = true")

    # The brand opens the review queue and approves.
    tessa = _open(brand, f"{live_url}/tasks/review")
    review = tessa.locator("article.review", has_text="Story reach screenshot")
    expect(review.get_by_role("img", name="Screenshot submitted as proof")).to_be_visible()
    started = time.perf_counter()
    review.get_by_role("button", name="Approve").click()
    expect(iris.locator(f"#task-{task['id']} .badge")).to_have_text("verified", timeout=1_000)
    took = time.perf_counter() - started
    assert took < 1.0, f"the verdict took {took:.2f}s to appear"
    assert iris.evaluate("window.__sameDocument") is True
    ARTIFACTS.mkdir(exist_ok=True)
    iris.screenshot(path=str(ARTIFACTS / "15-task-verified-live.png"), full_page=True)
    tessa.wait_for_url(f"{live_url}/tasks/review*")
    tessa.screenshot(path=str(ARTIFACTS / "16-review-queue.png"), full_page=True)
