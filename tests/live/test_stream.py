"""The event stream (GET /api/v1/live) over real HTTP: a person's own events only, the unread
count first, heartbeats, the end of a stream; across two API processes on either broker; and
the hub's bounded queues (a slow client is told to reload)."""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import REDIS_URL, free_port, make_settings, port_open, served, signup_body
from tests.live.helpers import EventStream, redis_client
from veri.app import create_app
from veri.config import RedisSettings
from veri.db.engine import Database
from veri.live.broker import LiveMessage
from veri.live.hub import RELOAD, LiveHub, Subscription

SECRET = "test-secret-key-not-for-production"


class Person:
    """A logged-in HTTP client of a real server."""

    def __init__(self, base_url: str, role: str, name: str):
        self.client = httpx.Client(base_url=base_url, timeout=10)
        response = self.client.post("/api/v1/auth/signup", json=signup_body(role, name))
        assert response.status_code == 201, response.text
        self.id = uuid.UUID(response.json()["id"])
        self.client.headers["X-CSRF-Token"] = self.client.cookies["veri_csrf"]

    @property
    def cookies(self) -> dict[str, str]:
        return dict(self.client.cookies.items())

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        response = self.client.request(method, path, json=body)
        assert response.status_code == status, response.text
        return response.json()


def _deal(brand: Person, creator: Person) -> dict[str, Any]:
    campaign = brand.call("POST", "/api/v1/campaigns", {"title": "Peak week", "budget_cents": 300_000}, 201)
    brand.call("POST", f"/api/v1/campaigns/{campaign['id']}/transition", {"to": "open"})
    return dict(creator.call("POST", "/api/v1/deals", {"campaign_id": campaign["id"], "fee_cents": 90_000}, 201))


@pytest.fixture
def base_url(clean_db: Database, tmp_path: Path) -> Iterator[str]:
    app = create_app(make_settings(tmp_path), database=clean_db)
    with served(app) as port:
        yield f"http://127.0.0.1:{port}"


def test_each_person_hears_their_own_events(base_url: str) -> None:
    brand, creator = Person(base_url, "brand", "lena"), Person(base_url, "creator", "maya")
    stranger = Person(base_url, "creator", "nosy")
    deal = _deal(brand, creator)
    with (
        EventStream(base_url, creator.cookies) as maya,
        EventStream(base_url, brand.cookies) as lena,
        EventStream(base_url, stranger.cookies) as nosy,
    ):
        assert maya.status == 200 and maya.headers["content-type"].startswith("text/event-stream")
        assert maya.next() == {"kind": "live.hello", "data": {"unread": 0}}
        assert lena.next() == {"kind": "live.hello", "data": {"unread": 1}}  # the application
        assert nosy.next() == {"kind": "live.hello", "data": {"unread": 0}}

        sent = time.perf_counter()
        message = brand.call("POST", f"/api/v1/deals/{deal['id']}/messages", {"body": "Two reels?"}, 201)
        heard = maya.collect("deal.message", "notification", timeout=1.0)
        assert time.perf_counter() - sent < 1.0
        event, badge = heard["deal.message"], heard["notification"]
        assert event["data"] == {
            "deal_id": deal["id"],
            "message_id": message["id"],
            "sender": "brand",
            "body": "Two reels?",
            "at": event["data"]["at"],
        }
        assert badge["data"]["unread"] == 1 and badge["data"]["link"] == f"/deals/{deal['id']}"
        assert lena.wait_for("deal.message", timeout=1.0)[0]["data"]["message_id"] == message["id"]

        brand.call("POST", f"/api/v1/deals/{deal['id']}/counter", {"fee_cents": 80_000})
        heard = maya.collect("deal.offer", "notification", timeout=1.0)
        offer = heard["deal.offer"]["data"]
        assert offer == {"deal_id": deal["id"], "status": "proposed", "action": "counter", "by": "brand"}
        assert heard["notification"]["data"]["unread"] == 2
        assert lena.wait_for("deal.offer", timeout=1.0)[0]["data"]["action"] == "counter"

        notification = creator.call("GET", "/api/v1/notifications")["items"][0]
        creator.call("POST", f"/api/v1/notifications/{notification['id']}/read")
        assert maya.wait_for("notification", timeout=1.0)[0]["data"] == {"unread": 1}  # the other tabs' badge
        with pytest.raises(queue.Empty):
            nosy.next(timeout=0.3)  # nothing of theirs reached anyone else


def test_anonymous_gets_401_and_no_stream(base_url: str) -> None:
    response = httpx.get(f"{base_url}/api/v1/live", timeout=5)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_heartbeats_and_the_end_of_a_stream(clean_db: Database, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), database=clean_db)
    with served(app) as port:
        base = f"http://127.0.0.1:{port}"
        maya = Person(base, "creator", "maya")
        hub: LiveHub = app.state.live
        hub.heartbeat_seconds, hub.stream_seconds = 0.2, 1.2
        started = time.monotonic()
        with EventStream(base, maya.cookies) as stream:
            assert stream.next()["kind"] == "live.hello"
            stream._thread.join(5)  # the server ends the stream: the browser would reconnect
            assert 1.0 < time.monotonic() - started < 4
            assert stream.comments >= 3
        deadline = time.monotonic() + 2
        while hub.open_streams and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.open_streams == 0


