"""Embeddings in PostgreSQL: pgvector's text form, the embedding cache by content hash, and
whether this database can hold vectors at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from veri.db.engine import pgvector_enabled

__all__ = ["cache_embeddings", "cached_embeddings", "parse_vector", "vector_literal", "vectors_enabled"]


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, so embeddings travel as one parameter each."""
    return "[" + ",".join(f"{x:.6g}" for x in vector) + "]"


def parse_vector(literal: str) -> list[float]:
    return [float(x) for x in literal.strip("[]").split(",")]


def vectors_enabled(db: Session) -> bool:
    """Whether this session's database has pgvector (asked once per database)."""
    return pgvector_enabled(db.connection())


def cached_embeddings(db: Session, model: str, hashes: Sequence[bytes]) -> dict[bytes, list[float]]:
    """The cached vectors of `model` for these content hashes (those it has)."""
    rows = db.execute(
        text(
            "SELECT content_hash, embedding::text FROM memory_embedding_cache "
            "WHERE model = :model AND content_hash = ANY(:hashes)"
        ),
        {"model": model, "hashes": list(hashes)},
    ).all()
    return {bytes(h): parse_vector(v) for h, v in rows}


def cache_embeddings(db: Session, model: str, vectors: Mapping[bytes, Sequence[float]]) -> None:
    if not vectors:
        return
    db.execute(
        text(
            "INSERT INTO memory_embedding_cache (content_hash, model, embedding, created_at) "
            "VALUES (:hash, :model, CAST(:embedding AS vector), now()) ON CONFLICT DO NOTHING"
        ),
        # In hash order: two writers inserting overlapping hashes wait in one order, never a circle.
        [{"hash": h, "model": model, "embedding": vector_literal(v)} for h, v in sorted(vectors.items())],
    )
