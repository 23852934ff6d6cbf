"""Telling dual-write which memories changed. Memories are formed by the `memory` consumer group,
not by a request, so no event names them: while USE_MONGO covers a memory's creator, whatever
writes memories says so with a `memory.changed` event in its own transaction, and the `mongo`
group copies them. Nothing is emitted for creators outside the cohort (the backfill copies what
existed before), so the log does not grow while the migration is off."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from veri.events.service import emit
from veri.events.types import MemoryChanged
from veri.flags import Flag, is_enabled
from veri.models.memory import Memory

__all__ = ["announce", "announced"]

_MAX_IDS = 5_000  # MemoryChanged.memory_ids' limit


def announce(db: Session, changed: Iterable[tuple[uuid.UUID, uuid.UUID | None]]) -> int:
    """Emit `memory.changed` for these (memory, creator) pairs, one event per creator, for the
    creators USE_MONGO covers; returns how many memories were announced."""
    by_creator: dict[uuid.UUID | None, set[uuid.UUID]] = defaultdict(set)
    for memory_id, creator_id in changed:
        if is_enabled(Flag.USE_MONGO, subject=creator_id or memory_id):
            by_creator[creator_id].add(memory_id)
    for creator_id, ids in by_creator.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), _MAX_IDS):
            emit(
                db,
                MemoryChanged(creator_id=creator_id, memory_ids=ordered[start : start + _MAX_IDS]),
                subject=f"creator:{creator_id}" if creator_id else "memory",
                actor="system:memory",
            )
    return sum(len(ids) for ids in by_creator.values())


@contextmanager
def announced(db: Session) -> Iterator[None]:
    """Announce every memory the block adds or changes through `db` (raw SQL updates are not
    seen: their callers announce what they change)."""
    seen: dict[uuid.UUID, uuid.UUID | None] = {}

    def collect(session: Session, _context: Any) -> None:
        for obj in chain(session.new, session.dirty):
            if isinstance(obj, Memory) and obj.id is not None:
                seen[obj.id] = obj.creator_id

    event.listen(db, "after_flush", collect)
    try:
        yield
        db.flush()
    finally:
        event.remove(db, "after_flush", collect)
    announce(db, seen.items())