@contextmanager
def second_api_process(database_url: str, tmp_path: Path, redis_url: str | None) -> Iterator[str]:
    """Another API process of the same deployment (its own hub and listener)."""
    port = free_port()
    env = {
        **os.environ,
        "VERI_ENV": "test",
        "VERI_DATABASE_URL": database_url,
        "VERI_SECRET_KEY": SECRET,
        "VERI_DATA_DIR": str(tmp_path / "b"),
        "VERI_EMBEDDER": "none",
        "VERI_LOG_LEVEL": "WARNING",
    }
    env.pop("VERI_REDIS_URL", None)
    if redis_url:
        env["VERI_REDIS_URL"] = redis_url
    log = (tmp_path / "b.log").open("wb")
    command = [sys.executable, "-m", "uvicorn", "veri.app:create_app", "--factory", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning", "--timeout-graceful-shutdown", "1"]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not port_open("127.0.0.1", port):
            assert process.poll() is None, (tmp_path / "b.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the second API process did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


@pytest.mark.parametrize("broker", ["postgres", "redis"])
def test_a_message_written_on_one_api_process_reaches_pages_open_on_another(
    clean_db: Database, tmp_path: Path, broker: str
) -> None:
    redis_url = None
    if broker == "redis":
        redis_client().close()  # skips (or fails in CI) without Redis
        redis_url = REDIS_URL
    settings = make_settings(tmp_path, redis=RedisSettings(redis_url=redis_url))
    app = create_app(settings, database=clean_db)
    with served(app) as port, second_api_process(clean_db.url, tmp_path, redis_url) as other:
        here = f"http://127.0.0.1:{port}"
        brand, creator = Person(here, "brand", "lena"), Person(here, "creator", "maya")
        deal = _deal(brand, creator)
        # The creator's page is open on the other process; the brand writes through this one.
        with EventStream(other, creator.cookies) as maya:
            assert maya.next(timeout=10) == {"kind": "live.hello", "data": {"unread": 0}}
            sent = time.perf_counter()
            brand.call("POST", f"/api/v1/deals/{deal['id']}/messages", {"body": "Across processes"}, 201)
            heard = maya.collect("deal.message", "notification", timeout=1.0)
            assert time.perf_counter() - sent < 1.0
            assert heard["deal.message"]["data"]["body"] == "Across processes"
            assert heard["notification"]["data"]["unread"] == 1


class FakeBroker:
    """A broker whose listener only signals it is connected; the test delivers by hand."""

    name = "fake"

    def publish(self, db: Any, message: LiveMessage) -> None:
        raise AssertionError("not used")

    def listen(self, on_message: Any, on_connected: Any, stop: threading.Event) -> None:
        on_connected()
        stop.wait()


def test_a_slow_client_loses_its_oldest_updates_and_is_told_to_reload() -> None:
    async def scenario() -> None:
        hub = LiveHub(FakeBroker(), queue_limit=3)
        user, other = uuid.uuid4(), uuid.uuid4()
        slow = await hub.subscribe(user)
        fine = await hub.subscribe(user)
        elsewhere = await hub.subscribe(other)
        assert hub.open_streams == 3
        for n in range(3):
            await asyncio.to_thread(hub.deliver, LiveMessage((user,), "tick", {"n": n}))
        assert await fine.next(1) == b"".join(
            f'data: {{"kind":"tick","data":{{"n":{n}}}}}\n\n'.encode() for n in range(3)
        )
        await asyncio.to_thread(hub.deliver, LiveMessage((user,), "tick", {"n": 3}))  # one more than `slow` holds
        assert await slow.next(1) == RELOAD
        assert await fine.next(1) == b'data: {"kind":"tick","data":{"n":3}}\n\n'
        assert await elsewhere.next(0.05) is None  # nothing for another user: a heartbeat is due
        # Bounded whatever happens: a thousand updates unread still hold three frames.
        for n in range(1000):
            hub._push([fine], b"x")
        await asyncio.sleep(0)
        assert len(fine._frames) == 3
        hub.stop()
        await asyncio.sleep(0)
        assert await slow.next(1) == b"" and await elsewhere.next(1) == b""  # the streams end
        assert hub.open_streams == 0

    asyncio.run(scenario())


def test_a_subscription_on_a_closed_loop_is_dropped() -> None:
    hub = LiveHub(FakeBroker())
    user = uuid.uuid4()
    loop = asyncio.new_event_loop()
    subscription = loop.run_until_complete(hub.subscribe(user))
    assert isinstance(subscription, Subscription)
    loop.close()
    hub.deliver(LiveMessage((user,), "tick", {}))
    assert hub.open_streams == 0
    hub.stop()


def test_a_broadcast_reaches_every_open_stream() -> None:
    from veri.live.broker import EVERYONE

    async def scenario() -> None:
        hub = LiveHub(FakeBroker(), queue_limit=3)
        first, second = await hub.subscribe(uuid.uuid4()), await hub.subscribe(uuid.uuid4())
        await asyncio.to_thread(hub.deliver, LiveMessage((EVERYONE,), "leaderboard", {}))
        expected = b'data: {"kind":"leaderboard","data":{}}\n\n'
        assert await first.next(1) == expected and await second.next(1) == expected
        hub.stop()

    asyncio.run(scenario())
