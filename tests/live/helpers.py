"""Shared by the live tests: a broker listening on its own thread into a queue, the Redis broker
when Redis answers, and a reader of a server-sent event stream over real HTTP."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.factories import REDIS_URL, require_service
from veri.live.broker import LiveBroker, LiveMessage


class Inbox:
    """What a listener received, in order."""

    def __init__(self) -> None:
        self.items: queue.Queue[LiveMessage] = queue.Queue()

    def get(self, timeout: float = 5.0) -> LiveMessage:
        return self.items.get(timeout=timeout)

    def empty_for(self, seconds: float) -> bool:
        try:
            self.items.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


@contextmanager
def listening(broker: LiveBroker) -> Iterator[Inbox]:
    """`broker.listen` on a thread (as a hub runs it), connected before this yields."""
    inbox, connected, stop = Inbox(), threading.Event(), threading.Event()
    thread = threading.Thread(target=broker.listen, args=(inbox.items.put, connected.set, stop), daemon=True)
    thread.start()
    assert connected.wait(10), "the listener did not connect"
    try:
        yield inbox
    finally:
        stop.set()
        thread.join(5)


def redis_client() -> Any:
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    return redis.Redis.from_url(REDIS_URL)


class EventStream:
    """GET /api/v1/live with the given cookies on a thread; each event's parsed JSON in order."""

    def __init__(self, base_url: str, cookies: dict[str, str]):
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.comments = 0
        self.status: int | None = None
        self._response: httpx.Response | None = None
        self._opened = threading.Event()
        self._stop = threading.Event()
        self._client = httpx.Client(base_url=base_url, cookies=cookies, timeout=httpx.Timeout(30.0, connect=5.0))
        self._thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> EventStream:
        self._thread.start()
        assert self._opened.wait(10), "the stream did not open"
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        # The reader waits in recv() for the next frame: cut the socket under it.
        stream = self._response.extensions.get("network_stream") if self._response is not None else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", "/api/v1/live", headers={"Accept": "text/event-stream"}) as response:
                self._response = response
                self.status = response.status_code
                self.headers = response.headers
                self._opened.set()
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith("data: "):
                        self.events.put(json.loads(line[6:]))
                    elif line.startswith(":"):
                        self.comments += 1
        except (httpx.HTTPError, RuntimeError):  # closed by __exit__ (or by the server)
            self._opened.set()

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.events.get(timeout=timeout)

    def wait_for(self, kind: str, timeout: float = 5.0) -> tuple[dict[str, Any], float]:
        """The next event of `kind` (skipping others) and when it arrived (perf_counter)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {kind!r} event within {timeout}s"
            event = self.events.get(timeout=left)
            if event["kind"] == kind:
                return event, time.perf_counter()

    def collect(self, *kinds: str, timeout: float = 5.0) -> dict[str, dict[str, Any]]:
        """The first event of each of `kinds`, in whatever order they come (others skipped)."""
        found: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while set(kinds) - set(found):
            left = deadline - time.monotonic()
            assert left > 0, f"missing {sorted(set(kinds) - set(found))} within {timeout}s"
            event = self.events.get(timeout=left)
            if event["kind"] in kinds:
                found.setdefault(event["kind"], event)
        return found
