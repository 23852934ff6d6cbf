"""The in-process hub: one listener thread per process (the broker's `listen`), fanning each
message out to the open streams of its users. Each stream is a bounded queue on the event loop
that serves it: a client too slow to keep up loses its oldest frames and is told to reload.

The listener starts with the first stream, so processes that never serve one (tests through
`TestClient`, the worker) hold no listening connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import uuid
from collections import deque
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine

from veri.live.broker import EVERYONE, LiveBroker, LiveMessage, forget_broker

__all__ = ["LiveHub", "Subscription", "frame"]

log = structlog.get_logger(__name__)

STREAMS = Gauge("veri_live_streams", "Live-update streams open in this process")
DELIVERY = Histogram(
    "veri_live_delivery_seconds",
    "From this process's hub receiving a live message to its frame written to a stream",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
RELOADS = Counter("veri_live_reloads_total", "Streams too slow to keep up, told to reload")


def frame(kind: str, data: dict[str, Any]) -> bytes:
    """One server-sent event: `data:` a single JSON line with the kind and its data."""
    body = json.dumps({"kind": kind, "data": data}, separators=(",", ":"), ensure_ascii=False, default=str)
    return b"data: " + body.encode() + b"\n\n"


# Sent instead of what a slow client missed: the page reloads and is whole again.
RELOAD = frame("live.reload", {"reason": "updates came faster than this page read them"})
# Sent after the listener reconnected: messages may have been missed, pages refetch their parts.
RESYNC = frame("live.resync", {})


class Subscription:
    """One open stream of one user, read on the event loop it was opened on."""

    def __init__(self, user_id: uuid.UUID, loop: asyncio.AbstractEventLoop, limit: int):
        self.user_id = user_id
        self.loop = loop
        self.limit = limit
        self.dropped = 0
        self.closed = False
        # When the hub received the oldest frame of the last chunk `next` returned.
        self.received_at = 0.0
        self._frames: deque[tuple[bytes, float]] = deque()
        self._ready = asyncio.Event()

    def push(self, data: bytes, received_at: float) -> None:
        """On the subscription's loop: queue a frame, dropping the oldest beyond the limit."""
        if self.closed:
            return
        if len(self._frames) >= self.limit:
            self._frames.popleft()
            self.dropped += 1
        self._frames.append((data, received_at))
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self, timeout: float) -> bytes | None:
        """What is waiting, as one chunk: b"" once closed, None when `timeout` passed with nothing."""
        if not self._frames and not self.closed:
            try:
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
            except TimeoutError:
                return None
        self._ready.clear()
        if self.dropped:
            log.info("live_client_too_slow", user_id=str(self.user_id), dropped=self.dropped)
            RELOADS.inc()
            self.received_at = self._frames[0][1]
            self.dropped = 0
            self._frames.clear()
            return RELOAD
        if not self._frames:
            return b""
        self.received_at = self._frames[0][1]
        chunk = b"".join(data for data, _ in self._frames)
        self._frames.clear()
        return chunk


class LiveHub:
    def __init__(
        self,
        broker: LiveBroker,
        *,
        engine: Engine | None = None,
        queue_limit: int = 64,
        heartbeat_seconds: float = 15.0,
        stream_seconds: float = 300.0,
    ):
        self.broker = broker
        # The database whose sessions publish through `broker` (registered by the composition root).
        self.engine = engine
        self.queue_limit = queue_limit
        # A comment line this often keeps proxies from closing a quiet stream.
        self.heartbeat_seconds = heartbeat_seconds
        # A stream ends after this (the browser reconnects at once, logged in or not any more).
        self.stream_seconds = stream_seconds
        self._by_user: dict[uuid.UUID, set[Subscription]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._connections = 0

    @property
    def open_streams(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._by_user.values())

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._listen, name=f"veri-live-{self.broker.name}", daemon=True)
            self._thread.start()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    async def subscribe(self, user_id: uuid.UUID) -> Subscription:
        """A stream for `user_id`, once the listener is connected (so nothing published from now
        on is missed)."""
        self.start()
        if not self._connected.is_set():
            await asyncio.to_thread(self._connected.wait, 10.0)
        subscription = Subscription(user_id, asyncio.get_running_loop(), self.queue_limit)
        with self._lock:
            self._by_user.setdefault(user_id, set()).add(subscription)
        STREAMS.inc()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            mine = self._by_user.get(subscription.user_id)
            if mine is None or subscription not in mine:
                return
            mine.discard(subscription)
            if not mine:
                del self._by_user[subscription.user_id]
        STREAMS.dec()

    def deliver(self, message: LiveMessage) -> None:
        """Fan `message` out to its users' streams in this process (from the listener thread)."""
        with self._lock:
            if EVERYONE in message.user_ids:
                targets = [s for subs in self._by_user.values() for s in subs]
            else:
                targets = [s for user in message.user_ids for s in self._by_user.get(user, ())]
        if targets:
            self._push(targets, frame(message.kind, message.data))

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening and end every open stream."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            every = [s for subs in self._by_user.values() for s in subs]
            self._by_user.clear()
        STREAMS.dec(len(every))
        for subscription in every:
            # A closed loop raises: nobody reads that stream any more.
            with contextlib.suppress(RuntimeError):
                subscription.loop.call_soon_threadsafe(subscription.close)
        self._connected.clear()

    def close(self) -> None:
        """Stop, and let the database's sessions publish through the default broker again."""
        self.stop()
        if self.engine is not None:
            forget_broker(self.engine, self.broker)

    def _push(self, targets: list[Subscription], data: bytes) -> None:
        # One wake-up per event loop, however many streams it serves.
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = {}
        for subscription in targets:
            by_loop.setdefault(subscription.loop, []).append(subscription)
        for loop, subscriptions in by_loop.items():
            try:
                loop.call_soon_threadsafe(_push_all, subscriptions, data, time.monotonic())
            except RuntimeError:  # the loop is closed: its streams are gone
                for subscription in subscriptions:
                    self.unsubscribe(subscription)

    def _on_connected(self) -> None:
        self._connections += 1
        if self._connections > 1:
            log.info("live_listener_reconnected", broker=self.broker.name)
            with self._lock:
                every = [s for subs in self._by_user.values() for s in subs]
            self._push(every, RESYNC)
        self._connected.set()

    def _listen(self) -> None:
        log.info("live_listener_started", broker=self.broker.name)
        while not self._stop.is_set():
            try:
                self.broker.listen(self.deliver, self._on_connected, self._stop)
            except Exception:
                # A bug here would silence every page of this process: say so loudly, go on.
                log.exception("live_listener_failed", broker=self.broker.name)
                self._stop.wait(1.0)


def _push_all(subscriptions: list[Subscription], data: bytes, received_at: float) -> None:
    for subscription in subscriptions:
        subscription.push(data, received_at)
