"""The document store port and its MongoDB adapter (pymongo).

Every document carries `_v`, the outbox position of the event it was written for: a write only
lands when its `_v` is newer, so replays and redeliveries never take a document back. The
backfill only inserts documents that are missing, so it never overwrites what dual-write wrote.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar

from pymongo import ASCENDING, MongoClient, UpdateOne
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, OperationFailure

from veri.events.handlers import DependencyDown

__all__ = ["INDEXES", "VECTOR_INDEX", "DocumentStore", "MongoStore", "VectorSearchUnsupported"]

# Atlas Vector Search's index over memories' embeddings (created in Atlas, not by create_index).
VECTOR_INDEX = {
    "name": "memories_embedding",
    "type": "vectorSearch",
    "definition": {
        "fields": [
            {"type": "vector", "path": "embedding", "numDimensions": 384, "similarity": "cosine"},
            {"type": "filter", "path": "creator_id"},
            {"type": "filter", "path": "brand_id"},
            {"type": "filter", "path": "campaign_id"},
            {"type": "filter", "path": "status"},
        ]
    },
}


class VectorSearchUnsupported(RuntimeError):
    """The MongoDB server refuses `$vectorSearch` (only Atlas and Atlas local run it)."""


# Indexes declared in code, created on start: collection -> [(field, unique)]. Uniqueness stays
# Postgres's job: two creators swapping handles reach Mongo one event at a time, and a unique
# index here would refuse the first of them.
INDEXES: dict[str, list[tuple[str, bool]]] = {
    "creators": [("handle", False), ("niches", False)],
    "campaigns": [("brand_id", False), ("status", False)],
    "threads": [("creator_id", False), ("brand_id", False)],
    "memories": [("creator_id", False), ("key", False), ("type", False)],
}

P = ParamSpec("P")
R = TypeVar("R")


def _reachable(method: Callable[P, R]) -> Callable[P, R]:
    """Mongo unreachable becomes DependencyDown: callers wait for it rather than give up."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except ConnectionFailure as exc:
            raise DependencyDown(f"MongoDB: {exc}") from exc

    return call


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

    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None: ...

    def ids(self, collection: str) -> set[str]: ...

    def vector_search(
        self, collection: str, vector: Sequence[float], *, limit: int, filter: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """The `limit` nearest documents by their `embedding` (ids and scores), through the
        server's vector index; VectorSearchUnsupported where the server has none."""
        ...

    def ensure_indexes(self) -> None: ...

    def close(self) -> None: ...


class MongoStore:
    def __init__(self, url: str, database: str, *, timeout_ms: int = 3000):
        self.client: MongoClient[dict[str, Any]] = MongoClient(
            url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, uuidRepresentation="standard"
        )
        self.db = self.client[database]

    @_reachable
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

    @_reachable
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

    @_reachable
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

    @_reachable
    def rewrite(self, collection: str, doc_id: str, doc: dict[str, Any]) -> None:
        body = {k: v for k, v in doc.items() if k not in ("_id", "_v")}
        self.db[collection].update_one({"_id": doc_id}, {"$set": body, "$setOnInsert": {"_v": 0}}, upsert=True)

    @_reachable
    def delete(self, collection: str, doc_id: str) -> None:
        self.db[collection].delete_one({"_id": doc_id})

    @_reachable
    def get_many(self, collection: str, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(ids)
        if not wanted:
            return {}
        return {d["_id"]: d for d in self.db[collection].find({"_id": {"$in": wanted}})}

    @_reachable
    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        return self.db[collection].find_one({"_id": doc_id})

    @_reachable
    def vector_search(
        self, collection: str, vector: Sequence[float], *, limit: int, filter: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        stage: dict[str, Any] = {
            "index": VECTOR_INDEX["name"],
            "path": "embedding",
            "queryVector": list(vector),
            "numCandidates": max(limit * 10, 100),
            "limit": limit,
        }
        if filter:
            stage["filter"] = filter
        pipeline = [{"$vectorSearch": stage}, {"$project": {"_id": 1, "score": {"$meta": "vectorSearchScore"}}}]
        try:
            return [(d["_id"], float(d["score"])) for d in self.db[collection].aggregate(pipeline)]
        except OperationFailure as exc:
            raise VectorSearchUnsupported(f"this MongoDB server does not run $vectorSearch: {exc}") from exc

    @_reachable
    def ids(self, collection: str) -> set[str]:
        return {d["_id"] for d in self.db[collection].find({}, {"_id": 1})}

    @_reachable
    def ensure_indexes(self) -> None:
        for collection, fields in INDEXES.items():
            for name, unique in fields:
                self.db[collection].create_index([(name, ASCENDING)], unique=unique, name=f"{collection}_{name}")

    def close(self) -> None:
        self.client.close()
