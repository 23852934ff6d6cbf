"""Dual-write (migration phase 2) as the `mongo` consumer group, never a second write in the
request: for each document an event touched, its current state is read from Postgres and written
with `_v` = the event's outbox position, only over an older version. So redeliveries and replays
never take a document back, and the backfill (which only inserts what is missing) never loses an
update to it, whatever the interleaving. A document Postgres no longer has is deleted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from prometheus_client import Counter
from sqlalchemy.orm import Session

from veri.events.envelope import Event
from veri.flags import Flag, is_enabled
from veri.migration.documents import AGGREGATES
from veri.migration.store import DocumentStore

__all__ = ["MongoReplicator"]

WRITTEN = Counter(
    "veri_mongo_documents_written_total", "Documents dual-write wrote to MongoDB", ["collection", "result"]
)


class MongoReplicator:
    group = "mongo"
    types = frozenset().union(*(a.types for a in AGGREGATES))

    def __init__(self, store: DocumentStore):
        self.store = store

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        for aggregate in AGGREGATES:
            newest: dict[uuid.UUID, int] = {}
            for event in events:
                if event.type not in aggregate.types:
                    continue
                for key, subject in aggregate.touched(event):
                    if is_enabled(Flag.USE_MONGO, subject=subject):
                        newest[key] = max(newest.get(key, 0), event.position)
            if not newest:
                continue
            documents = aggregate.documents(db, list(newest))
            batch = [(key, newest[uuid.UUID(key)], doc) for key, doc in documents.items()]
            # Mongo down raises DocumentStoreUnavailable: the consumer waits and retries the
            # batch (nothing dead-lettered for an outage); a document Mongo rejects raises
            # anything else and goes to the dead letters with the reason. Postgres, the system
            # of record, is untouched either way.
            written = self.store.put_many(aggregate.name, batch)
            gone = [str(key) for key in newest if str(key) not in documents]
            for doc_id in gone:
                self.store.delete(aggregate.name, doc_id)
            WRITTEN.labels(aggregate.name, "written").inc(written)
            WRITTEN.labels(aggregate.name, "not newer").inc(len(batch) - written)
            WRITTEN.labels(aggregate.name, "deleted").inc(len(gone))

    def after_commit(self, events: Sequence[Event]) -> None:
        return None

    def reset(self, db: Session) -> None:
        """Nothing to delete: a replay writes each document again, only over older versions."""
        return None
