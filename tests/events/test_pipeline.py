"""The event backbone on the embedded log: ingestion, the outbox, consumers, dead letters,
replay, leases shared by two workers, and a worker killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.factories import MetricsWorld, admin_key, count, creator_views, drain, envelope, new_client, sign_up
from veri.analytics.handlers import AnalyticsHandler
from veri.db.engine import Database
from veri.events.bus.embedded import EmbeddedLog
from veri.events.envelope import Event, new_event_id, validate_batch
from veri.events.outbox import read_after
from veri.events.registry import REGISTRY
from veri.events.runtime import ConsumerLoop, RetryPolicy
from veri.events.service import replay_dead_letter, replay_group
from veri.events.types import AccountCreated
from veri.models.events import ConsumerLease, DeadLetter, OutboxEvent, ProcessedEvent

FAST_RETRY = RetryPolicy(attempts=3, backoff_seconds=0.01)


def loop_for(database: Database, handler: object, member: str = "w1", lease: float = 10.0) -> ConsumerLoop:
    log = EmbeddedLog(database, partitions=8, lease_seconds=lease)
    return ConsumerLoop(
        database, log.consumer(handler.group, member), handler, batch_size=200, poll_timeout=0.01, retry=FAST_RETRY
    )  # type: ignore[attr-defined,arg-type]


def ingest(app: FastAPI, key: str, events: list[dict[str, object]], **params: object) -> object:
    client = new_client(app)
    return client.post(
        "/api/v1/events", json={"events": events}, params=params, headers={"Authorization": f"Bearer {key}"}
    )


# -- the registry and the envelope --------------------------------------------------------------


def test_old_versions_are_upcast_to_the_newest() -> None:
    event_type, payload = REGISTRY.parse(
        "content.metrics_snapshot",
        1,
        {
            "content_id": str(uuid.uuid4()),
            "creator_id": str(uuid.uuid4()),
            "platform": "youtube",
            "captured_at": "2026-03-01T10:00:00+00:00",
            "views": 10,
            "likes": 2,
            "comments": 1,
            "shares": 0,
        },
    )
    assert event_type.version == 2
    assert payload.metrics == {"views": 10, "likes": 2, "comments": 1, "shares": 0}  # type: ignore[attr-defined]


def test_batch_errors_name_the_event_and_the_field() -> None:
    good = envelope(
        "account.created",
        {"user_id": str(uuid.uuid4()), "role": "creator", "display_name": "A"},
        subject="user:1",
        at=datetime.now(UTC),
    )
    bad_payload = {**good, "id": str(new_event_id()), "payload": {"user_id": "x", "role": "god"}}
    unknown = {**good, "id": str(new_event_id()), "type": "account.exploded"}
    not_v7 = {**good, "id": str(uuid.uuid4())}
    valid, errors = validate_batch([good, bad_payload, unknown, not_v7, "nope"])
    assert [e.id for e in valid] == [uuid.UUID(str(good["id"]))]
    fields = {(e.index, e.field) for e in errors}
    assert {
        (1, "events.1.payload.user_id"),
        (1, "events.1.payload.role"),
        (1, "events.1.payload.display_name"),
    } <= fields
    assert (2, "events.2.type") in fields
    assert (3, "events.3.id") in fields
    assert any(e.index == 4 for e in errors)


def test_unstorable_text_is_refused_naming_its_field_among_clean_events() -> None:
    """The batch is checked at once and walked only when something may be unstorable: the
    field is still named, and the clean events of the batch still pass."""

    def account(name: str) -> dict[str, object]:
        payload = {"user_id": str(uuid.uuid4()), "role": "creator", "display_name": name}
        return envelope("account.created", payload, subject="user:1", at=datetime.now(UTC))

    clean = [account("A") for _ in range(3)]
    assert validate_batch(clean)[1] == []
    valid, errors = validate_batch([*clean, account("nul\x00"), account("\ud800"), account("a\\u0000b")])
    assert [(e.index, e.field) for e in errors] == [
        (3, "events.3.payload.display_name"),
        (4, "events.4.payload.display_name"),
    ]
    assert len(valid) == 4  # a literal backslash-u0000 is text like any other


# -- ingestion --------------------------------------------------------------------------------


def test_ingestion_is_idempotent_and_all_or_nothing(app: FastAPI, clean_db: Database) -> None:
    key = admin_key(app, clean_db)
    world = MetricsWorld.build(creators=1, posts=2, days=2)
    before = count(clean_db, OutboxEvent)
    r = ingest(app, key, world.events)
    assert r.status_code == 202 and r.json() == {"accepted": 6, "duplicates": 0, "rejected": []}  # type: ignore[attr-defined]
    again = ingest(app, key, world.events[:3])
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}  # type: ignore[attr-defined]
    assert count(clean_db, OutboxEvent) == before + 6

    fresh = MetricsWorld.build(creators=1, posts=1, days=2, seed=99).events
    broken = [
        *fresh,
        {**fresh[0], "id": str(new_event_id()), "payload": {**fresh[0]["payload"], "published_at": "yesterday"}},
    ]
    r = ingest(app, key, broken)
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert r.json()["detail"] == [
        {"field": "events.3.payload.published_at", "reason": r.json()["detail"][0]["reason"], "index": 3}
    ]  # type: ignore[attr-defined]
    assert count(clean_db, OutboxEvent) == before + 6  # nothing written
    r = ingest(app, key, broken, partial="true")
    assert r.status_code == 202 and r.json()["accepted"] == 3 and len(r.json()["rejected"]) == 1  # type: ignore[attr-defined]

    unknown = ingest(app, key, [{**fresh[0], "type": "content.teleported"}])
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["field"] == "events.0.type"  # type: ignore[attr-defined]
    too_many = ingest(app, key, [fresh[0]] * 1001)
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["field"] == "events"  # type: ignore[attr-defined]


def test_only_integration_keys_ingest(app: FastAPI, clean_db: Database) -> None:
    creator = new_client(app)
    sign_up(creator, "creator", "injector")
    event = MetricsWorld.build(creators=1, posts=1, days=1).events[:1]
    assert creator.post("/api/v1/events", json={"events": event}).status_code == 403
    own_key = creator.post("/api/v1/api-keys", json={"name": "k", "scopes": ["write"]}).json()["key"]
    assert ingest(app, own_key, event).status_code == 403  # type: ignore[attr-defined]
    assert new_client(app).post("/api/v1/events", json={"events": event}).status_code == 401


def test_state_changes_and_their_events_commit_together(app: FastAPI, clean_db: Database) -> None:
    client = new_client(app)
    sign_up(client, "creator", "eventful")
    with clean_db.sessions() as db:
        types = list(db.scalars(select(OutboxEvent.type).order_by(OutboxEvent.position)))
    assert types == ["account.created", "creator.updated"]
    # A sign-up that fails (handle taken) leaves neither a user nor an event.
    r = new_client(app).post(
        "/api/v1/auth/signup",
        json={
            "email": "x@example.com",
            "password": "correct-horse-battery",
            "display_name": "X",
            "role": "creator",
            "handle": "eventful",
        },
    )
    assert r.status_code == 409
    assert count(clean_db, OutboxEvent) == 2


def test_readers_wait_for_transactions_still_in_flight(clean_db: Database) -> None:
    """A row committed after a later one must not be skipped by a cursor that moved past it."""
    from veri.events.outbox import append

    def account(name: str) -> Event:
        payload = AccountCreated(user_id=uuid.uuid4(), role="creator", display_name=name)
        return Event.new(payload, subject=f"user:{name}", actor="test")

    slow = clean_db.sessions()
    slow.begin()
    append(slow, [account("slow")], partitions=8)
    slow.flush()
    fast_event = account("fast")
    with clean_db.transaction() as fast:
        append(fast, [fast_event], partitions=8)
    with clean_db.sessions() as reader:
        assert read_after(reader, (0, 0), limit=10) == []  # the fast one waits behind the slow one
    slow.commit()
    slow.close()
    with clean_db.sessions() as reader:
        subjects = [r.subject for r in read_after(reader, (0, 0), limit=10)]
    assert subjects == ["user:slow", "user:fast"]


# -- consumers --------------------------------------------------------------------------------


def test_rollups_match_the_events_whatever_their_order(app: FastAPI, clean_db: Database) -> None:
    key = admin_key(app, clean_db)
    world = MetricsWorld.build(creators=3, posts=3, days=4)
    events = world.shuffled()
    for start in range(0, len(events), 10):
        assert ingest(app, key, events[start : start + 10]).status_code == 202  # type: ignore[attr-defined]
    loop = loop_for(clean_db, AnalyticsHandler())
    drain([loop])
    with clean_db.sessions() as db:
        assert creator_views(db) == world.expected_views
    # Delivered again (a relay retry, a replay): nothing is counted twice.
    replay_group(clean_db, loop.handler, (0, 0), reset=False)
    drain([loop])
    with clean_db.sessions() as db:
        assert creator_views(db) == world.expected_views


class Flaky:
    """A handler that cannot process some events until it is fixed; counts what it applied."""

    group = "flaky"
    types = frozenset({"content.published", "content.metrics_snapshot"})

    def __init__(self, poison: set[uuid.UUID]):
        self.poison = poison
        self.applied: list[uuid.UUID] = []

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        for event in events:
            if event.id in self.poison:
                raise ValueError(f"cannot digest {event.id}")
        db.execute(text("SELECT 1"))
        self.applied.extend(e.id for e in events)

    def after_commit(self, events: Sequence[Event]) -> None:
        return None

    def reset(self, db: Session) -> None:
        self.applied.clear()


def test_poison_event_is_dead_lettered_and_replayed_once(app: FastAPI, clean_db: Database) -> None:
    key = admin_key(app, clean_db)
    world = MetricsWorld.build(creators=1, posts=2, days=3)
    ingest(app, key, world.events)
    poison = uuid.UUID(str(world.events[2]["id"]))
    handler = Flaky({poison})
    loop = loop_for(clean_db, handler)
    drain([loop])
    assert poison not in handler.applied
    assert len(set(handler.applied)) == len(world.events) - 1  # the partition kept flowing
    with clean_db.sessions() as db:
        letter = db.scalars(select(DeadLetter)).one()
    assert letter.event_id == poison and letter.attempts == 3 and "cannot digest" in letter.error

    with pytest.raises(ValueError):
        replay_dead_letter(clean_db, {"flaky": handler}, letter.id)  # not fixed yet: stays
    handler.poison.clear()  # the fix
    assert replay_dead_letter(clean_db, {"flaky": handler}, letter.id) is True
    assert replay_dead_letter(clean_db, {"flaky": handler}, letter.id) is False
    assert handler.applied.count(poison) == 1


def test_invalid_stored_payload_goes_to_the_dead_letters(clean_db: Database) -> None:
    with clean_db.transaction() as db:
        db.execute(
            text(
                "INSERT INTO event_outbox (event_id, type, version, stream, subject, partition, actor, occurred_at, payload)"
                " VALUES (:id, 'content.published', 1, 'content', 'creator:x', 0, 't', now(), '{\"bad\": true}')"
            ),
            {"id": uuid.uuid4()},
        )
    loop = loop_for(clean_db, AnalyticsHandler())
    drain([loop])
    assert count(clean_db, DeadLetter) == 1


def test_two_workers_share_partitions_and_take_over(clean_db: Database) -> None:
    log = EmbeddedLog(clean_db, partitions=8, lease_seconds=1.0)
    first, second = log.consumer("shared", "w1"), log.consumer("shared", "w2")
    first.rebalance()
    assert first.owned == list(range(8))
    second.rebalance()
    assert second.owned == []  # everything is taken until w1 sees a second member
    first.rebalance()
    second.rebalance()
    assert len(first.owned) == 4 and len(second.owned) == 4
    assert set(first.owned).isdisjoint(second.owned)
    # w1 dies: it stops renewing. Once its leases lapse, w2 takes every partition.
    time.sleep(1.3)
    second.rebalance()
    time.sleep(1.3)
    second.rebalance()
    assert second.owned == list(range(8))
    with clean_db.sessions() as db:
        owners = set(db.scalars(select(ConsumerLease.owner).where(ConsumerLease.group_name == "shared")))
    assert owners == {"w2"}


def test_killed_worker_loses_nothing_and_counts_nothing_twice(app: FastAPI, clean_db: Database, tmp_path: Path) -> None:
    key = admin_key(app, clean_db)
    world = MetricsWorld.build(creators=6, posts=6, days=6, seed=11)
    events = world.shuffled()
    for start in range(0, len(events), 500):
        ingest(app, key, events[start : start + 500])
    relevant = len(events)
    env = {
        **os.environ,
        "VERI_DATABASE_URL": clean_db.url,
        "VERI_DATA_DIR": str(tmp_path),
        "VERI_EVENT_BATCH_SIZE": "20",
        "VERI_EVENT_LEASE_SECONDS": "1.5",
    }
    veri = [sys.executable, "-m", "veri.cli", "worker"]

    def processed() -> int:
        return count(clean_db, ProcessedEvent, ProcessedEvent.group_name == "analytics")

    worker = subprocess.Popen(veri, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while processed() < relevant // 4:
        assert time.monotonic() < deadline and worker.poll() is None
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    killed_at = processed()
    assert 0 < killed_at < relevant

    worker = subprocess.Popen(veri, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while processed() < relevant:
            assert time.monotonic() < deadline, f"{processed()} of {relevant} after restart"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
    with clean_db.sessions() as db:
        assert creator_views(db) == world.expected_views
    assert count(clean_db, DeadLetter) == 0
