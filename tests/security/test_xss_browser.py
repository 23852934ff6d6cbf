"""Stored XSS, probed in Chromium. Every free-text field a person can write through the API (the
request models' display names, bio, location, niches, social handles, content titles, ids and URLs,
API key names, conversation titles, agent questions, brand names, categories, websites and
descriptions, campaign titles, briefs and niches, deal messages and offer notes, task titles and
instructions, review reasons, flag change reasons) holds a payload that would run if a page printed
it unescaped: a broken-out attribute, an `<img onerror>`, a `<script>`. Then every page that shows
them is opened as the creator, the brand and an admin with a dialog listener, and so are a form sent
back with an error (what was typed is shown again) and its flash, the agent's streamed answer, and a
deal message arriving live. No dialog opens, nothing of a payload becomes an element, and the
payloads are there as text (or, for a URL, as an href's whole value).

The pages' Content-Security-Policy would stop an inline script on its own: it is bypassed here, so
the test sees the escaping, not the policy. URL fields refuse `javascript:` (and every scheme but
http and https) outright. Memory has no field of its own: its text comes from the messages above."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, form_memories, make_admin, make_settings, open_test_database, run_group, served
from veri.app import create_app
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database
from veri.ledger.handlers import LedgerHandler
from veri.scoring.boards import Leaderboards
from veri.scoring.handlers import ScoringHandler

pytestmark = pytest.mark.browser


def payload(n: int) -> str:
    """Field n's payload: closes an attribute and a tag, then an image whose error handler and a
    script each open a dialog that names the field."""
    return f"""x{n}"'><img src=x data-xss="{n}" onerror=alert({n})><script>alert({n})</script>"""


def short(n: int) -> str:
    """For fields of 40 characters or fewer (niches, a brand's category); lower case already."""
    return f"<svg data-xss={n} onload=alert({n})>"


def evil_url(n: int) -> str:
    """An http(s) URL, which URL fields accept, that would break out of an href if unescaped."""
    return f'https://e.example/"><img/src=x/data-xss={n}/onerror=alert({n})>'


JAVASCRIPT_URLS = ("javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,<b>x</b>")


@dataclass
class Person:
    """A client of the live server, logged in: a session cookie and the CSRF header."""

    http: httpx.Client
    email: str

    def post(self, path: str, body: Any = None, status: int = 201, **kw: Any) -> dict[str, Any]:
        response = self.http.post(path, json=body, **kw)
        assert response.status_code == status, f"{path}: {response.text}"
        return dict(response.json()) if response.content else {}

    def patch(self, path: str, body: Any) -> dict[str, Any]:
        response = self.http.patch(path, json=body)
        assert response.status_code == 200, f"{path}: {response.text}"
        return dict(response.json())


def _person(url: str, email: str, signup: dict[str, Any] | None = None) -> Person:
    http = httpx.Client(base_url=url, timeout=30)
    if signup is not None:
        answer = http.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD, **signup})
    else:
        answer = http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code in (200, 201), answer.text
    http.headers["X-CSRF-Token"] = http.cookies["veri_csrf"]
    return Person(http, email)


@dataclass
class World:
    url: str
    database: Database
    ids: dict[str, str] = field(default_factory=dict)
    # The numbers of the fields written, by what they are.
    fields: dict[int, str] = field(default_factory=dict)


