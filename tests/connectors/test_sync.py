"""Sync: connected accounts' posts and metrics come in by themselves, each stored once under a
deterministic event id, and feed analytics and scores; tokens refreshed before they expire; a
revoked grant marks the account reconnect-needed and tells the creator; webhooks are verified
and ask for a sync; a hanging or rate-limiting platform does not hold the worker."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from tests.connectors.helpers import connect
from tests.factories import new_client, run_group, sign_up
from veri.analytics.handlers import AnalyticsHandler
from veri.connectors.service import store_tokens, tokens_of
from veri.connectors.sync import SyncRunner, metrics_event_id, post_event_id
from veri.connectors.webhooks import sign
from veri.db.engine import Database
from veri.demo_platform import DemoPlatformServer
from veri.models.analytics import AnalyticsDaily
from veri.models.connectors import PlatformGrant, SyncState, WebhookReceipt
from veri.models.content import ContentItem, MetricSnapshot
from veri.models.creators import Platform, SocialAccount
from veri.models.events import OutboxEvent
from veri.models.scoring import LoopContent
from veri.scoring.boards import Leaderboards
from veri.scoring.handlers import ScoringHandler


def _connected(app: FastAPI, name: str, platform: str, handle: str) -> tuple[Any, dict[str, Any]]:
    client = new_client(app)
    sign_up(client, "creator", name)
    return client, connect(client, platform, handle)


def _count(database: Database, model: Any, *where: Any) -> int:
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _events(database: Database, type_: str) -> list[OutboxEvent]:
    with database.sessions() as db:
        return list(db.scalars(select(OutboxEvent).where(OutboxEvent.type == type_)).all())


def _demo_account(demo: DemoPlatformServer, platform: str, handle: str) -> dict[str, Any]:
    return dict(httpx.get(f"{demo.url}/_demo/{platform}/accounts/{handle}").json())


def test_a_sync_stores_every_post_and_measurement_once_and_feeds_analytics_and_scores(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer
) -> None:
    maya, connection = _connected(app, "maya", "youtube", "maya_sync")
    runner = SyncRunner(clean_db, app.state.connectors)
    first = datetime.now(UTC).replace(microsecond=0)
    report = runner.run_once(now=first)
    posts = _demo_account(demo, "youtube", "maya_sync")["posts"]
    assert report.synced == 1 and report.posts == len(posts) == demo.config.posts_per_account
    assert report.snapshots == len(posts)
    with clean_db.sessions() as db:
        items = {c.external_id: c for c in db.scalars(select(ContentItem)).all()}
    assert set(items) == {p["id"] for p in posts}
    published = {e.event_id for e in _events(clean_db, "content.published")}
    assert published == {post_event_id(Platform.YOUTUBE, p["id"]) for p in posts}
    snapshots = _events(clean_db, "content.metrics_snapshot")
    assert {e.event_id for e in snapshots} == {metrics_event_id(Platform.YOUTUBE, p["id"], first) for p in posts}
    assert all(set(e.payload["metrics"]) >= {"viewCount", "likeCount"} for e in snapshots)  # the platform's names
    with clean_db.sessions() as db:
        views = {row.content_id: row.views for row in db.scalars(select(MetricSnapshot)).all()}
    later_views = {p["id"]: p["views"] for p in _demo_account(demo, "youtube", "maya_sync")["posts"]}
    assert all(views[items[i].id] <= later_views[i] for i in later_views)  # the numbers the platform said
    assert sum(views.values()) > 0

    # The same round again (a retry, a second worker): nothing new is stored.
    with clean_db.transaction() as db:
        db.execute(update(SyncState).values(requested_at=first))
    again = runner.run_once(now=first)
    assert again.synced == 1 and again.posts == 0 and again.snapshots == 0
    assert _count(clean_db, OutboxEvent, OutboxEvent.type.like("content.%")) == 2 * len(posts)

    # A new post on the platform, its webhook: the next round brings it and fresh numbers.
    new_post = httpx.post(f"{demo.url}/_demo/youtube/accounts/maya_sync/publish").json()
    accepted = _webhook(maya, app, "youtube", {"channelId": _demo_account(demo, "youtube", "maya_sync")["external_id"]})
    assert accepted.status_code == 200 and accepted.json() == {"accepted": 1, "duplicate": False}
    later = first + timedelta(minutes=1)
    third = runner.run_once(now=later)
    assert third.synced == 1 and third.posts == 1 and third.snapshots == len(posts) + 1
    assert _count(clean_db, ContentItem, ContentItem.external_id == new_post["id"]) == 1
    state = maya.get("/api/v1/connectors/accounts").json()[0]
    assert state["posts_synced"] == len(posts) + 1 and state["snapshots_synced"] == 2 * len(posts) + 1
    assert state["last_synced_at"] is not None and state["last_error"] == ""

    # The rest of Veri sees them: content pages, analytics, the scoring loop.
    assert maya.get("/api/v1/content").json()["total"] == len(posts) + 1
    run_group(clean_db, AnalyticsHandler(None))
    run_group(clean_db, ScoringHandler(Leaderboards(None)))
    creator_id = uuid.UUID(maya.get("/api/v1/creators/me").json()["id"])
    assert _count(clean_db, AnalyticsDaily, AnalyticsDaily.scope_id == creator_id, AnalyticsDaily.views > 0) > 0
    assert _count(clean_db, LoopContent, LoopContent.creator_id == creator_id) == len(posts) + 1
    series = maya.get(f"/api/v1/analytics/creator/{creator_id}").json()
    assert series  # the creator's analytics page has numbers to draw
    assert connection["account_id"] == state["account_id"]


def _webhook(client: Any, app: FastAPI, platform: str, payload: dict[str, Any], **overrides: Any) -> httpx.Response:
    body = json.dumps(payload).encode()
    stamp = int(overrides.pop("at", time.time()))
    secret = overrides.pop("secret", app.state.settings.connectors.webhook_secret(platform))
    headers = {
        "content-type": "application/json",
        "webhook-id": overrides.pop("webhook_id", f"wh_{uuid.uuid4().hex}"),
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, stamp, body),
    }
    return new_client(app).post(f"/api/v1/connectors/{platform}/webhook", content=body, headers=headers)


def test_webhooks_are_verified_timely_and_counted_once(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer, capfd: pytest.CaptureFixture[str]
) -> None:
    client, connection = _connected(app, "tess", "tiktok", "tess_tok")
    open_id = _demo_account(demo, "tiktok", "tess_tok")["external_id"]
    payload = {"client_key": "veri-tiktok", "event": "video.publish.complete", "user_openid": open_id}
    with clean_db.transaction() as db:
        db.execute(update(SyncState).values(requested_at=None))

    forged = _webhook(client, app, "tiktok", payload, secret="not-the-secret")
    assert forged.status_code == 403
    stale = _webhook(client, app, "tiktok", payload, at=time.time() - 3600)
    assert stale.status_code == 400 and "timestamp" in stale.json()["message"]
    garbled = new_client(app).post("/api/v1/connectors/tiktok/webhook", content=b"{}")
    assert garbled.status_code == 400
    assert _count(clean_db, SyncState, SyncState.requested_at.is_not(None)) == 0  # none of them asked for a sync

    first = _webhook(client, app, "tiktok", payload, webhook_id="wh_once")
    assert first.json() == {"accepted": 1, "duplicate": False}
    replay = _webhook(client, app, "tiktok", payload, webhook_id="wh_once")
    assert replay.status_code == 200 and replay.json() == {"accepted": 0, "duplicate": True}
    assert _count(clean_db, WebhookReceipt) == 1
    unknown = _webhook(client, app, "tiktok", payload | {"user_openid": "-000nobody"})
    assert unknown.json() == {"accepted": 0, "duplicate": False}
    logs = "".join(capfd.readouterr())
    assert logs.count('"event": "webhook_refused"') == 3 and '"forged": true' in logs and "webhook_replayed" in logs
    assert connection["connected"]


def test_tokens_are_refreshed_before_they_expire_and_after_a_401(app: FastAPI, clean_db: Database) -> None:
    _, connection = _connected(app, "ravi", "twitch", "ravi_plays")
    account_id = uuid.UUID(connection["account_id"])
    cipher = app.state.connectors.cipher
    with clean_db.transaction() as db:
        grant = db.scalar(select(PlatformGrant).where(PlatformGrant.social_account_id == account_id))
        assert grant is not None
        before = tokens_of(grant, cipher)
        grant.expires_at = datetime.now(UTC) + timedelta(minutes=2)  # within the margin
    report = SyncRunner(clean_db, app.state.connectors).run_once()
    assert report.synced == 1
    with clean_db.sessions() as db:
        grant = db.scalar(select(PlatformGrant).where(PlatformGrant.social_account_id == account_id))
        assert grant is not None and grant.refreshed_at is not None
        after = tokens_of(grant, cipher)
    assert after.access_token != before.access_token and after.expires_at > datetime.now(UTC) + timedelta(minutes=30)
    assert after.refresh_token != before.refresh_token  # Twitch rotated it; the new one is kept

    # The platform stops honouring the access token early (a 401): one refresh, and the sync goes on.
    with clean_db.transaction() as db:
        grant = db.scalar(select(PlatformGrant).where(PlatformGrant.social_account_id == account_id))
        assert grant is not None
        store_tokens(
            grant, type(after)("not-a-valid-token", after.refresh_token, after.expires_at, after.scope), cipher
        )
        db.execute(update(SyncState).values(requested_at=datetime.now(UTC)))
    assert SyncRunner(clean_db, app.state.connectors).run_once().synced == 1


def test_a_grant_revoked_on_the_platform_asks_the_creator_to_reconnect(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer
) -> None:
    lena, connection = _connected(app, "lena", "instagram", "lena_travels")
    assert httpx.post(f"{demo.url}/_demo/instagram/accounts/lena_travels/revoke").json() == {"revoked": 1}
    report = SyncRunner(clean_db, app.state.connectors).run_once()
    assert report.reconnect == 1 and report.synced == 0
    listed = lena.get("/api/v1/connectors/accounts").json()[0]
    assert listed["status"] == "reconnect_needed" and not listed["connected"] and listed["next_sync_at"] is None
    notices = lena.get("/api/v1/notifications").json()["items"]
    assert notices[0]["kind"] == "connector.reconnect" and "Reconnect your Instagram account" in notices[0]["title"]
    assert notices[0]["link"] == "/creator/profile"
    page = lena.get("/creator/profile", headers={"accept": "text/html"}).text
    assert "reconnect needed" in page and "Reconnect" in page
    assert SyncRunner(clean_db, app.state.connectors).run_once().claimed == 0  # no longer synced
    assert lena.post(f"/api/v1/connectors/accounts/{connection['account_id']}/sync").status_code == 409
    again = connect(lena, "instagram", "lena_travels")  # reconnecting: the same account, connected
    assert again["account_id"] == connection["account_id"] and again["status"] == "connected"
    assert SyncRunner(clean_db, app.state.connectors).run_once().synced == 1


def test_a_hanging_platform_does_not_stall_the_others(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer
) -> None:
    _connected(app, "hana", "twitch", "hana_live")
    _connected(app, "yui", "youtube", "yui_cooks")
    from veri.connectors.adapters import build_connectors
    from veri.connectors.service import ConnectorRuntime

    settings = app.state.settings.connectors.model_copy(
        update={"connector_timeout_seconds": 0.3, "connector_retry_attempts": 2, "connector_breaker_failures": 2}
    )
    runtime = ConnectorRuntime(build_connectors(settings, env="test"), app.state.connectors.cipher, settings)
    demo.config.set_faults(hang_share=1.0, hang_seconds=20.0, platforms=("twitch",))
    started = time.perf_counter()
    report = SyncRunner(clean_db, runtime).run_once()
    took = time.perf_counter() - started
    assert report.synced == 1 and report.failed == 1, report
    assert took < 5.0, f"the round took {took:.1f}s"  # timeouts and the breaker, not the 20 s hang
    with clean_db.sessions() as db:
        failed = db.scalar(
            select(SyncState)
            .join(SocialAccount, SocialAccount.id == SyncState.social_account_id)
            .where(SocialAccount.handle == "hana_live")
        )
        assert failed is not None and failed.consecutive_failures == 1 and "twitch" in failed.last_error
        assert failed.next_sync_at is not None and failed.next_sync_at > datetime.now(UTC)  # retried later
        assert failed.lease_until is None


def test_a_long_retry_after_reschedules_the_account_instead_of_waiting(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer
) -> None:
    _connected(app, "omar", "tiktok", "omar_runs")
    demo.config.set_faults(rate_429=1.0, retry_after=600, platforms=("tiktok",))
    started = time.perf_counter()
    report = SyncRunner(clean_db, app.state.connectors).run_once()
    assert report.failed == 1 and time.perf_counter() - started < 2.0
    with clean_db.sessions() as db:
        state = db.scalars(select(SyncState)).one()
        assert state.next_sync_at is not None
        assert state.next_sync_at > datetime.now(UTC) + timedelta(seconds=590)  # Retry-After honoured


def test_sync_now_and_the_admin_overview(app: FastAPI, clean_db: Database) -> None:
    from tests.factories import log_in, make_admin

    ines, connection = _connected(app, "ines", "youtube", "ines_sews")
    SyncRunner(clean_db, app.state.connectors).run_once()
    asked = ines.post(f"/api/v1/connectors/accounts/{connection['account_id']}/sync")
    assert asked.status_code == 202
    assert _count(clean_db, SyncState, SyncState.requested_at.is_not(None)) == 1
    make_admin(clean_db)
    admin = new_client(app)
    log_in(admin, "root@example.com")
    overview = admin.get("/api/v1/admin/connectors").json()["platforms"]
    assert overview == [
        {
            "platform": "youtube",
            "connected": 1,
            "revoked": 0,
            "due": 1,
            "failing": 0,
            "posts": 6,
            "snapshots": 6,
            "last_success_at": overview[0]["last_success_at"],
            "circuit": "closed",
        }
    ]
    page = admin.get("/admin/connectors", headers={"accept": "text/html"})
    assert page.status_code == 200 and "Sync by platform" in page.text and "YouTube" in page.text
