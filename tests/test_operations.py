"""Health, readiness, metrics, and the Redis-backed sessions and rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import REDIS_URL, log_in, make_admin, make_settings, new_client, require_service, sign_up
from veri.app import create_app
from veri.config import RedisSettings
from veri.db.engine import Database


def test_health_readiness_and_metrics(client: TestClient, database: Database) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "database": "ok",
        "bus": "ok: embedded log",
        "llm": "ok: offline answers",
    }
    client.get("/api/v1/campaigns")
    make_admin(database, "ops@example.com")
    log_in(client, "ops@example.com")  # metrics are for operators
    metrics = client.get("/metrics").text
    assert 'veri_http_requests_total{method="GET",route="/api/v1/campaigns",status="401"}' in metrics
    assert "veri_http_request_duration_seconds_bucket" in metrics


def test_readiness_reports_a_dead_database(app: FastAPI, client: TestClient) -> None:
    broken = Database(engine=app.state.db.engine, sessions=app.state.db.sessions)
    from sqlalchemy import create_engine

    broken.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=False)
    app.state.db = broken
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"].startswith("error")
    assert r.headers["Retry-After"]
    # A request that needs the database is refused cleanly (503 + Retry-After), not a 500.
    from sqlalchemy.orm import sessionmaker

    broken.sessions = sessionmaker(broken.engine)
    login = client.post("/api/v1/auth/login", json={"email": "someone@example.com", "password": "x"})
    assert login.status_code == 503 and login.headers["Retry-After"] == "5"
    assert login.json()["error"] == "unavailable"


@pytest.fixture
def redis_app(clean_db: Database, tmp_path: Path) -> Iterator[tuple[FastAPI, redis.Redis]]:
    require_service("Redis", "127.0.0.1", 6379)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    settings = make_settings(tmp_path, redis=RedisSettings(redis_url=REDIS_URL))
    yield create_app(settings, database=clean_db), client
    client.flushdb()


def test_sessions_and_rate_limits_live_in_redis(redis_app: tuple[FastAPI, redis.Redis]) -> None:
    app, store = redis_app
    laptop = new_client(app)
    sign_up(laptop, "creator", "redisuser")
    keys = [k.decode() for k in store.keys("veri:session:*")]
    assert any(":user:" in k for k in keys) and len(keys) == 2
    phone = new_client(app)
    log_in(phone, "redisuser@example.com")
    assert (
        laptop.post(
            "/api/v1/auth/password",
            json={
                "current_password": "correct-horse-battery",
                "new_password": "fresh-redis-secret",
            },
        ).status_code
        == 204
    )
    assert phone.get("/api/v1/auth/me").status_code == 401

    attacker = new_client(app)
    codes = [
        attacker.post(
            "/api/v1/auth/login", json={"email": "redisuser@example.com", "password": "nope-nope"}
        ).status_code
        for _ in range(6)
    ]
    assert codes[-1] == 429
    assert store.keys("veri:ratelimit:login:account:*")
    assert {k: v for k, v in attacker.get("/readyz").json()["checks"].items() if k in ("database", "redis")} == {
        "database": "ok",
        "redis": "ok",
    }
