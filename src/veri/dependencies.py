"""FastAPI dependencies shared by every domain: settings, the database session, Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from veri.config import Settings

if TYPE_CHECKING:
    from redis import Redis

    from veri.db.engine import Database
    from veri.migration.shadow import DocumentReads

__all__ = ["DbSession", "DocumentReadsDep", "RedisClient", "SettingsDep", "get_db"]


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; the request commits or rolls back, services only flush."""
    database: Database = request.app.state.db
    with database.sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_redis(request: Request) -> Redis | None:
    client: Redis | None = request.app.state.redis
    return client


def get_document_reads(request: Request) -> DocumentReads:
    reads: DocumentReads = request.app.state.reads
    return reads


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": commit before the response is sent, so a 2xx means the write is durable.
DbSession = Annotated[Session, Depends(get_db, scope="function")]
RedisClient = Annotated["Redis | None", Depends(get_redis)]
# The read paths the migration may move to MongoDB (veri.migration.shadow).
DocumentReadsDep = Annotated["DocumentReads", Depends(get_document_reads)]
