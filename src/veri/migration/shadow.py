"""Shadow reads and per-path cutover (GitHub's Scientist pattern).

A read path asks `DocumentReads.read(db, path, key, subject)` for a document. Which store answers:

- Postgres (the system of record) unless READ_FROM_MONGO serves `subject` *and* the path has
  passed its trial: `cutover_reads` comparisons in a row without a mismatch. A path that later
  mismatches falls back to Postgres by itself.
- With READ_FROM_MONGO's `shadow` on, every read of a creator USE_MONGO covers is also done on
  the other store and compared, off the response path: the comparison goes to a bounded queue
  that one background thread drains (a full queue skips, never delays). A difference is checked
  again after `recheck_seconds`: when both stores then agree it was dual-write's lag ("lagged"),
  otherwise a mismatch, recorded with the document's id.
- Mongo unreachable while serving: the read falls back to Postgres ("fallback").

Counts and both latencies go to /metrics (`veri_shadow_*`) and to `shadow_paths` /
`shadow_minutes`, which the admin page charts and the cutover prerequisite reads. Postgres stays
the system of record: rolling back is READ_FROM_MONGO off, and nothing was ever written to Mongo
by a read.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.events.handlers import DependencyDown
from veri.flags import Flag, is_enabled, rules_now
from veri.migration.documents import Document, aggregate_named, fingerprint
from veri.migration.store import DocumentStore
from veri.models.base import utcnow
from veri.models.migration import ShadowMinute, ShadowPath

__all__ = ["READ_PATHS", "DocumentReads", "path_readiness", "reset_trial"]

log = structlog.get_logger(__name__)

# The read paths that may move to Mongo, and the aggregate each one reads.
READ_PATHS: dict[str, str] = {
    "creator_profile": "creators",  # GET /api/v1/creators/{id}
    "deal_messages": "threads",  # GET /api/v1/deals/{id}/messages
}

READS = Counter("veri_shadow_reads_total", "Shadow comparisons of a read path by result", ["path", "result"])
LATENCY = Histogram(
    "veri_shadow_read_seconds",
    "A read path's document read, by store",
    ["path", "store"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
SERVED = Counter(
    "veri_read_path_served_total", "Reads of a migrating path by the store that answered", ["path", "store"]
)


@dataclass(frozen=True)
class _Comparison:
    path: str
    key: uuid.UUID
    served_by: str  # the store that answered the request
    served: Document | None
    served_ms: float


def path_readiness(db: Session, needed: int) -> dict[str, tuple[int, bool]]:
    """Each read path's clean streak and whether it reached `needed` (ready for cutover)."""
    streaks = {p.path: p.clean_streak for p in db.scalars(select(ShadowPath))}
    return {path: (streaks.get(path, 0), streaks.get(path, 0) >= needed) for path in READ_PATHS}


