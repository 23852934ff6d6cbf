"""Backfill (copy what existed before dual-write, resumable, throttled) and verification (counts
and per-document hashes, mismatches by id, repair on request)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.flags import Flag, bucket_of
from veri.migration.documents import creator_documents, fingerprint
from veri.migration.store import DocumentStore
from veri.models.base import utcnow
from veri.models.creators import Creator
from veri.models.migration import BackfillCheckpoint, Verification

__all__ = ["BackfillResult", "VerifyResult", "backfill", "verified_cohort", "verify"]


def _in_cohort(creator_id: uuid.UUID, cohort: float) -> bool:
    return cohort >= 100 or bucket_of(Flag.USE_MONGO, creator_id) < cohort


@dataclass
class BackfillResult:
    aggregate: str
    cohort: float
    read: int = 0
    copied: int = 0
    resumed_after: str = ""
    done: bool = False


def backfill(
    database: Database,
    store: DocumentStore,
    *,
    cohort: float = 100.0,
    page: int = 500,
    pause: float = 0.0,
    progress: Callable[[int], None] | None = None,
    max_pages: int | None = None,
) -> BackfillResult:
    """Copy the creators of `cohort` (percent, by the migration's stable hashing) that Mongo lacks,
    a page at a time after the last checkpoint; `pause` seconds between pages throttle it;
    `max_pages` stops early (as a crash would). Safe beside dual-write: it only inserts."""
    with database.transaction() as db:
        mark = db.get(BackfillCheckpoint, ("creators", cohort))
        if mark is None:
            mark = BackfillCheckpoint(aggregate="creators", cohort=cohort, last_id="", copied=0, done=False)
            db.add(mark)
        last, result = mark.last_id, BackfillResult("creators", cohort, resumed_after=mark.last_id)
    pages = 0
    while max_pages is None or pages < max_pages:
        with database.sessions() as db:
            query = select(Creator.id).order_by(Creator.id).limit(page)
            if last:
                query = query.where(Creator.id > uuid.UUID(last))
            ids = list(db.scalars(query))
            if not ids:
                break
            chosen = [i for i in ids if _in_cohort(i, cohort)]
            docs = list(creator_documents(db, chosen).values())
        copied = store.insert_missing("creators", [{**d, "_v": 0} for d in docs])
        last = str(ids[-1])
        result.read += len(ids)
        result.copied += copied
        with database.transaction() as db:
            _checkpoint(db, cohort, last, copied, done=False)
        pages += 1
        if progress is not None:
            progress(len(ids))
        if pause:
            time.sleep(pause)
    else:
        return result
    with database.transaction() as db:
        _checkpoint(db, cohort, last, 0, done=True)
    result.done = True
    return result


def _checkpoint(db: Session, cohort: float, last: str, copied: int, *, done: bool) -> None:
    stmt = insert(BackfillCheckpoint).values(
        aggregate="creators", cohort=cohort, last_id=last, copied=copied, done=done, updated_at=utcnow()
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
        }


def verify(
    database: Database, store: DocumentStore, *, cohort: float = 100.0, repair: bool = False, page: int = 500
) -> VerifyResult:
    """Compare every creator of `cohort` in Postgres with Mongo's copy: ids both ways and a hash of
    each document. With `repair`, missing and differing documents are written again from Postgres
    (keeping their `_v`, so newer dual-writes still land) and those Postgres no longer has are
    deleted. The result is recorded."""
    result = VerifyResult("creators", cohort)
    with database.sessions() as db:
        ids = [i for i in db.scalars(select(Creator.id).order_by(Creator.id)) if _in_cohort(i, cohort)]
    in_mongo = {i for i in store.ids("creators") if _in_cohort(uuid.UUID(i), cohort)}
    result.extra = sorted(in_mongo - {str(i) for i in ids})
    if repair:
        for key in result.extra:  # gone from the system of record
            store.delete("creators", key)
            result.repaired += 1
    for start in range(0, len(ids), page):
        chunk = ids[start : start + page]
        with database.sessions() as db:
            expected = creator_documents(db, chunk)
        stored = store.get_many("creators", expected)
        for key, doc in expected.items():
            result.checked += 1
            if key not in stored:
                result.missing.append(key)
            elif fingerprint(stored[key]) != fingerprint(doc):
                result.differ.append(key)
            else:
                continue
            if repair:
                store.rewrite("creators", key, doc)
                result.repaired += 1
    with database.transaction() as db:
        db.add(
            Verification(
                aggregate="creators",
                cohort=cohort,
                checked=result.checked,
                mismatches=result.mismatches,
                details=result.as_dict(),
                repaired=result.repaired,
            )
        )
    return result


def verified_cohort(db: Session) -> float:
    """The largest cohort whose latest verification found no mismatch (0 without one)."""
    latest: dict[float, Verification] = {}
    for v in db.scalars(select(Verification).where(Verification.aggregate == "creators").order_by(Verification.id)):
        latest[v.cohort] = v
    return max((c for c, v in latest.items() if v.mismatches == 0), default=0.0)
