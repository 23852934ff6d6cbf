"""Backfills and verifications started from the admin page: each one a `migration_jobs` row, run
in a background thread of the API process that writes its progress and a heartbeat to the row.

Every process shows the same rows. A job whose process died stops beating: once its heartbeat is
older than `STALE_SECONDS` it shows as interrupted (and is marked so when the next job of its kind
starts). Starting a backfill again continues after the checkpoints the interrupted one left; a
second job of a kind while one is running is refused (409). A job is its own transaction
boundary, like a CLI command: the row is committed before its thread starts.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from veri.errors import Conflict, Forbidden
from veri.migration.documents import AGGREGATES
from veri.migration.service import backfill, rows_of, verify
from veri.models.base import utcnow
from veri.models.migration import MigrationJob

if TYPE_CHECKING:
    from veri.db.engine import Database
    from veri.identity.principal import Principal
    from veri.migration.store import DocumentStore

__all__ = [
    "HEARTBEAT_SECONDS",
    "STALE_SECONDS",
    "JobIn",
    "JobOut",
    "job_out",
    "recent_jobs",
    "start_job",
    "wait_for",
]

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 30.0  # no heartbeat for this long: the process running the job is gone

AggregateName = Literal["creators", "campaigns", "threads", "memories"]
# One advisory lock per kind: two requests starting the same kind at once cannot both pass the check.
_LOCKS = {"backfill": 0x7645_7269_0001, "verify": 0x7645_7269_0002}
_threads: dict[uuid.UUID, threading.Thread] = {}


class JobIn(BaseModel):
    """A backfill or verification of one aggregate (or all of them, `aggregate` left out) for a
    cohort of creators (percent, the migration's stable hashing)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["backfill", "verify"]
    aggregate: AggregateName | None = None
    cohort: Annotated[float, Field(ge=0.1, le=100)] = 100.0
    repair: bool = False  # verify: write missing and differing documents again from Postgres
    page: Annotated[int, Field(ge=1, le=10_000)] = 500  # backfill: rows per page (a checkpoint each)
    pause: Annotated[float, Field(ge=0, le=60)] = 0.0  # backfill: seconds between pages (throttle)

    @model_validator(mode="after")
    def _repair_only_verifies(self) -> JobIn:
        if self.repair and self.kind != "verify":
            raise ValueError("repair: only a verification repairs")
        return self


class JobOut(BaseModel):
    id: uuid.UUID
    kind: str
    aggregate: str | None
    cohort: float
    repair: bool
    status: str  # running | done | failed | interrupted
    progress: int
    total: int  # what `progress` counts up to (rows for a backfill, aggregates for a verification)
    unit: str
    result: dict[str, Any]
    error: str
    started_by: str
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None


def _is_stale(job: MigrationJob, now: datetime) -> bool:
    return job.status == "running" and job.heartbeat_at < now - timedelta(seconds=STALE_SECONDS)


def job_out(job: MigrationJob, now: datetime | None = None) -> JobOut:
    """The job as every page shows it: a running job without a recent heartbeat is interrupted."""
    result = dict(job.result or {})
    return JobOut(
        id=job.id,
        kind=job.kind,
        aggregate=job.aggregate,
        cohort=job.cohort,
        repair=job.repair,
        status="interrupted" if _is_stale(job, now or utcnow()) else job.status,
        progress=job.progress,
        total=int(result.get("total", 0)),
        unit=str(result.get("unit", "rows")),
        result=result,
        error=job.error,
        started_by=job.started_by,
        started_at=job.started_at,
        heartbeat_at=job.heartbeat_at,
        finished_at=job.finished_at,
    )


def recent_jobs(db: Session, limit: int = 10) -> list[JobOut]:
    now = utcnow()
    rows = db.scalars(select(MigrationJob).order_by(MigrationJob.started_at.desc()).limit(limit))
    return [job_out(job, now) for job in rows]


def _mark_interrupted(db: Session, kind: str) -> None:
    cutoff = utcnow() - timedelta(seconds=STALE_SECONDS)
    db.execute(
        update(MigrationJob)
        .where(MigrationJob.kind == kind, MigrationJob.status == "running", MigrationJob.heartbeat_at < cutoff)
        .values(status="interrupted", error="the process running it stopped (no heartbeat)")
    )


def start_job(database: Database, store: DocumentStore | None, *, principal: Principal, data: JobIn) -> JobOut:
    """Record the job and run it in a background thread; 409 when no MongoDB is configured or
    a job of the same kind is running."""
    if not principal.is_admin:
        raise Forbidden("only an admin starts a backfill or a verification")
    if store is None:
        raise Conflict(
            "no MongoDB is configured: start Veri with `make run MONGO=1` (or set VERI_MONGO_URL)",
            detail=[{"field": "kind", "reason": "the migration needs a document store"}],
        )
    with database.transaction() as db:
        db.execute(select(func.pg_advisory_xact_lock(_LOCKS[data.kind])))
        _mark_interrupted(db, data.kind)
        running = db.scalar(
            select(MigrationJob).where(MigrationJob.kind == data.kind, MigrationJob.status == "running")
        )
        if running is not None:
            raise Conflict(
                f"a {data.kind} is already running (started by {running.started_by} at "
                f"{running.started_at:%H:%M:%S}, {running.progress} done): wait for it to finish",
                detail=[{"field": "kind", "reason": f"one {data.kind} at a time"}],
            )
        names: list[str] = [data.aggregate] if data.aggregate else [a.name for a in AGGREGATES]
        job = MigrationJob(
            kind=data.kind,
            aggregate=data.aggregate,
            cohort=data.cohort,
            repair=data.repair,
            status="running",
            progress=0,
            result={
                "unit": "aggregates" if data.kind == "verify" else "rows",
                "total": len(names) if data.kind == "verify" else sum(rows_of(database, n) for n in names),
                "aggregates": names,
            },
            error="",
            started_by=principal.user.email[:80],
        )
        db.add(job)
        db.flush()
        snapshot = job_out(job)
    for finished in [key for key, t in _threads.items() if not t.is_alive()]:
        _threads.pop(finished, None)
    thread = threading.Thread(
        target=_run, args=(database, store, snapshot.id, data), name=f"migration-{data.kind}", daemon=True
    )
    _threads[snapshot.id] = thread
    thread.start()
    log.info("migration_job_started", job=str(snapshot.id), kind=data.kind, aggregate=data.aggregate)
    return snapshot


def wait_for(job_id: uuid.UUID, timeout: float = 60.0) -> bool:
    """Until the job started in this process has finished (tests, benchmarks); False on timeout."""
    thread = _threads.get(job_id)
    if thread is None:
        return True
    thread.join(timeout)
    if thread.is_alive():
        return False
    _threads.pop(job_id, None)
    return True


# -- the job's thread ---------------------------------------------------------------------------


def _write(database: Database, job_id: uuid.UUID, **values: Any) -> None:
    """Update a running job (a finished one is never written again)."""
    with database.transaction() as db:
        db.execute(
            update(MigrationJob)
            .where(MigrationJob.id == job_id, MigrationJob.status == "running")
            .values(heartbeat_at=utcnow(), **values)
        )


def _beat(database: Database, job_id: uuid.UUID, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            _write(database, job_id)
        except Exception as exc:  # the database away for a moment: the next beat tries again
            log.warning("migration_job_heartbeat_failed", job=str(job_id), error=str(exc))


def _run(database: Database, store: DocumentStore, job_id: uuid.UUID, data: JobIn) -> None:
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(database, job_id, stop), name="migration-heartbeat", daemon=True)
    beat.start()
    names: list[str] = [data.aggregate] if data.aggregate else [a.name for a in AGGREGATES]
    try:
        if data.kind == "backfill":
            result = _backfill(database, store, job_id, data, names)
        else:
            result = _verify(database, store, job_id, data, names)
    except Exception as exc:  # recorded on the job for the operator, and logged with its trace
        log.exception("migration_job_failed", job=str(job_id), kind=data.kind)
        stop.set()
        beat.join()
        _write(database, job_id, status="failed", error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=utcnow())
        return
    stop.set()
    beat.join()
    _write(database, job_id, status="done", result=result, finished_at=utcnow())
    log.info("migration_job_done", job=str(job_id), kind=data.kind)


def _backfill(
    database: Database, store: DocumentStore, job_id: uuid.UUID, data: JobIn, names: list[str]
) -> dict[str, Any]:
    total = sum(rows_of(database, name) for name in names)
    done: list[dict[str, Any]] = []
    read = 0
    last_write = 0.0

    def progress(rows: int, current: str) -> None:
        nonlocal read, last_write
        read += rows
        if time.monotonic() - last_write >= 0.2:  # at most five writes a second, whatever the page
            last_write = time.monotonic()
            _write(database, job_id, progress=read, result=_partial(total, names, done, current))

    def counting(current: str) -> Callable[[int], None]:
        return lambda rows: progress(rows, current)

    for name in names:
        _write(database, job_id, progress=read, result=_partial(total, names, done, name))
        outcome = backfill(
            database,
            store,
            name,
            cohort=data.cohort,
            page=data.page,
            pause=data.pause,
            progress=counting(name),
        )
        done.append(outcome.as_dict())
    _write(database, job_id, progress=read)
    return {**_partial(total, names, done, None), "copied": sum(d["copied"] for d in done)}


def _partial(total: int, names: list[str], done: list[dict[str, Any]], current: str | None) -> dict[str, Any]:
    return {"unit": "rows", "total": total, "aggregates": names, "done": list(done), "current": current}


def _verify(
    database: Database, store: DocumentStore, job_id: uuid.UUID, data: JobIn, names: list[str]
) -> dict[str, Any]:
    done: list[dict[str, Any]] = []
    for name in names:
        state = {"unit": "aggregates", "total": len(names), "aggregates": names, "done": list(done), "current": name}
        _write(database, job_id, progress=len(done), result=state)
        done.append(verify(database, store, name, cohort=data.cohort, repair=data.repair).as_dict())
    _write(database, job_id, progress=len(done))
    return {
        "unit": "aggregates",
        "total": len(names),
        "aggregates": names,
        "done": done,
        "current": None,
        "mismatches": sum(d["mismatches"] for d in done),
        "repaired": sum(d["repaired"] for d in done),
    }
