"""The relay: publishes the outbox to the broker in commit order and remembers how far it got.
At least once: a crash between publishing and saving the cursor re-sends a batch, which the
consumers skip. One relay runs at a time (a PostgreSQL advisory lock)."""

from __future__ import annotations

import threading

import structlog
from prometheus_client import Counter
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert

from veri.db.engine import Database
from veri.events.bus.base import Bus
from veri.events.outbox import ORDERED_READS, Cursor, read_after
from veri.models.events import RelayCursor

__all__ = ["Relay", "get_cursor", "set_cursor"]

log = structlog.get_logger(__name__)
PUBLISHED = Counter("veri_relay_published_total", "Events the relay published to the broker")
RELAY_LOCK = 0x7665726952656C61  # "veriRela"


def get_cursor(database: Database, name: str = "kafka") -> Cursor:
    with database.transaction() as db:
        db.execute(insert(RelayCursor).values(name=name, txid=0, position=0, published=0).on_conflict_do_nothing())
        row = db.execute(select(RelayCursor.txid, RelayCursor.position).where(RelayCursor.name == name)).one()
    return (int(row[0]), int(row[1]))


def set_cursor(database: Database, cursor: Cursor, name: str = "kafka") -> None:
    """Move the relay (back, to republish; forward, to skip)."""
    get_cursor(database, name)
    with database.transaction() as db:
        db.execute(update(RelayCursor).where(RelayCursor.name == name).values(txid=cursor[0], position=cursor[1]))


class Relay:
    def __init__(self, database: Database, bus: Bus, *, batch_size: int = 5000, name: str = "kafka"):
        self.database = database
        self.bus = bus
        self.batch_size = batch_size
        self.name = name

    def run_once(self) -> int:
        cursor = get_cursor(self.database, self.name)
        with self.database.sessions() as db:
            db.execute(ORDERED_READS)
            records = read_after(db, cursor, limit=self.batch_size)
        if not records:
            return 0
        self.bus.publish(records)
        last = records[-1].cursor
        with self.database.transaction() as db:
            # Only if nobody moved the cursor meanwhile (a republish wins).
            db.execute(
                update(RelayCursor)
                .where(
                    RelayCursor.name == self.name,
                    RelayCursor.txid == cursor[0],
                    RelayCursor.position == cursor[1],
                )
                .values(txid=last[0], position=last[1], published=RelayCursor.published + len(records))
            )
        PUBLISHED.inc(len(records))
        return len(records)

    def run(self, stop: threading.Event, idle_wait: float = 0.1) -> None:
        with self.database.engine.connect() as lock_conn:
            while not stop.is_set() and not lock_conn.scalar(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": RELAY_LOCK}
            ):
                stop.wait(2.0)  # another relay runs; take over if it stops
            log.info("relay_started", bus=self.bus.name)
            backoff = 0.5
            while not stop.is_set():
                try:
                    if self.run_once() == 0:
                        stop.wait(idle_wait)
                    backoff = 0.5
                except Exception as exc:  # broker down: keep the outbox, retry later
                    log.warning("relay_publish_failed", error=str(exc), retry_in=backoff)
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
            lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": RELAY_LOCK})
            log.info("relay_stopped")
