"""Database access: engine and sessions, the embedded PostgreSQL, Alembic migrations."""
