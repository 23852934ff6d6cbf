"""Retrieval (`HYBRID_SEARCH`): full-text candidates ranked by BM25, and, with the flag on,
vector candidates from pgvector, fused by reciprocal rank and reweighted by importance, recency,
strength (with `MEMORY_DECAY`) and the time the question names.

Postgres's own `ts_rank` knows nothing of how rare a word is, so the full-text candidates (every
memory in scope that shares a lexeme with the question, best `ts_rank` first) are re-scored with
BM25 over the same lexemes, with document frequencies counted in the same scope.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from veri.memory.embeddings import Embedder, vector_literal
from veri.models.base import utcnow
from veri.models.memory import Memory, MemoryType
from veri.signals.timeexpr import TimeWindow, query_window

__all__ = ["Hit", "SearchQuery", "search"]

RRF_K = 60
# Reciprocal-rank weights of the two channels.
LEXICAL_WEIGHT = 1.0
VECTOR_WEIGHT = 1.0
BM25_K1 = 1.2
BM25_B = 0.75
# After fusion, a memory's score is nudged, never overturned, by what else is known of it.
IMPORTANCE_WEIGHT = 0.1
RECENCY_WEIGHT = 0.05
RECENCY_DAYS = 365.0
STRENGTH_WEIGHT = 0.25  # with MEMORY_DECAY: the weakest memory keeps 75% of its score
TIME_BOOST = 1.5  # a memory of the time the question names ("in May")
CANDIDATE_BUDGET = 5000


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


def _scope(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """The WHERE clause every candidate query shares, and its parameters."""
    clauses: list[str] = ["kind <> 'metrics'"]
    params: dict[str, Any] = {}
    for column in ("creator_id", "brand_id", "campaign_id"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    if query.visible_to is not None:
        creator, brand = query.visible_to
        if creator is not None:
            clauses.append("creator_id = :visible_creator")
            params["visible_creator"] = creator
        if brand is not None:
            clauses.append("brand_id = :visible_brand")
            params["visible_brand"] = brand
    if query.types:
        clauses.append("type = ANY(:types)")
        params["types"] = [t.value for t in query.types]
    if query.since is not None:
        clauses.append("valid_from >= :since")
        params["since"] = query.since
    if query.until is not None:
        clauses.append("valid_from < :until")
        params["until"] = query.until
    if query.as_of is not None:
        # What held in the world then: superseded versions included, later ones not. (System
        # time, recorded_at/superseded_at, says when Veri learned it: a replay learns it today.)
        clauses.append("valid_from <= :as_of AND (valid_to IS NULL OR valid_to > :as_of)")
        params["as_of"] = query.as_of
        if not query.include_archived:
            clauses.append("status <> 'archived'")
    else:
        clauses.append("status = ANY(:statuses)")
        params["statuses"] = ["active", "archived"] if query.include_archived else ["active"]
    return " AND ".join(clauses), params


_TSVECTOR_ENTRY = re.compile(r"'((?:[^']|'')+)'(?::([\d,A-D]+))?")
# A word of the memory's own text counts fully; one from its surroundings (weight D) a third.
POSITION_WEIGHT = {"A": 1.0, "B": 1.0, "C": 1.0, "D": 0.5}


def _term_counts(tsvector: str) -> dict[str, float]:
    """Weighted term frequencies of a tsvector in its text form ('word':1A,7)."""
    counts: dict[str, float] = {}
    for lexeme, positions in _TSVECTOR_ENTRY.findall(tsvector):
        weight = 0.0
        for position in positions.split(",") if positions else ["1D"]:
            weight += POSITION_WEIGHT[position[-1]] if position[-1] in POSITION_WEIGHT else POSITION_WEIGHT["D"]
        counts[lexeme.replace("''", "'")] = weight
    return counts


def _scoped_statistics(
    db: Session, where: str, params: dict[str, Any], lexemes: list[str]
) -> tuple[int, float, list[int]]:
    """Documents, average length and each lexeme's document frequency within the scope (one
    creator's memories, say): exact, and cheap because the scope is small."""
    frequencies = ", ".join(
        f"count(*) FILTER (WHERE search @@ to_tsquery('simple', quote_literal(CAST(:l{i} AS text))))"
        for i in range(len(lexemes))
    )
    row = db.execute(
        text(f"SELECT count(*), avg(length(search)), {frequencies} FROM memories WHERE {where}"),  # noqa: S608
        {**params, **{f"l{i}": lexeme for i, lexeme in enumerate(lexemes)}},
    ).one()
    return int(row[0]), float(row[1] or 1.0), [int(df) for df in row[2:]]


