"""The consumer runtime. Each batch's effects and its processed marks (and, on the embedded
log, its offsets) commit in one transaction: effectively once. A failing batch is retried event
by event with backoff; an event that still fails goes to the dead-letter store and its
partition keeps flowing."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from prometheus_client import Counter
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.events.bus.base import BusConsumer, Delivery, LeaseLost
from veri.events.envelope import Event
from veri.events.handlers import DependencyDown, Handler
from veri.events.lag import record_lag
from veri.models.events import DeadLetter, ProcessedEvent

__all__ = ["ConsumerLoop", "RetryPolicy", "mark_processed"]

log = structlog.get_logger(__name__)

_MARK = """
    INSERT INTO processed_events (group_name, event_id)
    SELECT %(group)s, unnest(%(ids)s::uuid[])
    ON CONFLICT (group_name, event_id) DO NOTHING
    RETURNING event_id
"""

PROCESSED = Counter("veri_events_processed_total", "Events applied by a consumer group", ["group"])
FAILED = Counter("veri_events_failed_total", "Failed attempts to apply an event", ["group"])
DEAD = Counter("veri_events_dead_lettered_total", "Events sent to the dead-letter store", ["group"])
WAITED = Counter("veri_events_dependency_waits_total", "Batches held back while a handler's store was down", ["group"])
MAX_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    backoff_seconds: float = 0.2

    def delay(self, attempt: int) -> float:
        return float(self.backoff_seconds * 4 ** (attempt - 1))


def mark_processed(db: Session, group: str, events: Sequence[Event]) -> list[Event]:
    """Mark events as applied by `group`; return those not marked before, in order."""
    unique = list({e.id: e for e in events}.values())
    if not unique:
        return []
    connection = db.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor(binary=True) as cursor:
        cursor.execute(_MARK, {"group": group, "ids": [e.id for e in unique]}, binary=True)
        if cursor.rowcount == len(unique):
            # All new, as nearly always: reading thousands of ids back would cost more than the
            # insert. Only a redelivery (relay retry, replay, crash) reads which ones were new.
            return unique
        new = {row[0] for row in cursor.fetchall()}
    return [e for e in unique if e.id in new]


class ConsumerLoop:
    def __init__(
        self,
        database: Database,
        consumer: BusConsumer,
        handler: Handler,
        *,
        batch_size: int = 1000,
        poll_timeout: float = 0.2,
        retry: RetryPolicy | None = None,
        lag_interval: float = 5.0,
    ):
        self.database = database
        self.consumer = consumer
        self.handler = handler
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.retry = retry or RetryPolicy()
        self.lag_interval = lag_interval
        self.stopping = threading.Event()

    @property
    def group(self) -> str:
        return self.handler.group

    def _apply(self, deliveries: Sequence[Delivery]) -> list[Event]:
        # Only what the handler takes is parsed (a payload is validated once it is wanted): other
        # types, and the events a lane leaves to its sibling (decided from the stored moments), are
        # read past without being parsed or marked as processed.
        accepts = getattr(self.handler, "accepts", None)
        wanted = [
            d.record.to_event()
            for d in deliveries
            if d.record.type in self.handler.types and (accepts is None or accepts(d.record))
        ]
        with self.database.transaction() as db:
            fresh = mark_processed(db, self.group, wanted)
            if fresh:
                self.handler.handle(db, fresh)
            self.consumer.commit_in_transaction(db, deliveries)
        return fresh

    def _apply_waiting(self, deliveries: Sequence[Delivery]) -> list[Event]:
        """`_apply`, retried whole while the handler's store is down, pausing longer each time
        (up to MAX_WAIT_SECONDS). Stopping meanwhile leaves the batch uncommitted: it is
        delivered again."""
        pause = 0.5
        while True:
            try:
                return self._apply(deliveries)
            except DependencyDown as exc:
                WAITED.labels(self.group).inc()
                log.warning("dependency_down", group=self.group, error=str(exc), retry_in=pause)
                if self.stopping.wait(pause):
                    raise LeaseLost(f"{self.group} stopped while waiting for its store") from exc
                pause = min(pause * 2, MAX_WAIT_SECONDS)

    def _dead_letter(self, delivery: Delivery, error: BaseException) -> None:
        record = delivery.record
        detail = "".join(traceback.format_exception(error))[-8000:]
        with self.database.transaction() as db:
            db.add(
                DeadLetter(
                    group_name=self.group,
                    event_id=record.event_id,
                    event_type=record.type,
                    attempts=self.retry.attempts,
                    error=detail,
                )
            )
            # Marked, so a redelivery does not fail again: `dlq replay` applies it.
            db.execute(
                insert(ProcessedEvent).values(group_name=self.group, event_id=record.event_id).on_conflict_do_nothing()
            )
            self.consumer.commit_in_transaction(db, [delivery])
        DEAD.labels(self.group).inc()
        log.error(
            "event_dead_lettered",
            group=self.group,
            event_id=str(record.event_id),
            type=record.type,
            error=str(error),
        )

    def _apply_one_by_one(self, deliveries: Sequence[Delivery]) -> list[Event]:
        applied: list[Event] = []
        for delivery in deliveries:
            for attempt in range(1, self.retry.attempts + 1):
                try:
                    applied.extend(self._apply_waiting([delivery]))
                    break
                except LeaseLost:
                    raise
                except Exception as exc:  # any failure is retried, then dead-lettered
                    FAILED.labels(self.group).inc()
                    log.warning(
                        "event_failed",
                        group=self.group,
                        event_id=str(delivery.record.event_id),
                        attempt=attempt,
                        error=str(exc),
                    )
                    if attempt == self.retry.attempts:
                        self._dead_letter(delivery, exc)
                    else:
                        time.sleep(self.retry.delay(attempt))
        return applied

    def run_once(self) -> int:
        """Poll one batch and apply it; return how many events were applied."""
        deliveries = self.consumer.poll(self.batch_size, self.poll_timeout)
        if not deliveries:
            return 0
        try:
            try:
                applied = self._apply_waiting(deliveries)
            except LeaseLost:
                raise
            except Exception as exc:  # find the poison event(s) one by one
                log.warning("batch_failed", group=self.group, size=len(deliveries), error=str(exc))
                applied = self._apply_one_by_one(deliveries)
        except LeaseLost as exc:
            log.warning("lease_lost", group=self.group, detail=str(exc))
            return 0
        self.consumer.commit_after(deliveries)
        if applied:
            PROCESSED.labels(self.group).inc(len(applied))
            self.handler.after_commit(applied)
        return len(applied)

    def drain(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply batches until the group has nothing left to read, for one-off runs (evaluation,
        benchmarks) rather than a service; returns how many events were applied."""
        done = 0
        while True:
            applied = self.run_once()
            done += applied
            if applied and progress is not None:
                progress(done)
            if applied == 0 and sum(self.consumer.lag().values()) == 0:
                return done

    def run(self, stop: threading.Event) -> None:
        log.info("consumer_started", group=self.group, member=self.consumer.member)
        self.stopping = stop  # a wait for a store that is down ends when the worker stops
        lag_measured = 0.0
        try:
            while not stop.is_set():
                try:
                    self.run_once()
                    # Measured here, in the consumer's own thread: broker clients are not thread-safe.
                    if time.monotonic() - lag_measured > self.lag_interval:
                        record_lag(self.database, self.consumer)
                        lag_measured = time.monotonic()
                except Exception as exc:  # a broken poll (database restart) must not kill the worker
                    log.exception("consumer_error", group=self.group, error=str(exc))
                    stop.wait(1.0)
        finally:
            self.consumer.close()
            log.info("consumer_stopped", group=self.group, member=self.consumer.member)