def _build(url: str, database: Database) -> World:
    world = World(url, database)
    w = world.fields
    w |= {1: "creator display name", 2: "bio", 3: "location", 4: "creator niche", 5: "social account handle"}
    w |= {6: "content external id (untitled)", 7: "content title", 8: "content url", 9: "API key name (creator)"}
    w |= {10: "conversation title", 11: "agent question", 12: "brand user's name", 13: "brand name"}
    w |= {14: "brand category", 15: "brand website", 16: "brand description", 17: "campaign title"}
    w |= {18: "campaign brief", 19: "campaign niche", 20: "application message", 21: "counter-offer message"}
    w |= {22: "acceptance message", 23: "deal message (creator)", 24: "deal message (brand)", 25: "task title"}
    w |= {26: "task instructions", 27: "rejection reason", 28: "flag change reason", 29: "API key name (admin)"}

    creator = _person(url, "maya@example.com", {"display_name": payload(1), "role": "creator", "handle": "maya"})
    brand = _person(url, "lena@example.com", {"display_name": payload(12), "role": "brand", "brand_name": payload(13)})
    make_admin(database, "root@example.com")
    admin = _person(url, "root@example.com")

    me = creator.patch("/api/v1/creators/me", {"bio": payload(2), "location": payload(3), "niches": [short(4)]})
    world.ids["creator"] = me["id"]
    creator.post("/api/v1/social-accounts", {"platform": "instagram", "handle": payload(5)})
    published = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    content = {"platform": "tiktok", "kind": "short", "published_at": published}
    creator.post("/api/v1/content", content | {"external_id": "tt-1", "title": payload(7), "url": evil_url(8)})
    creator.post("/api/v1/content", content | {"external_id": payload(6)})  # untitled: its id is shown
    creator.post("/api/v1/api-keys", {"name": payload(9)})
    conversation = creator.post("/api/v1/agent/conversations", {"title": payload(10)})
    world.ids["conversation"] = conversation["id"]
    creator.post(
        f"/api/v1/agent/conversations/{conversation['id']}/messages?stream=false",
        {"question": payload(11)},
        status=200,
    )

    brand.patch("/api/v1/brands/me", {"category": short(14), "website": evil_url(15), "description": payload(16)})
    campaign = brand.post(
        "/api/v1/campaigns",
        {"title": payload(17), "brief": payload(18), "niches": [short(19)], "budget_cents": 500_000},
    )
    world.ids["campaign"] = campaign["id"]
    brand.post(f"/api/v1/campaigns/{campaign['id']}/transition", {"to": "open"}, status=200)
    deal = creator.post("/api/v1/deals", {"campaign_id": campaign["id"], "fee_cents": 80_000, "message": payload(20)})
    world.ids["deal"] = deal["id"]
    brand.post(f"/api/v1/deals/{deal['id']}/counter", {"fee_cents": 70_000, "message": payload(21)}, status=200)
    creator.post(f"/api/v1/deals/{deal['id']}/accept", {"message": payload(22)}, status=200)
    creator.post(f"/api/v1/deals/{deal['id']}/messages", {"body": payload(23)})
    brand.post(f"/api/v1/deals/{deal['id']}/messages", {"body": payload(24)})
    task = brand.post(
        "/api/v1/tasks",
        {"kind": "deliverable", "title": payload(25), "instructions": payload(26), "deal_id": deal["id"]},
    )
    creator.post(f"/api/v1/tasks/{task['id']}/accept", status=200)
    submission = creator.post(f"/api/v1/tasks/{task['id']}/proof", {"post_url": "https://drive.example/draft"})
    brand.post(f"/api/v1/submissions/{submission['id']}/review", {"decision": "reject", "reason": payload(27)}, 200)
    creator.post(f"/api/v1/deals/{deal['id']}/deliver", {}, status=200)
    brand.post(f"/api/v1/deals/{deal['id']}/complete", {}, status=200)
    # A second deal, still being negotiated: its thread is open for the live message.
    second = brand.post("/api/v1/campaigns", {"title": "Second campaign", "budget_cents": 100_000})
    brand.post(f"/api/v1/campaigns/{second['id']}/transition", {"to": "open"}, status=200)
    world.ids["open_deal"] = creator.post("/api/v1/deals", {"campaign_id": second["id"], "fee_cents": 9_000})["id"]
    admin.http.put("/api/v1/admin/flags/HYBRID_SEARCH", json={"mode": "on", "reason": payload(28)}).raise_for_status()
    admin.post("/api/v1/api-keys", {"name": payload(29)})

    # The consumers that turn these writes into what the pages show: memories (from the deal's
    # messages), scores and boards, the ledger.
    form_memories(database)
    run_group(database, ScoringHandler(Leaderboards(None)))
    run_group(database, LedgerHandler())
    memories = creator.http.get("/api/v1/memories").json()["items"]
    assert memories, "no memory was formed from the deal"
    # The memory of the creator's message in the deal (its text quotes the message).
    world.ids["memory"] = next(m["id"] for m in memories if "alert(23)" in m["text"])
    for person in (creator, brand, admin):
        person.http.close()
    return world