# Whole-store statistics move slowly and cost a scan: they are kept for a while, per process.
STORE_STATISTICS_SECONDS = 600.0
_store: dict[str, tuple[float, float]] = {}
_store_size: list[float] = []  # [measured at, documents, average length]


def _store_statistics(db: Session, lexemes: list[str]) -> tuple[int, float, list[int]]:
    """The same statistics over the whole store, for a search not limited to a subject."""
    now = time.monotonic()
    if not _store_size or now - _store_size[0] > STORE_STATISTICS_SECONDS:
        # The planner's estimate of the row count is enough for an IDF, and free.
        documents = db.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'memories'")) or 0
        if documents < 10_000:
            documents = db.scalar(text("SELECT count(*) FROM memories")) or 0
        average = db.scalar(text("SELECT avg(length(search)) FROM (SELECT search FROM memories LIMIT 5000) s"))
        _store_size[:] = [now, float(documents), float(average or 1.0)]
    # Document frequencies from the worker's last refresh of memory_lexeme_stats; a lexeme it has
    # not seen (new since, or never refreshed) is counted now and kept a while.
    refreshed: dict[str, int] = dict(
        db.execute(
            text("SELECT lexeme, documents FROM memory_lexeme_stats WHERE lexeme = ANY(:lexemes)"),
            {"lexemes": lexemes},
        ).all()
    )
    frequencies = []
    for lexeme in lexemes:
        if lexeme in refreshed:
            frequencies.append(int(refreshed[lexeme]))
            continue
        cached = _store.get(lexeme)
        if cached is None or now - cached[0] > STORE_STATISTICS_SECONDS:
            df = db.scalar(
                text(
                    "SELECT count(*) FROM memories "
                    "WHERE search @@ to_tsquery('simple', quote_literal(CAST(:l AS text)))"
                ),
                {"l": lexeme},
            )
            cached = _store[lexeme] = (now, float(df or 0))
        frequencies.append(int(cached[1]))
    return int(_store_size[1]), _store_size[2], frequencies


def _lexical(
    db: Session, query: SearchQuery, where: str, params: dict[str, Any], n: int
) -> list[tuple[uuid.UUID, float]]:
    lexemes: list[str] = list(
        dict.fromkeys(
            db.scalars(text("SELECT unnest(tsvector_to_array(to_tsvector('english', :q)))"), {"q": query.text}).all()
        )
    )
    if not lexemes:
        return []
    scoped = any(getattr(query, c) is not None for c in ("creator_id", "brand_id", "campaign_id", "visible_to"))
    total, average_length, frequencies = (
        _scoped_statistics(db, where, params, lexemes) if scoped else _store_statistics(db, lexemes)
    )
    idf = {
        lexeme: math.log(1 + (total - df + 0.5) / (df + 0.5)) for lexeme, df in zip(lexemes, frequencies, strict=True)
    }
    # Candidates share any of the question's lexemes (OR), rarest first, until they would bring
    # more than CANDIDATE_BUDGET memories to rank: a word in most memories ("video" in a million)
    # picks no candidates of its own. BM25 then scores every lexeme of the candidates.
    picking: list[str] = []
    budget = CANDIDATE_BUDGET
    for df, lexeme in sorted(zip(frequencies, lexemes, strict=True)):
        if df and (df <= budget or not picking):
            picking.append(lexeme)
            budget -= df
    if not picking:
        return []
    tsquery = (
        "to_tsquery('simple', array_to_string("
        "ARRAY(SELECT quote_literal(l) FROM unnest(CAST(:lexemes AS text[])) l), ' | '))"
    )
    rows = db.execute(
        text(
            # `where` and `tsquery` are fixed SQL fragments; every value is a bound parameter.
            f"SELECT id, search::text FROM memories WHERE search @@ {tsquery} AND {where} "  # noqa: S608
            f"ORDER BY ts_rank(search, {tsquery}, 1) DESC LIMIT :n"
        ),
        {**params, "lexemes": picking, "n": n},
    ).all()
    scored: list[tuple[uuid.UUID, float]] = []
    for memory_id, vector in rows:
        counts = _term_counts(vector)
        length = len(counts)  # distinct lexemes, as Postgres's length(tsvector) counts them
        score = 0.0
        for lexeme in lexemes:
            tf = counts.get(lexeme, 0)
            if tf:
                score += (
                    idf[lexeme] * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / average_length))
                )
        scored.append((memory_id, score))
    scored.sort(key=lambda pair: pair[1], reverse=True)
    return scored


