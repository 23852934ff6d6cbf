"""Every route, walked by every role and by an anonymous client, against the status the route
must answer: the pages (GET), the HTML forms (POST) and the API. A route added without a row here
fails `test_matrix_covers_every_page`, `test_matrix_covers_every_form` or
`test_matrix_covers_every_api_route` (which walks the app's routes, the ones left out of the
OpenAPI document too).

Each role runs in a fresh world of two creators, two brands and an admin, so the objects of
"A" belong to creator A and brand A, those of "B" to the others.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.factories import (
    PASSWORD,
    csrf_headers,
    form_memories,
    log_in,
    make_admin,
    new_client,
    run_group,
    sign_up,
)
from veri.models.memory import Memory
from veri.scoring.boards import Leaderboards
from veri.scoring.handlers import ScoringHandler

ROLES = ("anon", "creator_a", "creator_b", "brand_a", "brand_b", "admin")


@dataclass
class World:
    ids: dict[str, str]


def build_world(app: FastAPI, database: Any) -> World:
    ca, cb, ba, bb = (new_client(app) for _ in range(4))
    creator_a = sign_up(ca, "creator", "creatora")
    sign_up(cb, "creator", "creatorb")
    sign_up(ba, "brand", "branda")
    sign_up(bb, "brand", "brandb")
    make_admin(database)
    ids: dict[str, str] = {"user_a": str(creator_a["id"])}
    ids["creator_a"] = ca.get("/api/v1/creators/me").json()["id"]
    ids["creator_b"] = cb.get("/api/v1/creators/me").json()["id"]
    ids["brand_a"] = ba.get("/api/v1/brands/me").json()["id"]

    def campaign(client: TestClient, title: str, open_it: bool) -> str:
        r = client.post("/api/v1/campaigns", json={"title": title, "budget_cents": 100_000})
        assert r.status_code == 201, r.text
        if open_it:
            assert client.post(f"/api/v1/campaigns/{r.json()['id']}/transition", json={"to": "open"}).status_code == 200
        return str(r.json()["id"])

    ids["open_a"] = campaign(ba, "Open A", True)
    ids["draft_a"] = campaign(ba, "Draft A", False)
    ids["draft_b"] = campaign(bb, "Draft B", False)
    ids["open_a2"] = campaign(ba, "Open A2", True)
    r = ca.post("/api/v1/deals", json={"campaign_id": ids["open_a"], "fee_cents": 50_000})
    ids["deal_a"] = r.json()["id"]
    r = ba.post(
        "/api/v1/deals",
        json={"campaign_id": ids["open_a2"], "creator_id": ids["creator_a"], "fee_cents": 40_000},
    )
    assert r.status_code == 201, r.text
    ids["deal_a2"] = r.json()["id"]
    published = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    r = ca.post(
        "/api/v1/content",
        json={
            "platform": "tiktok",
            "external_id": "tt-a",
            "kind": "short",
            "published_at": published,
            "deal_id": ids["deal_a"],
        },
    )
    assert r.status_code == 201, r.text
    ids["content_a"] = r.json()["id"]
    r = ca.post("/api/v1/social-accounts", json={"platform": "youtube", "handle": "creatora"})
    ids["social_a"] = r.json()["id"]
    r = ca.post("/api/v1/api-keys", json={"name": "script", "scopes": ["read"]})
    ids["key_a"] = r.json()["id"]
    ids["conversation_a"] = ca.post("/api/v1/agent/conversations", json={}).json()["id"]
    r = ca.post(
        f"/api/v1/agent/conversations/{ids['conversation_a']}/messages?stream=false", json={"question": "My rate?"}
    )
    assert r.status_code == 200, r.text
    ids["turn_a"] = r.json()["turn_id"]
    # Brand A's invitation (deal_a2) notified creator A.
    ids["notification_a"] = ca.get("/api/v1/notifications").json()["items"][0]["id"]
    r = ba.post("/api/v1/tasks", json={"kind": "deliverable", "title": "Draft", "deal_id": ids["deal_a"]})
    assert r.status_code == 201, r.text
    ids["task_a"] = r.json()["id"]
    r = ca.post(f"/api/v1/tasks/{ids['task_a']}/proof", json={"post_url": "https://drive.example/draft"})
    assert r.status_code == 201, r.text
    ids["submission_a"] = r.json()["id"]
    # Objects the HTML forms act on (FORMS), so their writes leave the API rows' objects alone.
    ids["form_draft_a"] = campaign(ba, "Form draft A", False)
    ids["form_open_a"] = campaign(ba, "Form open A", True)
    ids["form_offer_a"] = campaign(ba, "Form offer A", True)
    r = ba.post(
        "/api/v1/deals",
        json={"campaign_id": ids["form_offer_a"], "creator_id": ids["creator_a"], "fee_cents": 30_000},
    )
    ids["form_deal_a"] = r.json()["id"]
    r = ca.post("/api/v1/social-accounts", json={"platform": "twitch", "handle": "formsa"})
    ids["form_social_a"] = r.json()["id"]
    ids["form_key_a"] = ca.post("/api/v1/api-keys", json={"name": "form", "scopes": ["read"]}).json()["id"]
    r = ba.post("/api/v1/tasks", json={"kind": "deliverable", "title": "Cut", "deal_id": ids["deal_a"]})
    ids["form_task_a"] = r.json()["id"]
    r = ca.post(f"/api/v1/tasks/{ids['form_task_a']}/proof", json={"post_url": "https://drive.example/cut"})
    assert r.status_code == 201, r.text
    ids["form_submission_a"] = r.json()["id"]
    for c in (ca, cb, ba, bb):
        c.__exit__(None, None, None)
    run_group(database, ScoringHandler(Leaderboards(None)))
    # The memory consumer group turns the deals into campaign memories of creator A and brand A.
    form_memories(database)
    with database.sessions() as db:
        ids["memory_a"] = str(db.scalar(select(Memory.id).where(Memory.creator_id == uuid.UUID(ids["creator_a"]))))
    return World(ids=ids)


def client_for(app: FastAPI, role: str) -> TestClient:
    client = new_client(app)
    emails = {
        "creator_a": "creatora@example.com",
        "creator_b": "creatorb@example.com",
        "brand_a": "branda@example.com",
        "brand_b": "brandb@example.com",
        "admin": "root@example.com",
    }
    if role != "anon":
        log_in(client, emails[role], PASSWORD)
    return client


def when(anon: int, creator_a: int, creator_b: int, brand_a: int, brand_b: int, admin: int) -> dict[str, int]:
    return dict(zip(ROLES, (anon, creator_a, creator_b, brand_a, brand_b, admin), strict=True))


def everyone(status: int, anon: int = 401) -> dict[str, int]:
    return when(anon, status, status, status, status, status)


NOW = datetime.now(UTC)
PAST = (NOW - timedelta(hours=1)).isoformat()

# (method, route template, concrete path, json body, expected status per role); destructive
# requests come last because each role's run shares one world.
MATRIX: list[tuple[str, str, str, Any, dict[str, int]]] = [
    ("GET", "/api/v1/auth/me", "/api/v1/auth/me", None, everyone(200)),
    ("GET", "/api/v1/creators", "/api/v1/creators", None, everyone(200)),
    ("GET", "/api/v1/creators/me", "/api/v1/creators/me", None, when(401, 200, 200, 403, 403, 403)),
    (
        "PATCH",
        "/api/v1/creators/me",
        "/api/v1/creators/me",
        {"bio": "hi"},
        when(401, 200, 200, 403, 403, 403),
    ),
    (
        "GET",
        "/api/v1/creators/{creator_id}",
        "/api/v1/creators/{creator_a}",
        None,
        when(401, 200, 404, 200, 200, 200),
    ),
    (
        "GET",
        "/api/v1/social-accounts",
        "/api/v1/social-accounts",
        None,
        when(401, 200, 200, 403, 403, 200),
    ),
    (
        "POST",
        "/api/v1/social-accounts",
        "/api/v1/social-accounts",
        {"platform": "tiktok", "handle": "{role}"},
        when(401, 201, 201, 403, 403, 403),
    ),
    ("GET", "/api/v1/brands", "/api/v1/brands", None, everyone(200)),
    ("GET", "/api/v1/brands/me", "/api/v1/brands/me", None, when(401, 403, 403, 200, 200, 403)),
    (
        "PATCH",
        "/api/v1/brands/me",
        "/api/v1/brands/me",
        {"category": "fitness"},
        when(401, 403, 403, 200, 200, 403),
    ),
    ("GET", "/api/v1/brands/{brand_id}", "/api/v1/brands/{brand_a}", None, everyone(200)),
    ("GET", "/api/v1/campaigns", "/api/v1/campaigns", None, everyone(200)),
    (
        "POST",
        "/api/v1/campaigns",
        "/api/v1/campaigns",
        {"title": "New one", "budget_cents": 1000},
        when(401, 403, 403, 201, 201, 403),
    ),
    (
        "GET",
        "/api/v1/campaigns/{campaign_id}",
        "/api/v1/campaigns/{open_a}",
        None,
        when(401, 200, 200, 200, 404, 200),
    ),
    (
        "GET",
        "/api/v1/campaigns/{campaign_id}",
        "/api/v1/campaigns/{draft_b}",
        None,
        when(401, 404, 404, 404, 200, 200),
    ),
    (
        "PATCH",
        "/api/v1/campaigns/{campaign_id}",
        "/api/v1/campaigns/{open_a}",
        {"brief": "More detail"},
        when(401, 403, 403, 200, 404, 200),
    ),
    (
        "POST",
        "/api/v1/campaigns/{campaign_id}/transition",
        "/api/v1/campaigns/{draft_a}/transition",
        {"to": "open"},
        when(401, 403, 403, 200, 404, 200),
    ),
    ("GET", "/api/v1/deals", "/api/v1/deals", None, everyone(200)),
    ("GET", "/api/v1/memories/search", "/api/v1/memories/search?q=deal", None, everyone(200)),
    ("GET", "/api/v1/memories", "/api/v1/memories", None, everyone(200)),
    (
        "GET",
        "/api/v1/memories/{memory_id}",
        "/api/v1/memories/{memory_a}",
        None,
        when(401, 200, 404, 200, 404, 200),
    ),
    (
        "GET",
        "/api/v1/creators/{creator_id}/memories",
        "/api/v1/creators/{creator_a}/memories",
        None,
        everyone(200),
    ),
    (
        "POST",
        "/api/v1/deals",
        "/api/v1/deals",
        {"campaign_id": "{open_a}", "fee_cents": 1000},
        when(401, 409, 201, 422, 404, 403),
    ),
    (
        "GET",
        "/api/v1/deals/{deal_id}",
        "/api/v1/deals/{deal_a}",
        None,
        when(401, 200, 404, 200, 404, 200),
    ),
    (
        "GET",
        "/api/v1/deals/{deal_id}/messages",
        "/api/v1/deals/{deal_a}/messages",
        None,
        when(401, 200, 404, 200, 404, 200),
    ),
    (
        "POST",
        "/api/v1/deals/{deal_id}/messages",
        "/api/v1/deals/{deal_a}/messages",
        {"body": "Hello from {role}"},
        when(401, 201, 404, 201, 404, 403),
    ),
    (
        "POST",
        "/api/v1/deals/{deal_id}/counter",
        "/api/v1/deals/{deal_a2}/counter",
        {"fee_cents": 45_000},
        when(401, 200, 404, 409, 404, 403),
    ),
    (
        "POST",
        "/api/v1/deals/{deal_id}/{action}",
        "/api/v1/deals/{deal_a}/accept",
        None,
        when(401, 409, 404, 200, 404, 403),
    ),
    ("GET", "/api/v1/content", "/api/v1/content", None, everyone(200)),
    (
        "POST",
        "/api/v1/content",
        "/api/v1/content",
        {"platform": "youtube", "external_id": "yt-{role}", "kind": "video", "published_at": PAST},
        when(401, 201, 201, 403, 403, 403),
    ),
    (
        "GET",
        "/api/v1/content/{content_id}",
        "/api/v1/content/{content_a}",
        None,
        when(401, 200, 404, 200, 404, 200),
    ),
    (
        "GET",
        "/api/v1/content/{content_id}/metrics",
        "/api/v1/content/{content_a}/metrics",
        None,
        when(401, 200, 404, 200, 404, 200),
    ),
    (
        "POST",
        "/api/v1/content/{content_id}/metrics",
        "/api/v1/content/{content_a}/metrics",
        {"captured_at": PAST, "views": 10},
        when(401, 201, 404, 403, 404, 201),
    ),
    ("GET", "/api/v1/agent/conversations", "/api/v1/agent/conversations", None, everyone(200)),
    ("POST", "/api/v1/agent/conversations", "/api/v1/agent/conversations", {"title": "t"}, everyone(201)),
    (
        "GET",
        "/api/v1/agent/conversations/{conversation_id}",
        "/api/v1/agent/conversations/{conversation_a}",
        None,
        when(401, 200, 404, 404, 404, 200),
    ),
    (
        "POST",
        "/api/v1/agent/conversations/{conversation_id}/messages",
        "/api/v1/agent/conversations/{conversation_a}/messages?stream=false",
        {"question": "What rate did I quote?"},
        when(401, 200, 404, 404, 404, 404),  # an admin reads a conversation, never writes in it
    ),
    (
        "POST",
        "/api/v1/agent/turns/{turn_id}/feedback",
        "/api/v1/agent/turns/{turn_a}/feedback",
        {"value": 1},
        when(401, 200, 404, 404, 404, 404),
    ),
    (
        # The offline turn proposed nothing: 404 for its owner too (test_agent covers a real proposal).
        "POST",
        "/api/v1/agent/turns/{turn_id}/proposals/{step}/confirm",
        "/api/v1/agent/turns/{turn_a}/proposals/0/confirm",
        None,
        when(401, 404, 404, 404, 404, 404),
    ),
    (
        "POST",
        "/api/v1/predictions/roi",
        "/api/v1/predictions/roi",
        {"creator_id": "{creator_a}", "campaign_id": "{open_a}", "fee_cents": 50_000},
        when(401, 200, 404, 200, 404, 200),  # the creator and the campaign must both be visible
    ),
    (
        "GET",
        "/api/v1/campaigns/{campaign_id}/recommendations",
        "/api/v1/campaigns/{open_a}/recommendations",
        None,
        when(401, 404, 404, 200, 404, 200),  # only the campaign's brand (and admins) see whom to pick
    ),
    (
        "GET",
        "/api/v1/creators/me/recommendations",
        "/api/v1/creators/me/recommendations",
        None,
        when(401, 200, 200, 403, 403, 403),
    ),
    ("GET", "/api/v1/models/roi", "/api/v1/models/roi", None, when(401, 403, 403, 403, 403, 200)),
    # Notifications are each person's own: anyone else's (an admin's too) is not found.
    ("GET", "/api/v1/notifications", "/api/v1/notifications", None, everyone(200)),
    ("GET", "/api/v1/notifications/unread-count", "/api/v1/notifications/unread-count", None, everyone(200)),
    (
        "POST",
        "/api/v1/notifications/{notification_id}/read",
        "/api/v1/notifications/{notification_a}/read",
        None,
        when(401, 200, 404, 404, 404, 404),
    ),
    ("POST", "/api/v1/notifications/read-all", "/api/v1/notifications/read-all", None, everyone(200)),
    (
        "GET",
        "/api/v1/leaderboards",
        "/api/v1/leaderboards?metric=points&scope=global&period=week",
        None,
        everyone(200),
    ),
    (
        # A creator's own standing (null while off the board); only creators have one.
        "GET",
        "/api/v1/leaderboards/me",
        "/api/v1/leaderboards/me?metric=veriscore&scope=platform:tiktok&period=all",
        None,
        when(401, 200, 200, 403, 403, 403),
    ),
    ("GET", "/api/v1/api-keys", "/api/v1/api-keys", None, everyone(200)),
    ("POST", "/api/v1/api-keys", "/api/v1/api-keys", {"name": "k"}, everyone(201)),
    ("GET", "/api/v1/users", "/api/v1/users", None, when(401, 403, 403, 403, 403, 200)),
    (
        "GET",
        "/api/v1/users/{user_id}",
        "/api/v1/users/{user_a}",
        None,
        when(401, 403, 403, 403, 403, 200),
    ),
    ("GET", "/api/v1/admin/flags", "/api/v1/admin/flags", None, when(401, 403, 403, 403, 403, 200)),
    ("GET", "/api/v1/admin/migration", "/api/v1/admin/migration", None, when(401, 403, 403, 403, 403, 200)),
    # No MongoDB in this world: an admin's job is refused (409), nobody else's is considered.
    (
        "POST",
        "/api/v1/admin/migration/jobs",
        "/api/v1/admin/migration/jobs",
        {"kind": "verify"},
        when(401, 403, 403, 403, 403, 409),
    ),
    ("POST", "/api/v1/events", "/api/v1/events", {"events": [{"type": "x"}]}, everyone(403)),
    ("GET", "/api/v1/events/types", "/api/v1/events/types", None, everyone(200)),
    ("GET", "/api/v1/events/dead-letters", "/api/v1/events/dead-letters", None, when(401, 403, 403, 403, 403, 200)),
    (
        "POST",
        "/api/v1/events/dead-letters/{letter_id}/replay",
        "/api/v1/events/dead-letters/999999/replay",
        None,
        when(401, 403, 403, 403, 403, 404),
    ),
    ("GET", "/api/v1/events/lag", "/api/v1/events/lag", None, when(401, 403, 403, 403, 403, 200)),
    (
        "GET",
        "/api/v1/analytics/{scope}/{scope_id}",
        "/api/v1/analytics/creator/{creator_a}",
        None,
        when(401, 200, 404, 404, 404, 200),
    ),
    (
        "GET",
        "/api/v1/analytics/{scope}/{scope_id}",
        "/api/v1/analytics/campaign/{open_a}",
        None,
        when(401, 404, 404, 200, 404, 200),
    ),
    # Retention across creators is platform-level: admins only, like the other operator routes.
    (
        "GET",
        "/api/v1/analytics/retention",
        "/api/v1/analytics/retention?months=12",
        None,
        when(401, 403, 403, 403, 403, 200),
    ),
    (
        "POST",
        "/api/v1/auth/password",
        "/api/v1/auth/password",
        {"current_password": "wrong-password", "new_password": "another-long-one"},
        everyone(422),
    ),
    (
        "POST",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset",
        {"email": "creatora@example.com"},
        everyone(202, anon=202),
    ),
    (
        "POST",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/password-reset/confirm",
        {"token": "not-a-real-token", "new_password": "another-long-one"},
        everyone(422, anon=422),
    ),
    (
        "DELETE",
        "/api/v1/api-keys/{key_id}",
        "/api/v1/api-keys/{key_a}",
        None,
        when(401, 200, 404, 404, 404, 200),
    ),
    # Social platform connections. Creator A's account was added by hand: not connected yet (409).
    ("GET", "/api/v1/connectors/accounts", "/api/v1/connectors/accounts", None, when(401, 200, 200, 403, 403, 200)),
    (
        "POST",
        "/api/v1/connectors/{platform}/start",
        "/api/v1/connectors/youtube/start",
        None,
        when(401, 200, 200, 403, 403, 403),
    ),
    (
        # A state Veri never issued: refused for every creator (the flow itself: tests/connectors).
        "POST",
        "/api/v1/connectors/{platform}/callback",
        "/api/v1/connectors/youtube/callback",
        {"state": "forged", "code": "stolen"},
        when(401, 400, 400, 403, 403, 403),
    ),
    (
        "POST",
        "/api/v1/connectors/accounts/{account_id}/sync",
        "/api/v1/connectors/accounts/{social_a}/sync",
        None,
        when(401, 409, 404, 404, 404, 409),
    ),
    # Unsigned: refused whoever sends it (only the platform's signature is accepted).
    (
        "POST",
        "/api/v1/connectors/{platform}/webhook",
        "/api/v1/connectors/tiktok/webhook",
        {"event": "video.publish.complete"},
        everyone(400, anon=400),
    ),
    ("GET", "/api/v1/admin/connectors", "/api/v1/admin/connectors", None, when(401, 403, 403, 403, 403, 200)),
    (
        "DELETE",
        "/api/v1/connectors/accounts/{account_id}",
        "/api/v1/connectors/accounts/{social_a}",
        None,
        when(401, 204, 404, 404, 404, 204),
    ),
    (
        "DELETE",
        "/api/v1/social-accounts/{account_id}",
        "/api/v1/social-accounts/{social_a}",
        None,
        when(401, 204, 404, 404, 404, 204),
    ),
    (
        "POST",
        "/api/v1/auth/login",
        "/api/v1/auth/login",
        {"email": "creatora@example.com", "password": "not-the-password"},
        everyone(401, anon=401),
    ),
    (
        "GET",
        "/api/v1/admin/flags/{name}/history",
        "/api/v1/admin/flags/USE_MONGO/history",
        None,
        when(401, 403, 403, 403, 403, 200),
    ),
    (
        "PUT",
        "/api/v1/admin/flags/{name}",
        "/api/v1/admin/flags/HYBRID_SEARCH",
        {"mode": "default", "reason": "the matrix"},
        when(401, 403, 403, 403, 403, 200),
    ),
    ("GET", "/api/v1/tasks", "/api/v1/tasks", None, everyone(200)),
    (
        "POST",
        "/api/v1/tasks",
        "/api/v1/tasks",
        {"kind": "post", "title": "Post it", "deal_id": "{deal_a}"},
        when(401, 403, 403, 201, 404, 403),
    ),
    ("GET", "/api/v1/tasks/review", "/api/v1/tasks/review", None, when(401, 403, 403, 200, 200, 200)),
    ("GET", "/api/v1/tasks/{task_id}", "/api/v1/tasks/{task_a}", None, when(401, 200, 404, 200, 404, 200)),
    (
        "POST",
        "/api/v1/tasks/{task_id}/accept",
        "/api/v1/tasks/{task_a}/accept",
        None,
        when(401, 200, 404, 403, 403, 403),
    ),
    (
        "POST",
        "/api/v1/tasks/{task_id}/proof",
        "/api/v1/tasks/{task_a}/proof",
        {"post_url": "https://drive.example/again"},
        when(401, 409, 404, 403, 403, 403),
    ),
    (
        "POST",
        "/api/v1/tasks/{task_id}/screenshot",
        "/api/v1/tasks/{task_a}/screenshot",
        None,
        when(401, 422, 422, 422, 422, 422),
    ),
    (
        "GET",
        "/api/v1/submissions/{submission_id}/screenshot",
        "/api/v1/submissions/{submission_a}/screenshot",
        None,
        when(401, 404, 404, 404, 404, 404),
    ),
    (
        "GET",
        "/api/v1/submissions/{submission_id}/trail",
        "/api/v1/submissions/{submission_a}/trail",
        None,
        when(401, 200, 404, 200, 404, 200),
    ),
    ("GET", "/api/v1/me/progress", "/api/v1/me/progress", None, when(401, 200, 200, 403, 403, 403)),
    (
        "GET",
        "/api/v1/creators/{creator_id}/veriscore",
        "/api/v1/creators/{creator_a}/veriscore",
        None,
        when(401, 200, 404, 200, 200, 200),
    ),
    (
        "POST",
        "/api/v1/submissions/{submission_id}/review",
        "/api/v1/submissions/{submission_a}/review",
        {"decision": "reject", "reason": "not the draft"},
        when(401, 403, 403, 200, 404, 200),
    ),
    # Money: each their own (a brand's and a creator's balance answer for themselves; an admin names whose).
    ("GET", "/api/v1/ledger/balance", "/api/v1/ledger/balance", None, when(401, 200, 200, 200, 200, 422)),
    (
        "GET",
        "/api/v1/ledger/balance",
        "/api/v1/ledger/balance?creator_id={creator_a}",
        None,
        when(401, 200, 404, 404, 404, 200),
    ),
    ("GET", "/api/v1/ledger/entries", "/api/v1/ledger/entries", None, everyone(200)),
    ("GET", "/api/v1/ledger/entries", "/api/v1/ledger/entries?format=csv", None, everyone(200)),
    (
        "GET",
        "/api/v1/ledger/entries",
        "/api/v1/ledger/entries?brand_id={brand_a}",
        None,
        when(401, 404, 404, 200, 404, 200),
    ),
    # Nobody has earned anything in this world: a creator's payout names the currency it lacks.
    ("POST", "/api/v1/payouts", "/api/v1/payouts", {"currency": "USD"}, when(401, 422, 422, 403, 403, 403)),
    ("GET", "/api/v1/payouts", "/api/v1/payouts", None, when(401, 200, 200, 403, 403, 200)),
    (
        "GET",
        "/api/v1/payouts/{payout_id}",
        f"/api/v1/payouts/{uuid.UUID(int=7)}",
        None,
        when(401, 404, 404, 404, 404, 404),
    ),
    # Unsigned: refused whoever sends it (only the payout provider's signature is accepted).
    ("POST", "/api/v1/payouts/webhook", "/api/v1/payouts/webhook", {"type": "payout.paid"}, everyone(400, anon=400)),
    ("GET", "/api/v1/admin/ledger", "/api/v1/admin/ledger", None, when(401, 403, 403, 403, 403, 200)),
    ("POST", "/api/v1/auth/logout", "/api/v1/auth/logout", None, everyone(204)),
    (
        "POST",
        "/api/v1/auth/signup",
        "/api/v1/auth/signup",
        {
            "email": "new-{role}@example.com",
            "password": PASSWORD,
            "display_name": "N",
            "role": "creator",
            "handle": "new_{role}",
        },
        everyone(201, anon=201),
    ),
]

# Headers a request of the matrix sends (a payout's idempotency key).
HEADERS: dict[tuple[str, str], dict[str, str]] = {("POST", "/api/v1/payouts"): {"Idempotency-Key": "matrix-1"}}

# Pages: anonymous visitors are sent to the log-in page (303), but for the public ones.
PAGES: list[tuple[str, dict[str, int]]] = [
    ("/", everyone(303, anon=200)),
    ("/login", when(200, 303, 303, 303, 303, 303)),
    ("/signup", when(200, 303, 303, 303, 303, 303)),
    ("/password/forgot", everyone(200, anon=200)),
    ("/settings", everyone(200, anon=303)),
    ("/creator", when(303, 200, 200, 403, 403, 403)),
    ("/creator/profile", when(303, 200, 200, 403, 403, 403)),
    ("/creators", when(303, 403, 403, 200, 200, 200)),
    ("/brand", when(303, 403, 403, 200, 200, 403)),
    ("/campaigns", everyone(200, anon=303)),
    ("/campaigns/new", when(303, 403, 403, 200, 200, 403)),
    ("/campaigns/{open_a}", when(303, 200, 200, 200, 404, 200)),
    ("/campaigns/{draft_b}", when(303, 404, 404, 404, 200, 200)),
    ("/deals/{deal_a}", when(303, 200, 404, 200, 404, 200)),
    ("/admin", when(303, 403, 403, 403, 403, 200)),
    ("/admin/connectors", when(303, 403, 403, 403, 403, 200)),
    # Without the state of a connection this session started: refused (400) for a creator.
    ("/connectors/youtube/callback", when(303, 400, 400, 403, 403, 403)),
    ("/admin/migration", when(303, 403, 403, 403, 403, 200)),
    ("/analytics", everyone(200, anon=303)),
    ("/creators/{creator_a}", when(303, 403, 403, 200, 200, 200)),
    ("/memories", everyone(200, anon=303)),
    ("/memories/{memory_a}", when(303, 200, 404, 200, 404, 200)),
    ("/agent", everyone(200, anon=303)),
    ("/notifications", everyone(200, anon=303)),
    ("/leaderboards", everyone(200, anon=303)),
    ("/tasks", everyone(200, anon=303)),
    ("/tasks/review", when(303, 303, 303, 200, 200, 200)),
    ("/progress", when(303, 200, 200, 303, 303, 303)),
    ("/earnings", when(303, 200, 200, 303, 303, 303)),
    ("/spend", when(303, 303, 303, 200, 200, 303)),
    ("/admin/ledger", when(303, 403, 403, 403, 403, 200)),
    ("/leaderboards/table?period=all", everyone(200, anon=303)),
    ("/agent?c={conversation_a}", when(303, 200, 404, 404, 404, 200)),
    ("/password/reset/some-token", everyone(200, anon=200)),
]


# The HTML forms (every POST outside /api): (route template, concrete path, form fields, expected
# status per role). A form that worked answers 303 (to the next page); anonymous visitors are sent
# to the log-in page (303) once their CSRF token is right; refusals are the API's statuses on an
# error page, and a form whose input the service refused is shown again (422). Sent in this order,
# after the pages and before the API rows, on objects of their own (build_world's `form_*`).
FORMS: list[tuple[str, str, dict[str, str], dict[str, int]]] = [
    ("/creator/profile", "/creator/profile", {"bio": "from the form"}, when(303, 303, 303, 403, 403, 403)),
    (
        "/creator/social-accounts",
        "/creator/social-accounts",
        {"platform": "youtube", "handle": "f{role}"},
        when(303, 303, 303, 403, 403, 403),
    ),
    # Brand B names a campaign of brand A: refused beside the form (422, "not found"), nothing made.
    (
        "/creators/{creator_id}/invite",
        "/creators/{creator_b}/invite",
        {"campaign_id": "{form_open_a}", "fee": "200"},
        when(303, 403, 403, 303, 422, 403),
    ),
    (
        "/creator/connections/{platform}/connect",
        "/creator/connections/youtube/connect",
        {},
        when(303, 303, 303, 403, 403, 403),
    ),
    (
        # Added by hand, never connected: nothing to sync (409) for its creator, not found for another.
        "/creator/connections/{account_id}/sync",
        "/creator/connections/{form_social_a}/sync",
        {},
        when(303, 409, 404, 403, 403, 403),
    ),
    (
        "/creator/connections/{account_id}/disconnect",
        "/creator/connections/{form_social_a}/disconnect",
        {},
        when(303, 303, 404, 403, 403, 403),
    ),
    ("/campaigns/new", "/campaigns/new", {"title": "Formed", "budget": "100"}, when(303, 403, 403, 303, 303, 403)),
    (
        "/campaigns/{campaign_id}/transition",
        "/campaigns/{form_draft_a}/transition",
        {"to": "open"},
        when(303, 403, 403, 303, 404, 303),
    ),
    (
        # Any creator applies to an open campaign; a brand (or an admin) cannot apply, said beside the form.
        "/campaigns/{campaign_id}/apply",
        "/campaigns/{form_open_a}/apply",
        {"fee": "300"},
        when(303, 303, 303, 422, 404, 422),
    ),
    (
        "/deals/{deal_id}/messages",
        "/deals/{deal_a}/messages",
        {"body": "From the form"},
        when(303, 303, 404, 303, 404, 403),
    ),
    (
        # Brand A's offer to creator A: theirs to accept; brand A cannot accept its own offer.
        "/deals/{deal_id}/act",
        "/deals/{form_deal_a}/act",
        {"action": "accept"},
        when(303, 303, 404, 409, 404, 403),
    ),
    (
        "/tasks",
        "/tasks",
        {"kind": "post", "title": "Post the cut", "deal_id": "{deal_a}"},
        when(303, 403, 403, 303, 404, 403),
    ),
    ("/tasks/{task_id}/accept", "/tasks/{form_task_a}/accept", {}, when(303, 303, 404, 403, 403, 403)),
    (
        "/tasks/{task_id}/proof",
        "/tasks/{form_task_a}/proof",
        {"post_url": "https://drive.example/x"},
        when(303, 409, 404, 403, 403, 403),
    ),
    (
        "/submissions/{submission_id}/review",
        "/submissions/{form_submission_a}/review",
        {"decision": "approve"},
        when(303, 403, 403, 303, 404, 303),
    ),
    (
        "/notifications/{notification_id}/read",
        "/notifications/{notification_a}/read",
        {},
        when(303, 303, 404, 404, 404, 404),
    ),
    (
        "/notifications/{notification_id}/open",
        "/notifications/{notification_a}/open",
        {},
        when(303, 303, 404, 404, 404, 404),
    ),
    ("/notifications/read-all", "/notifications/read-all", {}, everyone(303, anon=303)),
    (
        # Nothing earned in this world: the creator's form is sent back (422).
        "/earnings/payouts",
        "/earnings/payouts",
        {"currency": "USD", "idempotency_key": "form-1"},
        when(303, 422, 422, 403, 403, 403),
    ),
    (
        "/admin/flags/{name}",
        "/admin/flags/MEMORY_DECAY",
        {"mode": "default", "reason": "the forms"},
        when(303, 403, 403, 403, 403, 303),
    ),
    # The migration's buttons: an admin's is answered on the page (a refusal in its flash).
    (
        "/admin/migration/dual-write",
        "/admin/migration/dual-write",
        {"percent": "0", "reason": "the forms"},
        when(303, 403, 403, 403, 403, 303),
    ),
    (
        "/admin/migration/shadow",
        "/admin/migration/shadow",
        {"shadow": "off", "reason": "the forms"},
        when(303, 403, 403, 403, 403, 303),
    ),
    (
        "/admin/migration/cutover",
        "/admin/migration/cutover",
        {"percent": "0", "reason": "the forms"},
        when(303, 403, 403, 403, 403, 303),
    ),
    (
        "/admin/migration/rollback",
        "/admin/migration/rollback",
        {"reason": "the forms"},
        when(303, 403, 403, 403, 403, 303),
    ),
    ("/admin/migration/jobs", "/admin/migration/jobs", {"kind": "verify"}, when(303, 403, 403, 403, 403, 303)),
    # The new key is shown on the settings page itself (200).
    ("/settings/api-keys", "/settings/api-keys", {"name": "form key", "scopes": "read"}, everyone(200, anon=303)),
    (
        "/settings/api-keys/{key_id}/revoke",
        "/settings/api-keys/{form_key_a}/revoke",
        {},
        when(303, 303, 404, 404, 404, 303),
    ),
    (
        "/creator/social-accounts/{account_id}/remove",
        "/creator/social-accounts/{form_social_a}/remove",
        {},
        when(303, 303, 404, 403, 403, 403),
    ),
    (
        "/settings/password",
        "/settings/password",
        {"current_password": "wrong-password", "new_password": "another-long-one"},
        everyone(422, anon=303),
    ),
    ("/password/forgot", "/password/forgot", {"email": "creatora@example.com"}, everyone(200, anon=200)),
    (
        "/password/reset/{token}",
        "/password/reset/not-a-real-token",
        {"new_password": "another-long-one"},
        everyone(422, anon=422),
    ),
    (
        "/login",
        "/login",
        {"email": "creatora@example.com", "password": "not-the-password"},
        everyone(401, anon=401),
    ),
    # Last: signing up logs the new account in, logging out ends it.
    (
        "/signup",
        "/signup",
        {
            "email": "form-{role}@example.com",
            "password": PASSWORD,
            "display_name": "F",
            "role": "creator",
            "handle": "form_{role}",
        },
        everyone(303, anon=303),
    ),
    ("/logout", "/logout", {}, everyone(303, anon=303)),
]


def _fill(value: Any, ids: dict[str, str], role: str) -> Any:
    if isinstance(value, str):
        return value.format(role=role.replace("_", ""), **ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids, role) for k, v in value.items()}
    return value


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_designed(app: FastAPI, database: Any, role: str) -> None:
    world = build_world(app, database)
    failures = []
    pages = client_for(app, role)
    for template, expected in PAGES:
        path = _fill(template, world.ids, role)
        response = pages.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        if response.status_code != expected[role]:
            failures.append(f"GET {template} as {role}: {response.status_code} != {expected[role]}")
    forms = client_for(app, role)
    csrf_headers(forms)  # a CSRF cookie for the anonymous visitor too: answers are about who asks
    for template, path, fields, expected in FORMS:
        forms.headers["X-CSRF-Token"] = forms.cookies["veri_csrf"]  # logging in and out rotate it
        response = forms.post(
            _fill(path, world.ids, role),
            data=_fill(fields, world.ids, role),
            headers={"accept": "text/html"},
            follow_redirects=False,
        )
        if response.status_code != expected[role]:
            failures.append(f"form POST {template} as {role}: {response.status_code} != {expected[role]}")
        assert response.status_code < 500, response.text
    client = client_for(app, role)
    for method, _, path, body, expected in MATRIX:
        response = client.request(
            method, _fill(path, world.ids, role), json=_fill(body, world.ids, role), headers=HEADERS.get((method, path))
        )
        if response.status_code != expected[role]:
            failures.append(
                f"{method} {path} as {role}: {response.status_code} != {expected[role]} ({response.text[:160]})"
            )
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert {"error", "message"} <= response.json().keys()
    assert not failures, "\n".join(failures)


def _routes(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, in included routers too, in the OpenAPI
    document or not."""
    from fastapi.routing import APIRoute

    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            found |= {(method, route.path) for method in route.methods}
        included = getattr(route, "original_router", None)  # an included router
        found |= _routes(getattr(route, "routes", None) or getattr(included, "routes", []))
    return found


