"""Retrieval (`HYBRID_SEARCH`): full-text candidates ranked by BM25, and, with the flag on,
vector candidates from pgvector, fused by reciprocal rank and reweighted by importance, recency,
strength (with `MEMORY_DECAY`) and the time the question names.

Postgres's own `ts_rank` knows nothing of how rare a word is, so the full-text candidates (every
memory in scope that shares a lexeme with the question, best `ts_rank` first) are re-scored with
BM25 over the same lexemes, with document frequencies counted in the same scope. The queries are
the store's (`veri.memory.store`), the arithmetic `veri.memory.ranking`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from veri.memory import ranking, store
from veri.memory.embeddings import Embedder, vector_literal
from veri.models.base import utcnow
from veri.models.memory import Memory, MemoryType
from veri.signals.timeexpr import query_window

__all__ = [
    "CANDIDATE_BUDGET",
    "EXACT_STATISTICS_LIMIT",
    "Hit",
    "SearchQuery",
    "forget_query_vectors",
    "query_vector",
    "search",
]

CANDIDATE_BUDGET = 5000
# Counting document frequencies in the scope costs a scan of it: exact up to this many memories
# (a creator's history, a brand's threads), store-wide above it, where the two agree closely
# and the store's counts are kept by the worker (search p95 with 100k memories of one creator:
# 147 -> 48 ms; docs/performance.md).
EXACT_STATISTICS_LIMIT = 2000


@dataclass
class SearchQuery:
    text: str
    creator_id: uuid.UUID | None = None
    brand_id: uuid.UUID | None = None
    campaign_id: uuid.UUID | None = None
    types: Sequence[MemoryType] | None = None
    since: datetime | None = None
    until: datetime | None = None
    as_of: datetime | None = None
    include_archived: bool = False
    limit: int = 10
    # Restrict to what a caller may see: (creator, brand) ids, either may be None; None: all.
    visible_to: tuple[uuid.UUID | None, uuid.UUID | None] | None = None


@dataclass
class Hit:
    memory: Memory
    score: float
    breakdown: dict[str, Any] = field(default_factory=dict)


def _lexical(db: Session, query: SearchQuery, within: store.Scope, n: int) -> list[tuple[uuid.UUID, float]]:
    lexemes = store.query_lexemes(db, query.text)
    if not lexemes:
        return []
    scoped = any(getattr(query, c) is not None for c in ("creator_id", "brand_id", "campaign_id", "visible_to"))
    exact = scoped and not store.scope_exceeds(db, within, EXACT_STATISTICS_LIMIT)
    statistics = store.scoped_statistics(db, within, lexemes) if exact else store.store_statistics(db, lexemes)
    idfs = {lexeme: ranking.idf(statistics.documents, statistics.frequencies[lexeme]) for lexeme in lexemes}
    # BM25 then scores every lexeme of the candidates the rarer lexemes pick.
    picking = ranking.candidate_lexemes(statistics.frequencies, CANDIDATE_BUDGET)
    if not picking:
        return []
    scored = [
        (memory_id, ranking.bm25(ranking.term_counts(vector), idfs, statistics.average_length))
        for memory_id, vector in store.lexical_candidates(db, within, picking, n)
    ]
    scored.sort(key=lambda pair: pair[1], reverse=True)
    return scored


_QUERY_VECTORS: dict[tuple[str, str], str] = {}


def forget_query_vectors() -> None:
    """Empty the question-vector cache (a benchmark measures a first question's full cost)."""
    _QUERY_VECTORS.clear()


def query_vector(embedder: Embedder, question: str) -> str:
    """A question's vector in pgvector's text form. Questions repeat (the explorer, the agent):
    their vectors are kept, a thousand at most."""
    key = (embedder.model, question)
    if key not in _QUERY_VECTORS:
        if len(_QUERY_VECTORS) >= 1000:
            _QUERY_VECTORS.pop(next(iter(_QUERY_VECTORS)))
        _QUERY_VECTORS[key] = vector_literal(embedder.embed([question])[0])
    return _QUERY_VECTORS[key]


def search(
    db: Session,
    query: SearchQuery,
    *,
    embedder: Embedder | None,
    hybrid: bool,
    use_strength: bool,
    now: datetime | None = None,
) -> list[Hit]:
    """The best memories for a question, each with the score breakdown that ranked it."""
    if not query.text.strip():
        return []
    now = now or utcnow()
    within = store.scope(query)
    n = max(query.limit * 5, 50)
    lexical = _lexical(db, query, within, n)
    semantic = (
        store.nearest(db, within, query_vector(embedder, query.text), n) if hybrid and embedder is not None else []
    )
    fused = ranking.fuse(lexical, semantic)
    if not fused:
        return []
    memories = store.memories_by_id(db, list(fused))
    window = query_window(query.text, now)
    hits: list[Hit] = []
    for memory_id, parts in fused.items():
        memory = memories[memory_id]
        rrf = ranking.reciprocal_rank(parts.get("lexical_rank"), parts.get("vector_rank"))
        weighed = ranking.reweight(
            rrf,
            importance=memory.importance,
            age_days=max((now - memory.valid_from).total_seconds() / 86400, 0.0),
            strength=memory.strength if use_strength else 1.0,
            in_window=window is not None
            and ranking.in_window(window, memory.valid_from, memory.attributes.get("mentions") or []),
        )
        parts |= {
            "rrf": round(rrf, 6),
            "importance": memory.importance,
            "recency": round(weighed.recency, 4),
            "strength": round(weighed.strength, 4),
            "time_boost": weighed.time_boost,
            "score": round(weighed.score, 6),
        }
        hits.append(Hit(memory, weighed.score, parts))
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[: query.limit]
