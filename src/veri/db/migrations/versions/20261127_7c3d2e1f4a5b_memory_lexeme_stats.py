"""memory lexeme statistics: document frequencies of every lexeme in memory, for BM25 over the
whole store (refreshed by the worker; a search counts lexemes the last refresh has not seen)

Revision ID: 7c3d2e1f4a5b
Revises: 5e1f0c2a9b7d
Create Date: 2026-11-27 17:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c3d2e1f4a5b"
down_revision: str | None = "5e1f0c2a9b7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Qualified: PostgreSQL 17+ builds and refreshes materialized views with a search_path of
    # pg_catalog only, and ts_stat runs its query text there.
    # The schema's name comes from the server, quoted by it: no outside input reaches this SQL.
    schema = op.get_bind().exec_driver_sql("SELECT quote_ident(current_schema())").scalar()
    op.execute(
        "CREATE MATERIALIZED VIEW memory_lexeme_stats AS SELECT word AS lexeme, ndoc AS documents "  # noqa: S608  # nosec B608
        f"FROM ts_stat('SELECT search FROM {schema}.memories')"
    )
    # Unique, so that REFRESH ... CONCURRENTLY never blocks searches.
    op.execute("CREATE UNIQUE INDEX ix_memory_lexeme_stats_lexeme ON memory_lexeme_stats (lexeme)")


def downgrade() -> None:
    op.execute("DROP MATERIALIZED VIEW memory_lexeme_stats")
