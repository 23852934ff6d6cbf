"""Engine and session factory. The boundary (request, consumed batch, CLI command) owns the
transaction: it opens one session, commits or rolls back; services only flush."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from veri.config import Settings
from veri.db.embedded import EmbeddedPostgres, start_embedded_postgres

__all__ = ["Database", "open_database", "pgvector_enabled"]

log = structlog.get_logger(__name__)


_PGVECTOR: dict[str, bool] = {}


def pgvector_enabled(bind: Engine | Connection, *, refresh: bool = False) -> bool:
    """Whether vector search works in this database: pgvector is installed in it (the migrations
    install it wherever the server ships it). Asked once per database URL; `refresh` asks again."""
    url = bind.engine.url.render_as_string(hide_password=False)
    if refresh or url not in _PGVECTOR:
        installed = text("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')")
        if isinstance(bind, Connection):
            _PGVECTOR[url] = bool(bind.scalar(installed))
        else:
            with bind.connect() as conn:
                _PGVECTOR[url] = bool(conn.scalar(installed))
    return _PGVECTOR[url]


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    embedded: EmbeddedPostgres | None = None
    capabilities: dict[str, bool] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def detect_capabilities(self) -> dict[str, bool]:
        with self.engine.connect() as conn:
            available = set(conn.scalars(text("SELECT name FROM pg_available_extensions")).all())
            vectors = pgvector_enabled(conn, refresh=True)
        self.capabilities = {"pgvector": vectors, "pg_trgm": "pg_trgm" in available}
        if not self.capabilities["pgvector"]:
            log.warning(
                "pgvector_unavailable",
                disabled="vector search (HYBRID_SEARCH falls back to full-text only)",
            )
        return self.capabilities

    def dispose(self) -> None:
        self.engine.dispose()


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_database(settings: Settings) -> Database:
    embedded = None
    url = settings.db.database_url
    if url is None:
        embedded = start_embedded_postgres(settings.db.data_dir)
        url = embedded.url("veri")
    engine = create_engine(
        normalise_url(url),
        echo=settings.db.database_echo,
        # A failed statement's parameters (password hashes, tokens, messages) stay out of
        # exception texts and so out of the logs.
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
    )
    database = Database(
        engine=engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        embedded=embedded,
    )
    return database