_QUERY_VECTORS: dict[tuple[str, str], str] = {}


def _query_vector(embedder: Embedder, question: str) -> str:
    """Questions repeat (the explorer, the agent): their vectors are kept, a thousand at most."""
    key = (embedder.model, question)
    if key not in _QUERY_VECTORS:
        if len(_QUERY_VECTORS) >= 1000:
            _QUERY_VECTORS.pop(next(iter(_QUERY_VECTORS)))
        _QUERY_VECTORS[key] = vector_literal(embedder.embed([question])[0])
    return _QUERY_VECTORS[key]


def _semantic(
    db: Session, query: SearchQuery, where: str, params: dict[str, Any], n: int, embedder: Embedder
) -> list[tuple[uuid.UUID, float]]:
    vector = _query_vector(embedder, query.text)
    # Filtered ANN: keep scanning the HNSW graph until enough rows pass the filter.
    db.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    db.execute(text("SET LOCAL hnsw.ef_search = 100"))
    rows = db.execute(
        text(
            f"SELECT id, embedding <=> CAST(:vector AS vector) AS distance FROM memories "  # noqa: S608
            f"WHERE embedding IS NOT NULL AND {where} ORDER BY distance LIMIT :n"
        ),
        {**params, "vector": vector, "n": n},
    ).all()
    return [(memory_id, float(distance)) for memory_id, distance in rows]


def _in_window(memory: Memory, window: TimeWindow) -> bool:
    if window.contains(memory.valid_from):
        return True
    mentions = memory.attributes.get("mentions") or []
    return any(window.contains(datetime.fromisoformat(day)) for day in mentions if isinstance(day, str))


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
    where, params = _scope(query)
    n = max(query.limit * 5, 50)
    lexical = _lexical(db, query, where, params, n)
    semantic = _semantic(db, query, where, params, n, embedder) if hybrid and embedder is not None else []
    fused: dict[uuid.UUID, dict[str, Any]] = {}
    for rank, (memory_id, score) in enumerate(lexical, start=1):
        fused.setdefault(memory_id, {})
        fused[memory_id] |= {"bm25": round(score, 4), "lexical_rank": rank}
    for rank, (memory_id, distance) in enumerate(semantic, start=1):
        fused.setdefault(memory_id, {})
        fused[memory_id] |= {"vector_distance": round(distance, 4), "vector_rank": rank}
    if not fused:
        return []
    memories = {m.id: m for m in db.scalars(select(Memory).where(Memory.id.in_(list(fused)))).all()}
    window = query_window(query.text, now)
    hits: list[Hit] = []
    for memory_id, parts in fused.items():
        memory = memories[memory_id]
        rrf = sum(
            weight / (RRF_K + parts[rank])
            for rank, weight in (("lexical_rank", LEXICAL_WEIGHT), ("vector_rank", VECTOR_WEIGHT))
            if rank in parts
        )
        age_days = max((now - memory.valid_from).total_seconds() / 86400, 0.0)
        recency = math.exp(-age_days / RECENCY_DAYS)
        strength = memory.strength if use_strength else 1.0
        boost = TIME_BOOST if window is not None and _in_window(memory, window) else 1.0
        score = (
            rrf
            * (1 + IMPORTANCE_WEIGHT * memory.importance + RECENCY_WEIGHT * recency)
            * (1 - STRENGTH_WEIGHT + STRENGTH_WEIGHT * strength)
            * boost
        )
        parts |= {
            "rrf": round(rrf, 6),
            "importance": memory.importance,
            "recency": round(recency, 4),
            "strength": round(strength, 4),
            "time_boost": boost,
            "score": round(score, 6),
        }
        hits.append(Hit(memory, score, parts))
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[: query.limit]