@pytest.fixture(scope="module")
def world(embedded_server: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    embedded_server.drop_database("veri_xss")
    embedded_server.ensure_database("veri_xss")
    database = open_test_database(embedded_server.url("veri_xss"), embedded_server)
    app = create_app(make_settings(tmp_path_factory.mktemp("xss")), database=database)
    with served(app) as port:
        yield _build(f"http://127.0.0.1:{port}", database)
    database.dispose()


def test_url_fields_refuse_javascript_and_other_schemes(world: World) -> None:
    creator = _person(world.url, "maya@example.com")
    brand = _person(world.url, "lena@example.com")
    published = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for url in JAVASCRIPT_URLS:
        answers = {
            "brand website": brand.http.patch("/api/v1/brands/me", json={"website": url}),
            "content url": creator.http.post(
                "/api/v1/content",
                json={
                    "platform": "tiktok",
                    "kind": "short",
                    "published_at": published,
                    "external_id": uuid.uuid4().hex,
                    "url": url,
                },
            ),
        }
        for name, answer in answers.items():
            assert answer.status_code == 422, f"{name} accepted {url!r}: {answer.text}"
    task = next(t for t in creator.http.get("/api/v1/tasks").json())
    for url in JAVASCRIPT_URLS:
        answer = creator.http.post(f"/api/v1/tasks/{task['id']}/proof", json={"post_url": url})
        assert answer.status_code == 422, f"proof url accepted {url!r}: {answer.text}"


# (who, page, the fields whose payload the page shows, as text or in a form field). The names
# of the person logged in (1, 12) are in every page's header: listed where they are content.
PAGES: list[tuple[str, str, set[int]]] = [
    ("creator", "/creator", {2, 3, 4, 6, 7, 13, 17}),
    ("creator", "/creator/profile", {1, 2, 3, 4, 5, 6, 7, 8}),
    ("creator", "/campaigns", {13, 17, 19}),
    ("creator", "/campaigns/{campaign}", {13, 17, 18, 19}),
    ("creator", "/deals/{deal}", {13, 17, 20, 21, 22, 23, 24}),
    ("creator", "/tasks", {25, 26, 27}),
    ("creator", "/memories", {7, 11, 12, 13, 17, 20, 21, 22, 23, 24}),
    ("creator", "/memories/{memory}", {23}),
    ("creator", "/agent", {10}),
    ("creator", "/notifications", {13, 17, 21, 24, 25, 27}),
    ("creator", "/leaderboards", {1, 4}),
    ("creator", "/settings", {9}),
    ("creator", "/earnings", {17}),
    ("brand", "/brand", {13, 14, 17, 19}),
    ("brand", "/creators", {1, 3, 4}),
    ("brand", "/creators/{creator}", {1, 2, 3, 4, 17}),
    ("brand", "/campaigns/{campaign}", {13, 17, 18, 19}),
    ("brand", "/deals/{deal}", {13, 17, 20, 21, 22, 23, 24}),
    ("brand", "/tasks", {17, 25}),
    ("brand", "/tasks/review", set()),
    ("brand", "/spend", {17}),
    ("brand", "/notifications", {17, 20, 22, 23, 25}),
    ("brand", "/analytics", {13, 17}),
    ("brand", "/memories", {1, 13, 17, 20, 21, 22, 23, 24}),
    ("admin", "/admin", {1, 12, 28}),
    ("admin", "/admin/connectors", set()),
    ("admin", "/admin/ledger", set()),
    ("admin", "/creators", {1, 3, 4}),
    ("admin", "/creators/{creator}", {1, 2, 3, 4, 17}),
    ("admin", "/campaigns/{campaign}", {13, 17, 18, 19}),
    ("admin", "/deals/{deal}", {13, 17, 20, 21, 22, 23, 24}),
    ("admin", "/memories/{memory}", {23}),
    ("admin", "/agent?c={conversation}", {10, 11}),
    ("admin", "/settings", {29}),
]
# Written but shown on no page today (a brand's website and description, kept for the API):
# still probed, so a page that starts showing them is covered.
NOT_SHOWN = {15, 16}

EMAILS = {"creator": "maya@example.com", "brand": "lena@example.com", "admin": "root@example.com"}

# What the page holds that a payload could have become: an element it carries, an inline event
# handler, an inline script (the pages have none: their scripts are files), a javascript: link.
INJECTED = """() => [...document.querySelectorAll(
  '[data-xss], [onerror], [onload], [onclick], [onmouseover], script:not([src]):not([type="application/json"]), '
  + 'a[href^="javascript:" i], iframe, object, embed'
)].map(e => e.outerHTML.slice(0, 120))"""

# The text a person sees, and what the form fields hold.
VISIBLE = """() => document.body.innerText + '\\n' + [...document.querySelectorAll('input, textarea')]
  .map(e => e.value).join('\\n')"""


class Probe:
    """One role's browser context (CSP bypassed) and what its pages did."""

    def __init__(self, browser: Any, world: World, role: str):
        self.world = world
        self.role = role
        self.context = browser.new_context(bypass_csp=True)
        answer = self.context.request.post(
            f"{world.url}/api/v1/auth/login", data={"email": EMAILS[role], "password": PASSWORD}
        )
        assert answer.ok, answer.text()
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.failures: list[str] = []
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        number = int(dialog.message) if dialog.message.isdigit() else 0
        self.dialogs.append(f"{self.role} on {self.page.url}: alert({dialog.message}): {self.world.fields.get(number)}")
        dialog.dismiss()

    def open(self, path: str) -> None:
        response = self.page.goto(self.world.url + path, wait_until="load")
        assert response is not None and response.status == 200, f"{self.role} {path}: {response and response.status}"

    def check(self, where: str, expected: set[int]) -> None:
        self.page.wait_for_timeout(30)  # a broken image's onerror fires once it has failed
        injected = self.page.evaluate(INJECTED)
        if injected:
            self.failures.append(f"{self.role} {where}: injected {injected}")
        text = self.page.evaluate(VISIBLE)
        missing = {n for n in expected if f"alert({n})" not in text}
        # A URL field is shown as a link: its whole payload stays the href's value.
        hrefs = self.page.evaluate("() => [...document.links].map(a => a.getAttribute('href'))")
        missing -= {n for n in expected if evil_url(n) in hrefs}
        if missing:
            self.failures.append(f"{self.role} {where}: payloads not shown as text: {sorted(missing)}")

    def close(self) -> tuple[list[str], list[str]]:
        self.context.close()
        return self.dialogs, self.failures


def test_no_payload_runs_or_is_injected_on_any_page(browser: Any, world: World) -> None:
    dialogs: list[str] = []
    failures: list[str] = []
    world.fields |= {31: "campaign title (form)", 32: "agent question (page)", 33: "deal message (live)"}
    for role in ("creator", "brand", "admin"):
        probe = Probe(browser, world, role)
        for who, template, expected in PAGES:
            if who == role:
                probe.open(template.format(**world.ids))
                probe.check(template, expected)
        if role == "brand":
            # A form sent back with an error shows what was typed; the next one's flash names it.
            probe.open("/campaigns/new")
            probe.page.get_by_label("Title").fill(payload(31))
            probe.page.get_by_label("Budget (USD)").fill("1000")
            probe.page.get_by_label("Niches").fill("n" * 50)
            probe.page.get_by_role("button", name="Create campaign").click()
            probe.page.wait_for_load_state()
            probe.check("/campaigns/new (refused)", {31})
            probe.page.get_by_label("Niches").fill("")
            probe.page.get_by_role("button", name="Create campaign").click()
            probe.page.wait_for_url(f"{world.url}/campaigns/*")
            probe.check("/campaigns/{new} (flash)", {31})
        if role == "creator":
            # The agent's answer streams in through script (its citations quote the memories).
            probe.open(f"/agent?c={world.ids['conversation']}")
            probe.page.locator("#question").fill(payload(32))
            probe.page.get_by_role("button", name="Ask").click()
            probe.page.locator(".answer:not(.streaming)").last.wait_for(timeout=15_000)
            probe.check("/agent (asked)", {10, 11, 32})
            # A message arrives on the open deal page without a reload.
            probe.open(f"/deals/{world.ids['open_deal']}")
            brand = _person(world.url, "lena@example.com")
            brand.post(f"/api/v1/deals/{world.ids['open_deal']}/messages", {"body": payload(33)})
            brand.http.close()
            probe.page.get_by_text("alert(33)", exact=False).first.wait_for(timeout=15_000)
            probe.check("/deals/{open_deal} (live)", {33})
        found_dialogs, found_failures = probe.close()
        dialogs += found_dialogs
        failures += found_failures
    assert not dialogs, "\n".join(dialogs)
    assert not failures, "\n".join(failures)
    shown = {n for _, _, expected in PAGES for n in expected} | {31, 32, 33}
    assert set(world.fields) - shown == NOT_SHOWN
