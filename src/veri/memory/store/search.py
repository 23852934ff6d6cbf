"""Retrieval's queries: the scope every candidate query shares, the full-text candidates and the
statistics BM25 needs, the ANN query, and the memories found."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from veri.models.memory import Memory

if TYPE_CHECKING:
    from veri.memory.retrieval import SearchQuery

__all__ = [
    "Scope",
    "Statistics",
    "lexical_candidates",
    "memories_by_id",
    "nearest",
    "query_lexemes",
    "refresh_lexeme_statistics",
    "scope",
    "scope_exceeds",
    "scoped_statistics",
    "store_statistics",
]


@dataclass(frozen=True)
class Scope:
    """The WHERE clause every candidate query shares (fixed SQL), and its bound parameters."""

    where: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Statistics:
    """What BM25 needs of a corpus: its size, its average length, each lexeme's document count."""

    documents: int
    average_length: float
    frequencies: dict[str, int]


def scope(query: SearchQuery) -> Scope:
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
    return Scope(" AND ".join(clauses), params)


def query_lexemes(db: Session, question: str) -> list[str]:
    """The question's lexemes as the index sees them, in order, without repeats."""
    return list(
        dict.fromkeys(
            db.scalars(text("SELECT unnest(tsvector_to_array(to_tsvector('english', :q)))"), {"q": question}).all()
        )
    )


def scope_exceeds(db: Session, within: Scope, limit: int) -> bool:
    """Whether more than `limit` memories are in scope (reads at most limit + 1 index entries)."""
    found = db.scalar(
        text(f"SELECT count(*) FROM (SELECT 1 FROM memories WHERE {within.where} LIMIT :cap) s"),  # noqa: S608  # nosec B608
        {**within.params, "cap": limit + 1},
    )
    return int(found or 0) > limit


def scoped_statistics(db: Session, within: Scope, lexemes: Sequence[str]) -> Statistics:
    """The statistics within the scope (one creator's memories, say): exact, and cheap because
    the scope is small."""
    frequencies = ", ".join(
        f"count(*) FILTER (WHERE search @@ to_tsquery('simple', quote_literal(CAST(:l{i} AS text))))"
        for i in range(len(lexemes))
    )
    row = db.execute(
        text(f"SELECT count(*), avg(length(search)), {frequencies} FROM memories WHERE {within.where}"),  # noqa: S608  # nosec B608
        {**within.params, **{f"l{i}": lexeme for i, lexeme in enumerate(lexemes)}},
    ).one()
    return Statistics(
        int(row[0]), float(row[1] or 1.0), {lexeme: int(df) for lexeme, df in zip(lexemes, row[2:], strict=True)}
    )


# Whole-store statistics move slowly and cost a scan: they are kept for a while, per process.
STORE_STATISTICS_SECONDS = 600.0
_store: dict[str, tuple[float, float]] = {}
_store_size: list[float] = []  # [measured at, documents, average length]


def store_statistics(db: Session, lexemes: Sequence[str]) -> Statistics:
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
            {"lexemes": list(lexemes)},
        ).all()
    )
    frequencies: dict[str, int] = {}
    for lexeme in lexemes:
        if lexeme in refreshed:
            frequencies[lexeme] = int(refreshed[lexeme])
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
        frequencies[lexeme] = int(cached[1])
    return Statistics(int(_store_size[1]), _store_size[2], frequencies)


_ANY_LEXEME = (
    "to_tsquery('simple', array_to_string("
    "ARRAY(SELECT quote_literal(l) FROM unnest(CAST(:lexemes AS text[])) l), ' | '))"
)


def lexical_candidates(db: Session, within: Scope, lexemes: Sequence[str], n: int) -> list[tuple[uuid.UUID, str]]:
    """Up to `n` memories in scope sharing any of `lexemes`, best `ts_rank` first, each with its
    tsvector as text (for BM25)."""
    rows = db.execute(
        text(
            # `where` and the tsquery are fixed SQL fragments; every value is a bound parameter.
            f"SELECT id, search::text FROM memories WHERE search @@ {_ANY_LEXEME} AND {within.where} "  # noqa: S608  # nosec B608
            f"ORDER BY ts_rank(search, {_ANY_LEXEME}, 1) DESC LIMIT :n"
        ),
        {**within.params, "lexemes": list(lexemes), "n": n},
    ).all()
    return [(memory_id, vector) for memory_id, vector in rows]


def nearest(db: Session, within: Scope, vector: str, n: int) -> list[tuple[uuid.UUID, float]]:
    """Up to `n` embedded memories in scope nearest to `vector` (pgvector's text form), with
    their cosine distance."""
    # Filtered ANN: keep scanning the HNSW graph until enough rows pass the filter.
    db.execute(text("SET LOCAL hnsw.iterative_scan = relaxed_order"))
    db.execute(text("SET LOCAL hnsw.ef_search = 100"))
    rows = db.execute(
        text(
            f"SELECT id, embedding <=> CAST(:vector AS vector) AS distance FROM memories "  # noqa: S608  # nosec B608
            f"WHERE embedding IS NOT NULL AND {within.where} ORDER BY distance LIMIT :n"
        ),
        {**within.params, "vector": vector, "n": n},
    ).all()
    return [(memory_id, float(distance)) for memory_id, distance in rows]


def memories_by_id(db: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Memory]:
    return {m.id: m for m in db.scalars(select(Memory).where(Memory.id.in_(list(ids)))).all()}


def refresh_lexeme_statistics(engine: Engine) -> None:
    """Recount every lexeme's document frequency (outside any transaction: CONCURRENTLY)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("REFRESH MATERIALIZED VIEW CONCURRENTLY memory_lexeme_stats"))
