"""Backfill (copy what existed before dual-write, resumable, throttled) and verification (counts
and per-document hashes, mismatches by id, repair on request)."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.flags import Flag, bucket_of
from veri.migration.documents import AGGREGATES, aggregate_named, fingerprint
from veri.migration.store import DocumentStore
from veri.models.base import utcnow
from veri.models.migration import BackfillCheckpoint, Verification

__all__ = ["BackfillResult", "VerifyResult", "backfill", "rows_of", "verified_cohort", "verify"]


def _in_cohort(subject: uuid.UUID, cohort: float) -> bool:
    return cohort >= 100 or bucket_of(Flag.USE_MONGO, subject) < cohort


@dataclass
class BackfillResult:
    aggregate: str
    cohort: float
    read: int = 0
    copied: int = 0
    resumed_after: str = ""
    done: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "aggregate": self.aggregate,
            "cohort": self.cohort,
            "read": self.read,
            "copied": self.copied,
            "resumed_after": self.resumed_after,
            "done": self.done,
        }


def rows_of(database: Database, aggregate: str) -> int:
    """How many rows `aggregate` has in Postgres (a backfill's progress total)."""
    kind = aggregate_named(aggregate)
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(kind.id_column.class_)) or 0)


def backfill(
    database: Database,
    store: DocumentStore,
    aggregate: str = "creators",
    *,
    cohort: float = 100.0,
    page: int = 500,
    pause: float = 0.0,
    progress: Callable[[int], None] | None = None,
    max_pages: int | None = None,
) -> BackfillResult:
    """Copy the documents of `aggregate` in `cohort` (percent, by the migration's stable hashing)
    that Mongo lacks, a page at a time after the last checkpoint; `pause` seconds between pages
    throttle it; `max_pages` stops early (as a crash would). Safe beside dual-write: it only
    inserts."""
    kind = aggregate_named(aggregate)
    with database.transaction() as db:
        mark = db.get(BackfillCheckpoint, (kind.name, cohort))
        if mark is None:
            mark = BackfillCheckpoint(aggregate=kind.name, cohort=cohort, last_id="", copied=0, done=False)
            db.add(mark)
        last, result = mark.last_id, BackfillResult(kind.name, cohort, resumed_after=mark.last_id)
    pages = 0
    while max_pages is None or pages < max_pages:
        with database.sessions() as db:
            query = select(kind.id_column, kind.subject).order_by(kind.id_column).limit(page)
            if last:
                query = query.where(kind.id_column > uuid.UUID(last))
            rows = db.execute(query).all()
            if not rows:
                break
            chosen = [i for i, subject in rows if _in_cohort(subject, cohort)]
            docs = list(kind.documents(db, chosen).values())
        copied = store.insert_missing(kind.name, [{**d, "_v": 0} for d in docs])
        last = str(rows[-1][0])
        result.read += len(rows)
        result.copied += copied
        with database.transaction() as db:
            _checkpoint(db, kind.name, cohort, last, copied, done=False)
        pages += 1
        if progress is not None:
            progress(len(rows))
        if pause:
            time.sleep(pause)
    else:
        return result
    with database.transaction() as db:
        _checkpoint(db, kind.name, cohort, last, 0, done=True)
    result.done = True
    return result


def _checkpoint(db: Session, aggregate: str, cohort: float, last: str, copied: int, *, done: bool) -> None:
    stmt = insert(BackfillCheckpoint).values(
        aggregate=aggregate, cohort=cohort, last_id=last, copied=copied, done=done, updated_at=utcnow()
    )
    db.execute(
        stmt.on_conflict_do_update(
            index_elements=[BackfillCheckpoint.aggregate, BackfillCheckpoint.cohort],
            set_={
                "last_id": stmt.excluded.last_id,
                "copied": BackfillCheckpoint.copied + stmt.excluded.copied,
                "done": stmt.excluded.done,
                "updated_at": stmt.excluded.updated_at,
            },
        )
    )


