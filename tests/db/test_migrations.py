"""Migrations: the models and the migration scripts agree, and the schema goes down and up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from veri.db import migrate
from veri.db.engine import Database
from veri.models import Base


def test_models_match_the_migrations(database: Database) -> None:
    """What `alembic check` asks: autogenerate would find nothing to add."""
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    if not database.capabilities["pgvector"]:
        # Without pgvector, embeddings are an empty real[] with no ANN index (the memories migration).
        diff = [d for d in diff if "embedding" not in repr(d)]
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(clean_db: Database) -> None:
    engine = clean_db.engine
    assert migrate.current_revision(engine) == migrate.head_revision()
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert "users" not in inspect(engine).get_table_names()
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {"users", "campaigns", "deals", "metric_snapshots"} <= set(inspect(engine).get_table_names())


def test_extensions_exist_where_the_server_has_them(database: Database) -> None:
    with database.engine.connect() as conn:
        installed = set(conn.exec_driver_sql("SELECT extname FROM pg_extension").scalars())
    if database.capabilities["pgvector"]:
        assert {"vector", "pg_trgm"} <= installed
    else:
        assert "vector" not in installed
