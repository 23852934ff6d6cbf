"""The worker syncs connected accounts by itself: the connectors' chore runs on its own pace and
thread (not the housekeeping's five minutes), picks up a new connection at once and a webhook's
request within seconds."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from fastapi import FastAPI

from tests.connectors.helpers import connect
from tests.connectors.test_sync import _demo_account, _webhook
from tests.factories import new_client, sign_up
from veri import wiring
from veri.db.engine import Database
from veri.demo_platform import DemoPlatformServer
from veri.events.worker import Periodic, Worker


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.1)


def test_the_worker_syncs_new_connections_and_webhooks_by_itself(
    app: FastAPI, clean_db: Database, demo: DemoPlatformServer
) -> None:
    settings = app.state.settings
    chores = wiring.chores(settings, clean_db)
    sync = [c for c in chores if isinstance(c, Periodic)]
    assert [c.name for c in sync] == ["connector-sync"] and sync[0].every == settings.connectors.connector_poll_seconds
    worker = Worker(clean_db, wiring.bus(settings, clean_db), [], settings, chores=sync)
    worker.start()
    try:
        client = new_client(app)
        sign_up(client, "creator", "wren")
        connect(client, "youtube", "wren_hikes")
        posts = demo.config.posts_per_account
        _until(lambda: client.get("/api/v1/content").json()["total"] == posts)
        httpx.post(f"{demo.url}/_demo/youtube/accounts/wren_hikes/publish")
        channel = _demo_account(demo, "youtube", "wren_hikes")["external_id"]
        assert _webhook(client, app, "youtube", {"channelId": channel}).json()["accepted"] == 1
        _until(lambda: client.get("/api/v1/content").json()["total"] == posts + 1)
    finally:
        worker.stop()
