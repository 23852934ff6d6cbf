"""Events as the rest of Veri uses them: emit from a service (same transaction as the state
change), ingest batches from clients, and operate the log: dead letters, replay, republish,
consumer lag."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from veri.config import get_settings
from veri.db.engine import Database
from veri.events.envelope import Event, FieldError, validate_batch
from veri.events.handlers import Handler
from veri.events.lag import PipelineStatus, pipeline_status
from veri.events.outbox import Cursor, append, stored_event
from veri.events.registry import EventPayload
from veri.models.base import utcnow
from veri.models.events import ConsumerOffset, DeadLetter, OutboxEvent, ProcessedEvent

__all__ = [
    "Emission",
    "IngestResult",
    "PipelineStatus",
    "emit",
    "emit_many",
    "ingest",
    "pipeline_status",
    "replay_dead_letter",
    "replay_group",
    "replay_groups",
]

log = structlog.get_logger(__name__)


def emit(
    db: Session,
    payload: EventPayload,
    *,
    subject: str,
    actor: str,
    occurred_at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> Event:
    """Append one event in the caller's transaction: it exists if and only if the change does.
    A consumer that emits passes a deterministic `event_id`: its replay then adds nothing."""
    return emit_many(db, [Emission(payload, subject, actor, occurred_at, event_id)])[0]


@dataclass(frozen=True)
class Emission:
    """One event to emit, as `emit` takes it."""

    payload: EventPayload
    subject: str
    actor: str
    occurred_at: datetime | None = None
    event_id: uuid.UUID | None = None


def emit_many(db: Session, emissions: Sequence[Emission]) -> list[Event]:
    """`emit` for several events at once: one append (one COPY) in the caller's transaction."""
    events = []
    for e in emissions:
        event = Event.new(e.payload, subject=e.subject, actor=e.actor, occurred_at=e.occurred_at)
        events.append(dataclasses.replace(event, id=e.event_id) if e.event_id is not None else event)
    append(db, events, partitions=get_settings().events.event_partitions)
    return events


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[FieldError] = field(default_factory=list)


def ingest(db: Session, raw: list[Any], *, partial: bool, partitions: int) -> IngestResult:
    """Validate a batch and append it. All or nothing unless `partial`: then the valid events
    are kept and the invalid ones reported. Repeated ids are accepted and ignored."""
    events, errors = validate_batch(raw)
    if errors and not partial:
        return IngestResult(rejected=errors)
    unique = list({e.id: e for e in events}.values())
    new = append(db, unique, partitions=partitions)
    return IngestResult(accepted=new, duplicates=len(events) - new, rejected=errors)


# -- dead letters -----------------------------------------------------------------------------


def dead_letters(
    db: Session, *, group: str | None = None, include_replayed: bool = False, limit: int = 100
) -> list[DeadLetter]:
    statement = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if group:
        statement = statement.where(DeadLetter.group_name == group)
    if not include_replayed:
        statement = statement.where(DeadLetter.replayed_at.is_(None))
    return list(db.scalars(statement).all())


def replay_dead_letter(database: Database, handlers: dict[str, Handler], dead_letter_id: int) -> bool:
    """Apply a dead-lettered event with its group's (fixed) handler, once: True if applied now,
    False if it had been replayed before. Raises if the handler still fails."""
    with database.transaction() as db:
        letter = db.get(DeadLetter, dead_letter_id, with_for_update=True)
        if letter is None:
            raise LookupError(f"no dead letter {dead_letter_id}")
        if letter.replayed_at is not None:
            return False
        handler = handlers.get(letter.group_name)
        if handler is None:
            raise LookupError(f"no handler for group {letter.group_name!r}")
        record = stored_event(db, letter.event_id)
        if record is None:
            raise LookupError(f"event {letter.event_id} is not in the log")
        handler.handle(db, [record.to_event()])
        letter.replayed_at = utcnow()
        events = [record.to_event()]
    handler.after_commit(events)
    log.info("dead_letter_replayed", id=dead_letter_id, group=letter.group_name)
    return True


# -- replay and lag ---------------------------------------------------------------------------


def replay_group(database: Database, handler: Handler, cursor: Cursor, *, reset: bool) -> int:
    """Make a group apply the log again from `cursor`: forget what it processed since, move its
    embedded-log offsets back, and (with `reset`, from the start) delete its derived state.
    On the Kafka bus the caller also republishes from the same cursor. Returns the number of
    processed marks removed."""
    return replay_groups(database, [handler], cursor, reset=reset)


def replay_groups(database: Database, handlers: Sequence[Handler], cursor: Cursor, *, reset: bool) -> int:
    """`replay_group` for groups that share one derived state (a slow group's lanes), in one
    transaction: the state is never deleted without every group that rebuilds it rewound."""
    with database.transaction() as db:
        return sum(_rewind(db, handler, cursor, reset=reset) for handler in handlers)


def _rewind(db: Session, handler: Handler, cursor: Cursor, *, reset: bool) -> int:
    if reset:
        handler.reset(db)
        removed = db.execute(delete(ProcessedEvent).where(ProcessedEvent.group_name == handler.group)).rowcount  # type: ignore[attr-defined]
    else:
        since = select(OutboxEvent.event_id).where(tuple_(OutboxEvent.txid, OutboxEvent.position) > tuple_(*cursor))
        removed = db.execute(
            delete(ProcessedEvent).where(ProcessedEvent.group_name == handler.group, ProcessedEvent.event_id.in_(since))
        ).rowcount  # type: ignore[attr-defined]
    db.execute(
        update(ConsumerOffset)
        .where(
            ConsumerOffset.group_name == handler.group,
            tuple_(ConsumerOffset.txid, ConsumerOffset.position) > tuple_(*cursor),
        )
        .values(txid=cursor[0], position=cursor[1], updated_at=func.now())
    )
    log.info("group_replay_started", group=handler.group, cursor=list(cursor), reset=reset, unmarked=removed)
    return int(removed)
