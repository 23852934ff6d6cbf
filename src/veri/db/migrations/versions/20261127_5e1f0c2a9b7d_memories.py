"""memories: the Signal Engine's store, embedding cache and reflection tallies

Revision ID: 5e1f0c2a9b7d
Revises: aa10a760a542
Create Date: 2026-11-27 16:40:00

Where the server lacks pgvector, embeddings are a plain `real[]` that stays empty and memory is
searched by full text only (`Database.detect_capabilities`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e1f0c2a9b7d"
down_revision: str | None = "aa10a760a542"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_pgvector() -> bool:
    return bool(op.get_bind().exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'vector'").scalar())


def _embedding_type(vectors: bool) -> sa.types.TypeEngine:  # type: ignore[type-arg]
    if vectors:
        from pgvector.sqlalchemy import VECTOR

        return VECTOR(384)
    return postgresql.ARRAY(sa.REAL())


def upgrade() -> None:
    vectors = _has_pgvector()
    memory_type = sa.Enum(
        "creator_entity",
        "campaign_episodic",
        "content_knowledge",
        "brand_interaction",
        "workflow",
        name="memory_type",
        native_enum=False,
        create_constraint=True,
        length=32,
    )
    memory_status = sa.Enum(
        "active", "superseded", "archived", name="memory_status", native_enum=False, create_constraint=True, length=32
    )
    op.create_table(
        "memories",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", memory_type, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("context_text", sa.Text(), nullable=False),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english'::regconfig, search_text), 'A') || "
                "setweight(to_tsvector('english'::regconfig, context_text), 'D')",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("attributes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("embedding", _embedding_type(vectors), nullable=True),
        sa.Column("importance", sa.Float(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=False),
        sa.Column("creator_id", sa.Uuid(), nullable=True),
        sa.Column("brand_id", sa.Uuid(), nullable=True),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("source_event_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_by", sa.Uuid(), nullable=True),
        sa.Column("status", memory_status, nullable=False),
        sa.Column("access_count", sa.Integer(), nullable=False),
        sa.Column("last_accessed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("cardinality(source_event_ids) > 0", name=op.f("ck_memories_provenance_not_empty")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memories")),
    )
    op.create_index("ix_memories_creator_valid_from", "memories", ["creator_id", "valid_from"])
    op.create_index("ix_memories_brand_valid_from", "memories", ["brand_id", "valid_from"])
    op.create_index("ix_memories_campaign_valid_from", "memories", ["campaign_id", "valid_from"])
    op.create_index("ix_memories_key", "memories", ["key"])
    op.create_index("ix_memories_search", "memories", ["search"], postgresql_using="gin")
    op.create_index("ix_memories_sources", "memories", ["source_event_ids"], postgresql_using="gin")
    op.create_index(
        "ix_memories_unembedded", "memories", ["recorded_at"], postgresql_where=sa.text("embedding IS NULL")
    )
    if vectors:
        op.create_index(
            "ix_memories_embedding",
            "memories",
            ["embedding"],
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        )
    op.create_table(
        "memory_embedding_cache",
        sa.Column("content_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("embedding", _embedding_type(vectors), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("content_hash", "model", name=op.f("pk_memory_embedding_cache")),
    )
    op.create_table(
        "memory_subject_state",
        sa.Column("creator_id", sa.Uuid(), nullable=False),
        sa.Column("pending_importance", sa.Float(), nullable=False),
        sa.Column("reflected_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("creator_id", name=op.f("pk_memory_subject_state")),
    )


def downgrade() -> None:
    op.drop_table("memory_subject_state")
    op.drop_table("memory_embedding_cache")
    op.drop_table("memories")