class DocumentReads:
    def __init__(
        self,
        database: Database,
        store: DocumentStore | None,
        *,
        cutover_reads: int = 200,
        recheck_seconds: float = 1.0,
        queue_size: int = 1000,
    ):
        self.database = database
        self.store = store
        self.cutover_reads = cutover_reads
        self.recheck_seconds = recheck_seconds
        self._queue: queue.Queue[_Comparison | None] = queue.Queue(maxsize=queue_size)
        self._ready: dict[str, bool] = {}
        self._ready_at = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- the response path -----------------------------------------------------------------

    def read(self, db: Session, path: str, key: uuid.UUID, subject: uuid.UUID) -> Document | None:
        """`path`'s document `key` (None when there is none), from the store that serves
        `subject`, shadow-compared when READ_FROM_MONGO's shadow is on."""
        collection = READ_PATHS[path]
        compare = self.store is not None and self._shadowing(subject)
        if self.store is not None and is_enabled(Flag.READ_FROM_MONGO, subject=subject) and self._is_ready(path):
            started = time.perf_counter()
            try:
                doc = self.store.get(collection, str(key))
            except DependencyDown as exc:
                READS.labels(path, "fallback").inc()
                log.warning("read_path_fallback", path=path, error=str(exc))
            else:
                took = time.perf_counter() - started
                LATENCY.labels(path, "mongo").observe(took)
                SERVED.labels(path, "mongo").inc()
                if compare:
                    self._enqueue(_Comparison(path, key, "mongo", doc, took * 1000))
                return _public(doc)
        started = time.perf_counter()
        doc = aggregate_named(collection).documents(db, [key]).get(str(key))
        took = time.perf_counter() - started
        LATENCY.labels(path, "postgres").observe(took)
        SERVED.labels(path, "postgres").inc()
        if compare:
            self._enqueue(_Comparison(path, key, "postgres", doc, took * 1000))
        return doc

    def _shadowing(self, subject: uuid.UUID) -> bool:
        rule = rules_now().get(Flag.READ_FROM_MONGO)
        return rule is not None and rule.shadow and not rule.kill and is_enabled(Flag.USE_MONGO, subject=subject)

    def _is_ready(self, path: str) -> bool:
        """Whether `path` passed its trial (read from the database at most twice a second)."""
        if time.monotonic() - self._ready_at > 0.5:
            try:
                with self.database.sessions() as db:
                    self._ready = {p: ok for p, (_, ok) in path_readiness(db, self.cutover_reads).items()}
            except Exception as exc:  # the database away: keep the last answer
                log.warning("read_path_readiness_unknown", error=str(exc))
            self._ready_at = time.monotonic()
        return self._ready.get(path, False)

    def _enqueue(self, comparison: _Comparison) -> None:
        self._start()
        try:
            self._queue.put_nowait(comparison)
        except queue.Full:
            READS.labels(comparison.path, "skipped").inc()

    # -- the background comparison ----------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain, name="shadow-reads", daemon=True)
                self._thread.start()

    def _drain(self) -> None:
        """Compare what the queue holds and record the results in one transaction per batch: a
        write per comparison would cost the requests being shadowed more than the comparison."""
        tally = _Tally()
        while True:
            try:
                comparison: _Comparison | None = self._queue.get(timeout=_FLUSH_SECONDS)
                stopping = comparison is None
            except queue.Empty:  # nothing came: a chance to flush
                comparison, stopping = None, False
            if comparison is not None:
                try:
                    tally.add(comparison.path, comparison.key, *self._compare(comparison))
                except Exception as exc:  # a comparison that cannot run is not a mismatch
                    READS.labels(comparison.path, "error").inc()
                    log.warning("shadow_read_failed", path=comparison.path, error=str(exc))
                    tally.pending += 1
            if tally.pending and (stopping or tally.due()):
                self._flush(tally)
            if stopping:
                self._queue.task_done()
                return

    def _flush(self, tally: _Tally) -> None:
        try:
            with self.database.transaction() as db:
                for path, counts in tally.paths.items():
                    _record(db, path, counts)
        except Exception as exc:  # the database away: these counts are lost, mismatches were logged
            log.warning("shadow_record_failed", error=str(exc), reads=tally.pending)
        for _ in range(tally.pending):
            self._queue.task_done()
        tally.clear()

    def _postgres(self, path: str, key: uuid.UUID) -> Document | None:
        with self.database.sessions() as db:
            return aggregate_named(READ_PATHS[path]).documents(db, [key]).get(str(key))

    def _mongo(self, path: str, key: uuid.UUID) -> Document | None:
        assert self.store is not None
        return self.store.get(READ_PATHS[path], str(key))

    def _compare(self, comparison: _Comparison) -> tuple[str, float, float]:
        """The comparison's result ("match", "lagged", "mismatch") and both stores' times in ms."""
        path, key = comparison.path, comparison.key
        started = time.perf_counter()
        other = self._mongo(path, key) if comparison.served_by == "postgres" else self._postgres(path, key)
        other_ms = (time.perf_counter() - started) * 1000
        result = "match"
        if _hash(comparison.served) != _hash(other):
            # Dual-write may not have caught up yet: ask both stores again a little later.
            time.sleep(self.recheck_seconds)
            result = "lagged" if _hash(self._postgres(path, key)) == _hash(self._mongo(path, key)) else "mismatch"
        if comparison.served_by == "postgres":
            postgres_ms, mongo_ms = comparison.served_ms, other_ms
        else:
            postgres_ms, mongo_ms = other_ms, comparison.served_ms
        READS.labels(path, result).inc()
        LATENCY.labels(path, "mongo" if comparison.served_by == "postgres" else "postgres").observe(other_ms / 1000)
        if result == "mismatch":
            log.warning("shadow_mismatch", path=path, key=str(key))
        return result, postgres_ms, mongo_ms

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until every queued comparison is recorded (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(5)
            self._thread = None
        if self.store is not None:
            self.store.close()


# Comparisons are recorded together, in one transaction, at most this long after the first of
# them: at 40 reads/s that is one write for 20 comparisons instead of 20.
_FLUSH_SECONDS = 0.5


@dataclass
class _PathCounts:
    reads: int = 0
    mismatches: int = 0
    lagged: int = 0
    clean_tail: int = 0  # reads since the batch's last mismatch (all of them when none)
    last_mismatch_key: str | None = None
    last_mismatch_at: datetime | None = None
    minutes: dict[datetime, _MinuteCounts] = field(default_factory=dict)


@dataclass
class _MinuteCounts:
    reads: int = 0
    mismatches: int = 0
    lagged: int = 0
    postgres_ms: float = 0.0  # sums; the page divides by reads
    mongo_ms: float = 0.0
    postgres_max_ms: float = 0.0
    mongo_max_ms: float = 0.0


class _Tally:
    """The comparisons done since the last flush, summed per path and per minute."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.paths: dict[str, _PathCounts] = {}
        self.pending = 0  # queue items the next flush acknowledges
        self.started = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.started >= _FLUSH_SECONDS

    def add(self, path: str, key: uuid.UUID, result: str, postgres_ms: float, mongo_ms: float) -> None:
        if not self.pending:
            self.started = time.monotonic()
        self.pending += 1
        now = utcnow()
        counts = self.paths.setdefault(path, _PathCounts())
        mismatch, lagged = int(result == "mismatch"), int(result == "lagged")
        counts.reads += 1
        counts.mismatches += mismatch
        counts.lagged += lagged
        counts.clean_tail = 0 if mismatch else counts.clean_tail + 1
        if mismatch:
            counts.last_mismatch_key, counts.last_mismatch_at = str(key), now
        minute = counts.minutes.setdefault(now.replace(second=0, microsecond=0), _MinuteCounts())
        minute.reads += 1
        minute.mismatches += mismatch
        minute.lagged += lagged
        minute.postgres_ms += postgres_ms
        minute.mongo_ms += mongo_ms
        minute.postgres_max_ms = max(minute.postgres_max_ms, postgres_ms)
        minute.mongo_max_ms = max(minute.mongo_max_ms, mongo_ms)


def _record(db: Session, path: str, counts: _PathCounts) -> None:
    for minute, m in counts.minutes.items():
        row = insert(ShadowMinute).values(
            path=path,
            minute=minute,
            reads=m.reads,
            mismatches=m.mismatches,
            lagged=m.lagged,
            postgres_ms=m.postgres_ms,
            mongo_ms=m.mongo_ms,
            postgres_max_ms=m.postgres_max_ms,
            mongo_max_ms=m.mongo_max_ms,
        )
        db.execute(
            row.on_conflict_do_update(
                index_elements=[ShadowMinute.path, ShadowMinute.minute],
                set_={
                    "reads": ShadowMinute.reads + m.reads,
                    "mismatches": ShadowMinute.mismatches + m.mismatches,
                    "lagged": ShadowMinute.lagged + m.lagged,
                    "postgres_ms": ShadowMinute.postgres_ms + m.postgres_ms,
                    "mongo_ms": ShadowMinute.mongo_ms + m.mongo_ms,
                    "postgres_max_ms": _greatest(ShadowMinute.postgres_max_ms, m.postgres_max_ms),
                    "mongo_max_ms": _greatest(ShadowMinute.mongo_max_ms, m.mongo_max_ms),
                },
            )
        )
    mismatched = counts.mismatches > 0
    now = utcnow()
    row = insert(ShadowPath).values(
        path=path,
        reads=counts.reads,
        mismatches=counts.mismatches,
        lagged=counts.lagged,
        clean_streak=counts.clean_tail,
        last_mismatch_key=counts.last_mismatch_key,
        last_mismatch_at=counts.last_mismatch_at,
        updated_at=now,
    )
    db.execute(
        row.on_conflict_do_update(
            index_elements=[ShadowPath.path],
            set_={
                "reads": ShadowPath.reads + counts.reads,
                "mismatches": ShadowPath.mismatches + counts.mismatches,
                "lagged": ShadowPath.lagged + counts.lagged,
                # A mismatch in the batch restarts the streak from the reads after it.
                "clean_streak": counts.clean_tail if mismatched else ShadowPath.clean_streak + counts.reads,
                "last_mismatch_key": counts.last_mismatch_key if mismatched else ShadowPath.last_mismatch_key,
                "last_mismatch_at": counts.last_mismatch_at if mismatched else ShadowPath.last_mismatch_at,
                "updated_at": now,
            },
        )
    )


def _greatest(column: Any, value: float) -> Any:
    return func.greatest(column, value)


def _hash(doc: Document | None) -> str | None:
    return fingerprint(doc) if doc is not None else None


def _public(doc: Document | None) -> Document | None:
    """Mongo's document without the store's own fields."""
    return {k: v for k, v in doc.items() if k != "_v"} if doc is not None else None


def reset_trial(db: Session) -> None:
    """Start every path's trial again (after a repair, say): the streaks go back to zero."""
    db.execute(update(ShadowPath).values(clean_streak=0))
