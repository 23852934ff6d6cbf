"""The event backbone on a real Kafka-protocol broker (tansu): relay, consumer groups, and a
broker that stops for 30 s while events keep arriving."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.factories import MetricsWorld, Tansu, admin_key, count, creator_views, make_settings, new_client
from veri.analytics.handlers import AnalyticsHandler
from veri.db.engine import Database
from veri.events.bus.kafka import KafkaBus, decode, encode
from veri.events.outbox import LogRecord
from veri.events.relay import get_cursor
from veri.events.worker import Worker
from veri.models.events import DeadLetter, OutboxEvent, ProcessedEvent


def ingest(app: FastAPI, key: str, events: list[dict[str, object]]) -> None:
    client = new_client(app)
    for start in range(0, len(events), 500):
        r = client.post(
            "/api/v1/events", json={"events": events[start : start + 500]}, headers={"Authorization": f"Bearer {key}"}
        )
        assert r.status_code == 202, r.text


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def kafka_worker(database: Database, broker: Tansu, tmp_path: Path, member: str = "k1") -> Worker:
    bus = KafkaBus(broker.bootstrap, partitions=4, session_timeout_ms=3000)
    bus.ensure_topics()
    worker = Worker(database, bus, [AnalyticsHandler()], make_settings(tmp_path), member=member, lag_interval=0.5)
    worker.start()
    return worker


def test_records_survive_the_wire_with_their_payload_as_json_text() -> None:
    """The payload is cut out of the value rather than parsed, so nothing before it may fool the
    cut: an actor that spells the marker, a payload that nests it."""
    sent = LogRecord(
        position=7,
        txid=3,
        event_id=uuid.uuid4(),
        type="content.published",
        version=1,
        stream="content",
        subject="creator:1",
        partition=2,
        actor='bot,"payload":{}',
        occurred_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
        payload='{"note": {"payload": "x"}}',
        recorded_at=datetime(2026, 3, 1, 11, tzinfo=UTC),
    )
    assert decode(encode(sent)) == sent
    as_dict = dataclasses.replace(sent, payload={"a": 1}, recorded_at=None)
    assert decode(encode(as_dict)).payload_dict == {"a": 1}


def analytics_processed(database: Database) -> int:
    return count(database, ProcessedEvent, ProcessedEvent.group_name == "analytics")


@pytest.mark.parametrize("database", ["embedded"], indirect=True)
def test_events_flow_through_kafka_into_rollups(app: FastAPI, clean_db: Database, tansu: Tansu, tmp_path: Path) -> None:
    key = admin_key(app, clean_db)
    world = MetricsWorld.build(creators=4, posts=4, days=4, seed=21)
    ingest(app, key, world.shuffled())
    worker = kafka_worker(clean_db, tansu, tmp_path)
    try:
        wait_for(lambda: analytics_processed(clean_db) == len(world.events), 60, "the analytics group")
        wait_for(lambda: bool(count(clean_db, OutboxEvent)) and get_cursor(clean_db)[1] > 0, 10, "the relay cursor")
    finally:
        worker.stop()
    with clean_db.sessions() as db:
        assert creator_views(db) == world.expected_views
    assert count(clean_db, DeadLetter) == 0


@pytest.mark.parametrize("database", ["embedded"], indirect=True)
def test_broker_down_for_30_seconds_loses_and_doubles_nothing(
    app: FastAPI, clean_db: Database, tansu: Tansu, tmp_path: Path
) -> None:
    key = admin_key(app, clean_db)
    world = MetricsWorld.build(creators=4, posts=5, days=6, seed=5)
    events = world.shuffled()
    half = len(events) // 2
    worker = kafka_worker(clean_db, tansu, tmp_path)
    try:
        ingest(app, key, events[:half])
        wait_for(lambda: analytics_processed(clean_db) == half, 60, "the first half")
        tansu.stop()
        outage_started = time.monotonic()
        ingest(app, key, events[half:])  # the API keeps accepting: the outbox grows
        assert count(clean_db, OutboxEvent) >= len(events)
        time.sleep(max(0.0, 30 - (time.monotonic() - outage_started)))
        assert analytics_processed(clean_db) == half  # nothing got through while it was down
        tansu.start()
        wait_for(lambda: analytics_processed(clean_db) == len(events), 120, "the drain after the outage")
    finally:
        worker.stop()
    with clean_db.sessions() as db:
        assert creator_views(db) == world.expected_views


@pytest.mark.parametrize("database", ["embedded"], indirect=True)
def test_two_kafka_workers_split_the_partitions(app: FastAPI, clean_db: Database, tansu: Tansu, tmp_path: Path) -> None:
    key = admin_key(app, clean_db)
    world = MetricsWorld.build(creators=8, posts=3, days=3, seed=8)
    first = kafka_worker(clean_db, tansu, tmp_path, member="k1")
    second = kafka_worker(clean_db, tansu, tmp_path, member="k2")
    try:
        ingest(app, key, world.shuffled())
        wait_for(lambda: analytics_processed(clean_db) == len(world.events), 90, "both workers")
        assignments = [set(worker.loops[0].consumer.assigned) for worker in (first, second)]  # type: ignore[attr-defined]
        assert assignments[0] and assignments[1] and assignments[0].isdisjoint(assignments[1])
        # One member leaves: the other is assigned every partition and keeps consuming.
        first.stop()
        more = MetricsWorld.build(creators=2, posts=2, days=2, seed=9)
        ingest(app, key, more.events)
        wait_for(lambda: analytics_processed(clean_db) == len(world.events) + len(more.events), 90, "the survivor")
    finally:
        first.stop()
        second.stop()
    with clean_db.sessions() as db:
        assert creator_views(db) == world.expected_views | more.expected_views
