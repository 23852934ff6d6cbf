"""Alembic environment: runs against the connection handed over by `veri.db.migrate`, or, when
started from the `alembic` command, against the database the Veri settings point at."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import veri.models
from veri.config import get_settings
from veri.db.engine import open_database

target_metadata = veri.models.Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=False,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    database = open_database(get_settings())
    try:
        with database.engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        database.dispose()