@dataclass
class VerifyResult:
    aggregate: str
    cohort: float
    checked: int = 0
    missing: list[str] = field(default_factory=list)  # in Postgres, not in Mongo
    extra: list[str] = field(default_factory=list)  # in Mongo, not in Postgres
    differ: list[str] = field(default_factory=list)  # both, with other content
    repaired: int = 0
    sampled: bool = False

    @property
    def mismatches(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.differ)

    def as_dict(self) -> dict[str, Any]:
        return {
            "aggregate": self.aggregate,
            "cohort": self.cohort,
            "checked": self.checked,
            "mismatches": self.mismatches,
            "missing": self.missing[:100],
            "extra": self.extra[:100],
            "differ": self.differ[:100],
            "repaired": self.repaired,
            "sampled": self.sampled,
        }


def verify(
    database: Database,
    store: DocumentStore,
    aggregate: str = "creators",
    *,
    cohort: float = 100.0,
    repair: bool = False,
    sample: float = 1.0,
    page: int = 500,
) -> VerifyResult:
    """Compare every document of `aggregate` in `cohort` in Postgres with Mongo's copy: ids both
    ways and a hash of each document (of a random `sample` share of them when below 1; a sampled
    check finds drift, only a full one clears a cohort for reads). With `repair`, missing and
    differing documents are written again from Postgres (keeping their `_v`, so newer dual-writes
    still land) and those Postgres no longer has are deleted. The result is recorded."""
    kind = aggregate_named(aggregate)
    result = VerifyResult(kind.name, cohort, sampled=sample < 1)
    with database.sessions() as db:
        rows = db.execute(select(kind.id_column, kind.subject).order_by(kind.id_column)).all()
    ids = [i for i, subject in rows if _in_cohort(subject, cohort)]
    subjects = {str(i): subject for i, subject in rows}
    in_mongo = {i for i in store.ids(kind.name) if i not in subjects or _in_cohort(subjects[i], cohort)}
    # A document Postgres no longer has: in the cohort by its own id (its subject is gone with it).
    result.extra = sorted(i for i in in_mongo - set(subjects) if _in_cohort(uuid.UUID(i), cohort) or cohort >= 100)
    if repair:
        for key in result.extra:  # gone from the system of record
            store.delete(kind.name, key)
            result.repaired += 1
    if sample < 1:
        ids = [i for i in ids if random.random() < sample]
    for start in range(0, len(ids), page):
        chunk = ids[start : start + page]
        with database.sessions() as db:
            expected = kind.documents(db, chunk)
        stored = store.get_many(kind.name, expected)
        for key, doc in expected.items():
            result.checked += 1
            if key not in stored:
                result.missing.append(key)
            elif fingerprint(stored[key]) != fingerprint(doc):
                result.differ.append(key)
            else:
                continue
            if repair:
                store.rewrite(kind.name, key, doc)
                result.repaired += 1
    with database.transaction() as db:
        db.add(
            Verification(
                aggregate=kind.name,
                cohort=cohort,
                checked=result.checked,
                mismatches=result.mismatches,
                details=result.as_dict(),
                repaired=result.repaired,
                sampled=result.sampled,
            )
        )
    return result


def verified_cohort(db: Session, aggregate: str | None = None) -> float:
    """The largest cohort whose latest full verification of `aggregate` found no mismatch (0
    without one); without `aggregate`, the cohort verified for every aggregate."""
    if aggregate is None:
        return min(verified_cohort(db, a.name) for a in AGGREGATES)
    latest: dict[float, Verification] = {}
    for v in db.scalars(
        select(Verification)
        .where(Verification.aggregate == aggregate, Verification.sampled.is_(False))
        .order_by(Verification.id)
    ):
        latest[v.cohort] = v
    return max((c for c, v in latest.items() if v.mismatches == 0), default=0.0)
