"""The transactional outbox: append events in the caller's transaction, read them back in
commit order. It is the log of the embedded bus and the source the relay publishes to Kafka."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from veri.db.bulk import execute_binary
from veri.events.envelope import Event, partition_of
from veri.models.events import OutboxEvent

__all__ = [
    "COMMITTED_TXID",
    "LOG_COLUMNS",
    "ORDERED_READS",
    "Cursor",
    "LogRecord",
    "append",
    "read_after",
    "stored_event",
]

Cursor = tuple[int, int]  # (txid, position)

# Rows of transactions still running are invisible; rows of any transaction older than the
# oldest running one are all visible. Reading only those keeps the cursor gap-free.


@dataclass(frozen=True)
class LogRecord:
    """An event as stored: its payload at the version it was written in."""

    position: int
    txid: int
    event_id: uuid.UUID
    type: str
    version: int
    stream: str
    subject: str
    partition: int
    actor: str
    occurred_at: datetime
    # JSON text as read from the log (parsed straight into the payload model), or a dict.
    payload: str | dict[str, Any]
    recorded_at: datetime | None = None

    @property
    def cursor(self) -> Cursor:
        return (self.txid, self.position)

    @property
    def payload_dict(self) -> dict[str, Any]:
        return json.loads(self.payload) if isinstance(self.payload, str) else self.payload

    def to_event(self) -> Event:
        return Event.from_stored(
            event_id=self.event_id,
            type=self.type,
            version=self.version,
            occurred_at=self.occurred_at,
            subject=self.subject,
            actor=self.actor,
            payload=self.payload,
            position=self.position,
            recorded_at=self.recorded_at,
        )


# A LogRecord's columns, in its fields' order. The payload comes back as JSON text: pydantic
# parses it once, straight into the model.
LOG_COLUMNS = (
    "position, txid, event_id, type, version, stream, subject, partition, actor, occurred_at, payload::text,"
    " recorded_at"
)
# Transactions older than this have all committed or aborted: a reader's horizon (see read_after).
COMMITTED_TXID = "(pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
# For the rest of the reader's transaction: read the log in index order and stop at the limit.
# Without it the planner, misled by a young table's statistics, fetched every row after the
# cursor and sorted them for the first few thousand: a poll cost the whole backlog.
ORDERED_READS = text("SET LOCAL enable_bitmapscan = off")
_SELECT = f"SELECT {LOG_COLUMNS} FROM event_outbox"  # noqa: S608 - constants only  # nosec B608


# The payload is staged as text and parsed into JSONB by the insert: in COPY's binary format a
# JSONB column would take a Python object to encode, and the payload is JSON text already.
_STAGE = """
    CREATE TEMP TABLE IF NOT EXISTS event_outbox_stage (
        event_id uuid, type text, version smallint, stream text, subject text, partition smallint,
        actor text, occurred_at timestamptz, payload text
    ) ON COMMIT DELETE ROWS
"""
_STAGE_TYPES = ["uuid", "text", "int2", "text", "text", "int2", "text", "timestamptz", "text"]
# Emptying the stage in the same statement lets one transaction append several times.
_FROM_STAGE = text(
    """
    WITH staged AS (DELETE FROM event_outbox_stage RETURNING *)
    INSERT INTO event_outbox (event_id, type, version, stream, subject, partition, actor, occurred_at, payload)
    SELECT DISTINCT ON (event_id)
           event_id, type, version, stream, subject, partition, actor, occurred_at, payload::jsonb
    FROM staged
    ON CONFLICT (event_id) DO NOTHING
    """
)


def append(db: Session, events: Sequence[Event], *, partitions: int) -> int:
    """Add events in the caller's transaction. Ids already in the log are ignored (idempotent
    ingestion); returns how many were new. The rows go through COPY into a staging table:
    building a many-row INSERT costs more in Python than PostgreSQL spends running it. COPY's
    binary format: ids and moments written as text cost several times more in Python."""
    if not events:
        return 0
    connection = db.connection()
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(_STAGE)
    with cursor.copy(
        "COPY event_outbox_stage (event_id, type, version, stream, subject, partition, actor, occurred_at, payload)"
        " FROM STDIN (FORMAT BINARY)"
    ) as copy:
        copy.set_types(_STAGE_TYPES)
        for e in events:
            copy.write_row(
                (
                    e.id,
                    e.type,
                    e.version,
                    e.stream,
                    e.subject,
                    partition_of(e.subject, partitions),
                    e.actor,
                    e.occurred_at,
                    e.payload.model_dump_json(),
                )
            )
    # Counted, not returned: reading every new id back cost more than the insert.
    return int(db.execute(_FROM_STAGE).rowcount)  # type: ignore[attr-defined]


def read_after(db: Session, cursor: Cursor, *, limit: int, partition: int | None = None) -> list[LogRecord]:
    where = "(txid, position) > (%(txid)s, %(position)s) AND txid < " + COMMITTED_TXID
    if partition is not None:
        where += " AND partition = %(partition)s"
    rows = execute_binary(
        db,
        f"{_SELECT} WHERE {where} ORDER BY txid, position LIMIT %(limit)s",
        {"txid": cursor[0], "position": cursor[1], "partition": partition, "limit": limit},
    )
    return [LogRecord(*row) for row in rows]


def stored_events(db: Session, event_ids: Sequence[uuid.UUID]) -> list[LogRecord]:
    """Events as stored, by id, in the order they happened."""
    rows = execute_binary(
        db, f"{_SELECT} WHERE event_id = ANY(%(ids)s) ORDER BY occurred_at, position", {"ids": list(event_ids)}
    )
    return [LogRecord(*row) for row in rows]


def stored_event(db: Session, event_id: uuid.UUID) -> LogRecord | None:
    found = stored_events(db, [event_id])
    return found[0] if found else None


def cursor_at(db: Session, *, position: int | None = None, recorded_since: datetime | None = None) -> Cursor:
    """The cursor just before an outbox position, or before the first event recorded at or
    after a time: where a replay or a republish starts."""
    statement = select(OutboxEvent.txid, OutboxEvent.position).order_by(OutboxEvent.txid, OutboxEvent.position).limit(1)
    if position is not None:
        statement = statement.where(OutboxEvent.position >= position)
    if recorded_since is not None:
        statement = statement.where(OutboxEvent.recorded_at >= recorded_since)
    first = db.execute(statement).one_or_none()
    if first is None:
        last = db.execute(select(func.max(OutboxEvent.txid), func.max(OutboxEvent.position))).one()
        return (int(last[0] or 0), int(last[1] or 0))
    return (int(first[0]), int(first[1]) - 1)
