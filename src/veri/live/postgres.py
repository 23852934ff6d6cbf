"""The live broker on PostgreSQL alone (the embedded default): `pg_notify` inside the
publishing transaction, which Postgres delivers at commit and drops on rollback, and one
`LISTEN` connection per process.

A notification's payload must stay under 8000 bytes: a message to many users is split into
several notifications, and data too large to carry is cut to its short fields plus
`"truncated": true` (pages then refetch what they show instead of using the data).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import structlog
from sqlalchemy import URL, func, select
from sqlalchemy.orm import Session

from veri.live.broker import CHANNEL, LiveMessage, deliver, encode

__all__ = ["PostgresBroker", "notify_payloads"]

log = structlog.get_logger(__name__)

# Postgres refuses a payload of 8000 bytes or more; what is left is room for user ids.
MAX_PAYLOAD_BYTES = 7900
MAX_DATA_BYTES = 4000
# A field of the data kept when the data is cut (ids, counts, short names).
MAX_KEPT_FIELD_BYTES = 200
_BYTES_PER_USER = 39  # a UUID in quotes, and its comma
# How the listening connection shows in pg_stat_activity.
APPLICATION_NAME = "veri-live"


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())


def _fitted(data: dict[str, Any]) -> dict[str, Any]:
    if _size(data) <= MAX_DATA_BYTES:
        return data
    kept = {k: v for k, v in data.items() if _size(v) <= MAX_KEPT_FIELD_BYTES}
    kept["truncated"] = True
    return kept if _size(kept) <= MAX_DATA_BYTES else {"truncated": True}


def notify_payloads(message: LiveMessage) -> list[str]:
    """The NOTIFY payloads that carry `message`, each under Postgres's limit."""
    data = _fitted(message.data)
    base = _size({"u": [], "k": message.kind, "d": data})
    per_payload = max(1, (MAX_PAYLOAD_BYTES - base) // _BYTES_PER_USER)
    users = message.user_ids
    return [
        encode(LiveMessage(users[i : i + per_payload], message.kind, data)) for i in range(0, len(users), per_payload)
    ]


def _conninfo(url: URL) -> str:
    """psycopg's connection string for the SQLAlchemy URL (the embedded server's socket included)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresBroker:
    name = "postgres"

    def __init__(self, url: URL, *, poll_seconds: float = 0.5):
        self.url = url
        self.poll_seconds = poll_seconds

    def publish(self, db: Session, message: LiveMessage) -> None:
        for payload in notify_payloads(message):
            db.execute(select(func.pg_notify(CHANNEL, payload)))

    def listen(
        self,
        on_message: Callable[[LiveMessage], None],
        on_connected: Callable[[], None],
        stop: threading.Event,
    ) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                with psycopg.connect(_conninfo(self.url), autocommit=True, application_name=APPLICATION_NAME) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    on_connected()
                    backoff = 0.2
                    while not stop.is_set():
                        for notice in conn.notifies(timeout=self.poll_seconds):
                            deliver(notice.payload, on_message)
            except psycopg.Error as exc:  # the server went away (or restarted): listen again
                log.warning("live_listener_disconnected", broker=self.name, error=str(exc), retry_in=backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
