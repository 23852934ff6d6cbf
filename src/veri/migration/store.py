"""The document store port and its MongoDB adapter (pymongo).

Every document carries `_v`, the outbox position of the event it was written for: a write only
lands when its `_v` is newer, so replays and redeliveries never take a document back. The
backfill only inserts documents that are missing, so it never overwrites what dual-write wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

__all__ = ["INDEXES", "DocumentStore", "MongoStore"]

# Indexes declared in code, created on start: collection -> [(field, unique)].
INDEXES: dict[str, list[tuple[str, bool]]] = {
    "creators": [("handle", True), ("niches", False)],
}


class DocumentStore(Protocol):
    def put(self, collection: str, doc_id: str, version: int, doc: dict[str, Any]) -> bool:
        """Write `doc` unless the stored one is as new or newer; True if it was written."""
        ...

    def put_many(self, collection: str, docs: Sequence[tuple[str, int, dict[str, Any]]]) -> int:
        """`put` for many (id, version, document) at once; the number written."""
        ...

    def insert_missing(self, collection: str, docs: Sequence[dict[str, Any]]) -> int:
        """Insert the documents that do not exist yet (by `_id`); the number inserted."""
        ...

    def rewrite(self, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
        """Write `doc`'s content, keeping the stored version (a repair: newer dual-writes still land)."""
        ...

    def delete(self, collection: str, doc_id: str) -> None: ...

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]: ...

    def ids(self, collection: str) -> set[str]: ...

    def ensure_indexes(self) -> None: ...


class MongoStore:
    def __init__(self, url: str, database: str, *, timeout_ms: int = 3000):
        self.client: MongoClient[dict[str, Any]] = MongoClient(
            url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, uuidRepresentation="standard"
        )
        self.db = self.client[database]

    def put(self, collection: str, doc_id: str, version: int, doc: dict[str, Any]) -> bool:
        body = {k: v for k, v in doc.items() if k != "_id"}
        try:
            result = self.db[collection].update_one(
                {"_id": doc_id, "$or": [{"_v": {"$lt": version}}, {"_v": {"$exists": False}}]},
                {"$set": {**body, "_v": version}},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # a newer version is there: the filter missed it and the upsert collided
        return bool(result.upserted_id is not None or result.modified_count)

    def put_many(self, collection: str, docs: Sequence[tuple[str, int, dict[str, Any]]]) -> int:
        if not docs:
            return 0
        operations = [
            UpdateOne(
                {"_id": doc_id, "$or": [{"_v": {"$lt": version}}, {"_v": {"$exists": False}}]},
                {"$set": {**{k: v for k, v in doc.items() if k != "_id"}, "_v": version}},
                upsert=True,
            )
            for doc_id, version, doc in docs
        ]
        try:
            result = self.db[collection].bulk_write(operations, ordered=False)
        except BulkWriteError as exc:
            # Duplicate keys are the documents already newer (the filter missed, the upsert
            # collided): not written, as wanted. Anything else is a real failure.
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            return int(exc.details.get("nUpserted", 0)) + int(exc.details.get("nModified", 0))
        return int(result.upserted_count + result.modified_count)

    def insert_missing(self, collection: str, docs: Sequence[dict[str, Any]]) -> int:
        if not docs:
            return 0
        operations = [
            UpdateOne({"_id": d["_id"]}, {"$setOnInsert": {k: v for k, v in d.items() if k != "_id"}}, upsert=True)
            for d in docs
        ]
        try:
            result = self.db[collection].bulk_write(operations, ordered=False)
        except BulkWriteError as exc:  # a concurrent insert of the same id: it is there, as wanted
            return int(exc.details.get("nUpserted", 0))
        return int(result.upserted_count)

    def rewrite(self, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
        body = {k: v for k, v in doc.items() if k not in ("_id", "_v")}
        self.db[collection].update_one({"_id": doc_id}, {"$set": body, "$setOnInsert": {"_v": 0}}, upsert=True)

    def delete(self, collection: str, doc_id: str) -> None:
        self.db[collection].delete_one({"_id": doc_id})

    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(ids)
        if not wanted:
            return {}
        return {d["_id"]: d for d in self.db[collection].find({"_id": {"$in": wanted}})}

    def ids(self, collection: str) -> set[str]:
        return {d["_id"] for d in self.db[collection].find({}, {"_id": 1})}

    def ensure_indexes(self) -> None:
        for collection, fields in INDEXES.items():
            for name, unique in fields:
                self.db[collection].create_index([(name, ASCENDING)], unique=unique, name=f"{collection}_{name}")

    def close(self) -> None:
        self.client.close()
