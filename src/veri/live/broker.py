"""The live-update port: a message for some users' open pages, published inside a transaction
and delivered after it commits, and the broker that carries it between processes (Postgres
LISTEN/NOTIFY on the embedded default, Redis pub/sub when Redis is configured).

Which broker a database's sessions publish through is registered here by the composition root
(`veri.wiring.live`); a database nobody registered publishes through Postgres NOTIFY.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session

__all__ = [
    "CHANNEL",
    "EVERYONE",
    "LiveBroker",
    "LiveMessage",
    "broker_for",
    "decode",
    "deliver",
    "encode",
    "forget_broker",
    "use_broker",
]

log = structlog.get_logger(__name__)

# The Postgres channel and the Redis channel: one per deployment (a database or a Redis).
CHANNEL = "veri_live"


# Addressed to every open page (a leaderboard moved): not a user id anyone has.
EVERYONE = uuid.UUID(int=0)


@dataclass(frozen=True)
class LiveMessage:
    """Something for the open pages of `user_ids`: a `kind` pages key on ("deal.message",
    "notification", "leaderboard") and its `data` (a hint to update by; pages refetch what they show)."""

    user_ids: tuple[uuid.UUID, ...]
    kind: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def to(cls, user_ids: Iterable[uuid.UUID], kind: str, data: dict[str, Any]) -> LiveMessage:
        return cls(tuple(dict.fromkeys(user_ids)), kind, dict(data))


def encode(message: LiveMessage) -> str:
    return json.dumps(
        {"u": [str(u) for u in message.user_ids], "k": message.kind, "d": message.data},
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def decode(payload: str | bytes) -> LiveMessage:
    """A message from the wire; ValueError (or KeyError, TypeError) when it is not one of ours."""
    raw = json.loads(payload)
    data = raw["d"]
    if not isinstance(data, dict) or not isinstance(raw["k"], str):
        raise ValueError("not a live message")
    return LiveMessage(tuple(uuid.UUID(u) for u in raw["u"]), raw["k"], data)


def deliver(payload: str | bytes, on_message: Callable[[LiveMessage], None]) -> None:
    """Hand a received payload on; one that is not a live message (someone else's NOTIFY on
    the channel, a truncated write) is logged and skipped, never the end of the listener."""
    try:
        message = decode(payload)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("live_message_unreadable", error=str(exc), payload=str(payload)[:200])
        return
    on_message(message)


class LiveBroker(Protocol):
    """Carries live messages between processes. `publish` is called inside the transaction of
    `db` and must deliver only once that transaction commits (never when it rolls back);
    `listen` runs in one thread per process until `stop` is set, calls `on_message` for each
    message any process published, and `on_connected` after every (re)connection, so that the
    listener can tell its pages that what was said while it was away may be missing."""

    name: str

    def publish(self, db: Session, message: LiveMessage) -> None: ...

    def listen(
        self,
        on_message: Callable[[LiveMessage], None],
        on_connected: Callable[[], None],
        stop: threading.Event,
    ) -> None: ...


_brokers: WeakKeyDictionary[Engine, LiveBroker] = WeakKeyDictionary()
_lock = threading.Lock()


def use_broker(engine: Engine, broker: LiveBroker) -> None:
    """Sessions on `engine` publish through `broker` from now on (the app and the worker call it)."""
    with _lock:
        _brokers[engine] = broker


def forget_broker(engine: Engine, broker: LiveBroker) -> None:
    """Back to the default, unless another broker was registered for `engine` since."""
    with _lock:
        if _brokers.get(engine) is broker:
            del _brokers[engine]


def broker_for(db: Session) -> LiveBroker:
    engine = db.get_bind().engine
    with _lock:
        chosen = _brokers.get(engine)
    if chosen is None:
        from veri.live.postgres import PostgresBroker

        chosen = PostgresBroker(engine.url)
    return chosen
