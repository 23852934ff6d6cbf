"""Phase 3 for memory: MongoDB as the memory store, with vector search through Atlas Vector
Search's `$vectorSearch` stage.

What runs: memories are documents like every aggregate (dual-written from `memory.changed`,
backfilled, verified), each with its embedding, and `nearest_memories` asks the server's vector
index for the nearest ones in a scope, the way the pgvector store does.

What does not run here: no MongoDB-protocol server installable on these machines runs
`$vectorSearch`. nx-27017 refuses the stage ("Aggregation stage not supported"), FerretDB and
mongod are not on PyPI, and Atlas (or the Atlas local image) is outside reach. So pgvector keeps
serving vectors, the admin page says so (`vector_search_status`), and phase 3 is not declared.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from veri.events.handlers import DependencyDown
from veri.migration.store import DocumentStore, VectorSearchUnsupported

__all__ = ["VectorSearchStatus", "nearest_memories", "vector_search_status"]

DIMENSIONS = 384


def nearest_memories(
    store: DocumentStore,
    vector: Sequence[float],
    *,
    limit: int,
    creator_id: uuid.UUID | None = None,
    brand_id: uuid.UUID | None = None,
    campaign_id: uuid.UUID | None = None,
) -> list[tuple[uuid.UUID, float]]:
    """Up to `limit` active memories in scope nearest to `vector`, with their cosine distance
    (pgvector's `<=>`, so both stores rank alike). Atlas scores cosine as (1 + cos) / 2."""
    scope: dict[str, Any] = {"status": "active"}
    for name, value in (("creator_id", creator_id), ("brand_id", brand_id), ("campaign_id", campaign_id)):
        if value is not None:
            scope[name] = str(value)
    hits = store.vector_search("memories", vector, limit=limit, filter=scope)
    return [(uuid.UUID(doc_id), 2 * (1 - score)) for doc_id, score in hits]


@dataclass(frozen=True)
class VectorSearchStatus:
    available: bool
    detail: str


_probed: dict[int, tuple[float, VectorSearchStatus]] = {}


def vector_search_status(store: DocumentStore | None, *, max_age: float = 60.0) -> VectorSearchStatus:
    """Whether the configured MongoDB runs `$vectorSearch`, asked of the server itself (once a
    minute at most)."""
    if store is None:
        return VectorSearchStatus(False, "no MongoDB configured (VERI_MONGO_URL): pgvector serves vectors")
    cached = _probed.get(id(store))
    if cached is not None and time.monotonic() - cached[0] < max_age:
        return cached[1]
    try:
        nearest_memories(store, [0.0] * DIMENSIONS, limit=1)
    except VectorSearchUnsupported as exc:
        status = VectorSearchStatus(False, f"{exc.__cause__ or exc}: pgvector keeps serving vectors")
    except DependencyDown as exc:
        status = VectorSearchStatus(False, f"MongoDB unreachable ({exc}): pgvector serves vectors")
    else:
        status = VectorSearchStatus(True, "$vectorSearch answered: phase 3 for memory can be declared")
    _probed[id(store)] = (time.monotonic(), status)
    return status
