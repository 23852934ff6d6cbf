"""Set-based statements with array parameters, sent in PostgreSQL's binary format.

A batch of thousands of rows goes as one statement with one array per column
(`unnest(%(ids)s::uuid[], ...)`). Through SQLAlchemy those arrays are rendered as text, which
costs more Python time than PostgreSQL spends on the statement; psycopg's binary dumpers are
several times faster. Runs on the session's own connection, inside its transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["execute_binary"]


def execute_binary(db: Session, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Run `sql` (psycopg `%(name)s` placeholders) with binary parameters; return its rows
    (empty when it returns none)."""
    connection = db.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor(binary=True) as cursor:
        cursor.execute(sql, params, binary=True)
        return list(cursor.fetchall()) if cursor.description is not None else []
