"""The live broker on Redis pub/sub (when Redis is configured): messages wait in the session
until its transaction commits, then go out on one channel; a rolled-back transaction (or
savepoint) takes its messages with it. One subscribed connection per process listens.

Publishing happens after the commit, so it cannot fail the request that committed: a Redis
error is logged and the pages catch up when they next load (or resynchronise on reconnect).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from veri.live.broker import CHANNEL, LiveMessage, deliver, encode

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["RedisBroker"]

log = structlog.get_logger(__name__)

_PENDING = "veri_live_pending"
_Pending = list[tuple[SessionTransaction, "RedisBroker", LiveMessage]]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _send_committed(session: Session) -> None:
    pending: _Pending = session.info.get(_PENDING, [])
    root = session.get_transaction()
    if root is None:
        return
    committed = [(b, m) for t, b, m in pending if _within(t, root)]
    pending[:] = [entry for entry in pending if not _within(entry[0], root)]
    by_broker: dict[int, tuple[RedisBroker, list[LiveMessage]]] = {}
    for broker, message in committed:
        by_broker.setdefault(id(broker), (broker, []))[1].append(message)
    for broker, messages in by_broker.values():
        broker.send(messages)


def _discard_rolled_back(session: Session, previous: SessionTransaction) -> None:
    pending: _Pending = session.info.get(_PENDING, [])
    pending[:] = [entry for entry in pending if not _within(entry[0], previous)]


def _discard_unsent(session: Session, transaction: SessionTransaction) -> None:
    """The root transaction ended: what it committed was sent; the rest (a rollback, a close
    without commit) never will be."""
    if transaction.parent is None:
        _discard_rolled_back(session, transaction)


def _pending_of(db: Session) -> _Pending:
    if _PENDING not in db.info:
        db.info[_PENDING] = []
        event.listen(db, "after_commit", _send_committed)
        event.listen(db, "after_soft_rollback", _discard_rolled_back)
        event.listen(db, "after_transaction_end", _discard_unsent)
    pending: _Pending = db.info[_PENDING]
    return pending


class RedisBroker:
    name = "redis"

    def __init__(self, client: Redis, *, poll_seconds: float = 0.5):
        self.client = client
        self.poll_seconds = poll_seconds

    def publish(self, db: Session, message: LiveMessage) -> None:
        transaction = db.get_nested_transaction() or db.get_transaction() or db.begin()
        _pending_of(db).append((transaction, self, message))

    def send(self, messages: list[LiveMessage]) -> None:
        """Publish now (after a commit)."""
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for message in messages:
                    pipe.publish(CHANNEL, encode(message))
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("live_publish_failed", broker=self.name, messages=len(messages), error=str(exc))

    def listen(
        self,
        on_message: Callable[[LiveMessage], None],
        on_connected: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        backoff = 0.2
        while not stop.is_set():
            pubsub = self.client.pubsub()  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(CHANNEL)
                while not stop.is_set():
                    item: dict[str, Any] | None = pubsub.get_message(timeout=self.poll_seconds)
                    if item is None:
                        continue
                    if item.get("type") == "subscribe":
                        # Confirmed by the server (again, after redis-py reconnected on its own):
                        # from now on nothing published is missed.
                        on_connected()
                        backoff = 0.2
                    elif item.get("type") == "message":
                        deliver(item["data"], on_message)
            except redis.RedisError as exc:
                log.warning("live_listener_disconnected", broker=self.name, error=str(exc), retry_in=backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                pubsub.close()