# API routes left out of the OpenAPI document, and where their authorization is tested instead.
API_ROUTES_TESTED_ELSEWHERE = {
    # An endless event stream: tests/live/test_stream.py and test_notifications.py check that it
    # refuses anonymous clients and carries a person's own events only.
    ("GET", "/api/v1/live"),
}


def test_matrix_covers_every_api_route(app: FastAPI) -> None:
    spec = app.openapi()
    documented = {
        (method.upper(), path) for path, ops in spec["paths"].items() for method in ops if path.startswith("/api/v1")
    }
    served = {(m, p) for m, p in _routes(app.router.routes) if p.startswith("/api/v1") and m != "HEAD"}
    assert documented <= served and ("GET", "/api/v1/live") in served  # the walk sees every route
    covered = {(method, template) for method, template, *_ in MATRIX} | API_ROUTES_TESTED_ELSEWHERE
    assert served - covered == set(), f"routes missing from the matrix: {sorted(served - covered)}"


def test_matrix_covers_every_form(app: FastAPI) -> None:
    forms = {path for method, path in _routes(app.router.routes) if method == "POST" and not path.startswith("/api/")}
    assert "/deals/{deal_id}/act" in forms and "/admin/migration/jobs" in forms  # the walk sees the forms
    covered = {template for template, *_ in FORMS}
    assert forms - covered == set(), f"forms missing from the matrix: {sorted(forms - covered)}"
    assert covered - forms == set(), f"forms in the matrix the app no longer has: {sorted(covered - forms)}"


# GET routes outside the API that are not pages a role opens: health, metrics, assets, docs.
NOT_PAGES = {"/healthz", "/readyz", "/metrics", "/vendor/plotly.min.js", "/api/docs", "/api/openapi.json", "/logout"}


def test_matrix_covers_every_page(app: FastAPI) -> None:
    pages = {p for m, p in _routes(app.router.routes) if m == "GET" and not p.startswith("/api/")} - NOT_PAGES
    assert "/creators" in pages and "/deals/{deal_id}" in pages  # the walk sees the pages at all
    covered = {template.split("?")[0] for template, _ in PAGES}
    # The matrix names objects by their role in the world ({open_a}); the routes by parameter.
    missing = {p for p in pages if not any(_same_shape(p, c) for c in covered)}
    assert missing == set(), f"pages missing from the matrix: {sorted(missing)}"


def _same_shape(route: str, template: str) -> bool:
    a, b = route.strip("/").split("/"), template.strip("/").split("/")
    return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b))
