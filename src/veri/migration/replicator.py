"""Dual-write (migration phase 2) as the `mongo` consumer group, never a second write in the
request: for each creator an event touched, the creator's current document is read from Postgres
and written with `_v` = the event's outbox position, only over an older version. So redeliveries
and replays never take a document back, and the backfill (which only inserts what is missing)
never loses an update to it, whatever the interleaving."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from prometheus_client import Counter
from sqlalchemy.orm import Session

from veri.events.envelope import Event
from veri.events.registry import REGISTRY
from veri.events.types import CreatorUpdated
from veri.flags import Flag, is_enabled
from veri.migration.documents import creator_documents
from veri.migration.store import DocumentStore

__all__ = ["MongoReplicator"]

WRITTEN = Counter(
    "veri_mongo_documents_written_total", "Documents dual-write wrote to MongoDB", ["collection", "result"]
)


class MongoReplicator:
    group = "mongo"
    types = REGISTRY.names_of(CreatorUpdated)

    def __init__(self, store: DocumentStore):
        self.store = store

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        newest: dict[uuid.UUID, int] = {}
        for event in events:
            creator_id = getattr(event.payload, "creator_id", None)
            if creator_id is not None and is_enabled(Flag.USE_MONGO, subject=creator_id):
                newest[creator_id] = max(newest.get(creator_id, 0), event.position)
        documents = creator_documents(db, list(newest))
        # Gone from Postgres since (no document): nothing to copy.
        batch = [(key, newest[uuid.UUID(key)], doc) for key, doc in documents.items()]
        # Mongo down raises here: the batch is retried with backoff, then dead-lettered and
        # replayable; Postgres, the system of record, is untouched either way.
        written = self.store.put_many("creators", batch)
        WRITTEN.labels("creators", "written").inc(written)
        WRITTEN.labels("creators", "not newer").inc(len(batch) - written)

    def after_commit(self, events: Sequence[Event]) -> None:
        return None

    def reset(self, db: Session) -> None:
        """Nothing to delete: a replay writes each document again, only over older versions."""
        return None
