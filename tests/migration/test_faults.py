"""The migration under faults, against real servers (nx-27017 and the test PostgreSQL): a backfill
killed with SIGKILL that resumes and verifies, MongoDB down for 30 s while people keep using the
product, and a document MongoDB refuses, which goes to the dead letters with the reason."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from tests.factories import (
    PASSWORD,
    accepted_deal,
    form_memories,
    free_port,
    log_in,
    make_admin,
    new_client,
    run_group,
    sign_up,
)
from veri import flags
from veri.app import create_app
from veri.config import Settings
from veri.db.engine import Database
from veri.demo import load_demo
from veri.events.bus.embedded import EmbeddedConsumer, EmbeddedLog
from veri.events.runtime import ConsumerLoop, RetryPolicy
from veri.migration.documents import AGGREGATES, fingerprint
from veri.migration.replicator import MongoReplicator
from veri.migration.service import backfill, rows_of, verify
from veri.migration.store import MongoStore
from veri.models.deals import DealMessage, Party
from veri.models.events import DeadLetter, OutboxEvent
from veri.models.migration import BackfillCheckpoint

NX = Path(sys.executable).parent / "nx-27017"


class NxServer:
    """A dedicated nx-27017 keeping its data in `folder` across restarts, on one port."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                str(NX),
                "--data-dir",
                str(self.folder / "data"),
                "--host",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--log-file",
                str(self.folder / "nx.log"),
                "--pid-file",
                str(self.folder / "nx.pid"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert self.process.poll() is None, "nx-27017 exited at start"
            assert time.monotonic() < deadline, "nx-27017 did not start"
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


def _mongo_url(store: MongoStore) -> str:
    host, port = store.client.address or ("127.0.0.1", 27017)
    return f"mongodb://{host}:{port}"


def _verify_all(database: Database, store: MongoStore) -> dict[str, dict[str, Any]]:
    return {a.name: verify(database, store, a.name).as_dict() for a in AGGREGATES}


def _use_mongo(admin: TestClient, flag: str = "USE_MONGO", **rule: Any) -> None:
    response = admin.put(f"/api/v1/admin/flags/{flag}", json={"mode": "on", "reason": "issue 16 faults", **rule})
    assert response.status_code == 200, response.text


# -- a. a backfill killed with SIGKILL ------------------------------------------------------------


def _checkpoints(database: Database) -> dict[str, BackfillCheckpoint]:
    with database.sessions() as db:
        return {c.aggregate: c for c in db.scalars(select(BackfillCheckpoint))}


def test_a_backfill_killed_with_sigkill_resumes_and_verifies(
    clean_db: Database, store: MongoStore, tmp_path: Path
) -> None:
    # The demo world (what `veri demo load` seeds) and the memories its messages form.
    with clean_db.transaction() as db:
        load_demo(db)
    form_memories(clean_db)
    rows = {a.name: rows_of(clean_db, a.name) for a in AGGREGATES}
    assert all(rows.values()), rows
    page = 8  # about 25 pages of 0.2 s: a run of a few seconds
    env = {
        **os.environ,
        "VERI_DATABASE_URL": clean_db.url,
        "VERI_MONGO_URL": _mongo_url(store),
        "VERI_MONGO_DB": store.db.name,
        "VERI_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "veri.cli", "migrate", "backfill", "--page", str(page), "--pause", "0.2", "--json"]

    # Killed once the first aggregate is done and a later one is part-way, with pages to go.
    with (tmp_path / "first.out").open("wb") as out:
        first = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        partial: BackfillCheckpoint | None = None
        while partial is None:
            assert first.poll() is None, (tmp_path / "first.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "the backfill made no progress"
            marks = _checkpoints(clean_db)
            if "creators" in marks and marks["creators"].done:
                partial = next(
                    (
                        m
                        for m in marks.values()
                        if not m.done and m.copied > 0 and m.copied + 2 * page <= rows[m.aggregate]
                    ),
                    None,
                )
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
    at_kill = _checkpoints(clean_db)
    cut = at_kill[partial.aggregate]
    assert not cut.done and cut.last_id, {k: (v.last_id, v.copied, v.done) for k, v in at_kill.items()}
    assert len(store.ids(partial.aggregate)) < rows[partial.aggregate]

    second = subprocess.run(command, env=env, capture_output=True, timeout=120)
    assert second.returncode == 0, second.stdout.decode()[-3000:] + second.stderr.decode()[-3000:]
    results = {r["aggregate"]: r for r in json.loads(second.stdout.decode().strip().splitlines()[-1])}
    assert all(r["done"] for r in results.values()), results
    # The aggregate cut mid-way went on after its checkpoint, not from the start; the finished one
    # read nothing again.
    resumed = results[partial.aggregate]
    assert resumed["resumed_after"] == cut.last_id, resumed
    assert resumed["read"] == rows[partial.aggregate] - cut.copied > 0, (resumed, cut.copied)
    assert results["creators"]["read"] == 0 and results["creators"]["resumed_after"], results["creators"]

    report = _verify_all(clean_db, store)
    assert all(r["mismatches"] == 0 and r["checked"] == rows[name] for name, r in report.items()), report


# -- b. MongoDB down for 30 s while people use the product -----------------------------------------


def _caught_up(consumer: EmbeddedConsumer) -> bool:
    """The group owns its partitions and has nothing left to read (the embedded log's lag is
    read from PostgreSQL, so asking from another thread is safe)."""
    return bool(consumer.owned) and sum(consumer.lag().values()) == 0


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
def nx_server(tmp_path: Path) -> Iterator[NxServer]:
    (tmp_path / "nx").mkdir()
    server = NxServer(tmp_path / "nx")
    server.start()
    yield server
    server.stop()


# The outage is MongoDB's: which PostgreSQL the app runs on changes nothing, and 30 s is long.
@pytest.mark.parametrize("database", ["embedded"], indirect=True)
def test_mongo_down_for_30_s_under_load_loses_nothing(
    clean_db: Database, settings: Settings, nx_server: NxServer
) -> None:
    mongo = settings.mongo.model_copy(update={"mongo_url": nx_server.url, "mongo_db": "veri"})
    app = create_app(settings.model_copy(update={"mongo": mongo}), database=clean_db)
    store = MongoStore(nx_server.url, "veri")
    clients: list[TestClient] = []
    stop = threading.Event()
    worker: threading.Thread | None = None
    try:
        make_admin(clean_db)
        admin = new_client(app)
        log_in(admin, "root@example.com", PASSWORD)
        brand, maya, deal = accepted_deal(
            app, "peakform", "maya", title="Spring", budget_cents=200_000, fee_cents=50_000
        )
        creators = [maya]
        for name in ("iris", "noor", "leo"):
            creators.append(new_client(app))
            sign_up(creators[-1], "creator", name)
        clients += [admin, brand, *creators]
        ids = [c.get("/api/v1/creators/me").json()["id"] for c in creators]
        # Dual-write for everyone, shadow reads on (their comparisons run off the response path).
        _use_mongo(admin)
        _use_mongo(admin, "READ_FROM_MONGO", mode="off", shadow=True)
        time.sleep(flags.REFRESH_SECONDS + 0.1)
        for aggregate in AGGREGATES:  # what existed before dual-write
            assert backfill(clean_db, store, aggregate.name).done

        # The `mongo` group as the worker runs it: its lease, batch size and retries.
        events = settings.events
        consumer = EmbeddedLog(clean_db, partitions=events.event_partitions, lease_seconds=events.event_lease_seconds)
        member = consumer.consumer("mongo", "faults")
        loop = ConsumerLoop(
            clean_db,
            member,
            MongoReplicator(store),
            batch_size=events.event_batch_size,
            retry=RetryPolicy(events.event_retry_attempts, events.event_retry_backoff_seconds),
        )
        worker = threading.Thread(target=loop.run, args=(stop,), daemon=True)
        worker.start()
        _wait_until(lambda: _caught_up(member), 30, "the group caught up before the outage")
        waits_before = _dependency_waits()

        nx_server.stop()
        done = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            writer = creators[done % len(creators)]
            sender = maya if done % 2 else brand
            answers = [
                writer.patch("/api/v1/creators/me", json={"bio": f"Update {done} while Mongo is down"}),
                sender.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": f"Message {done}"}),
                brand.get(f"/api/v1/creators/{ids[done % len(ids)]}"),
                maya.get(f"/api/v1/deals/{deal['id']}/messages"),
            ]
            for answer in answers:
                assert 200 <= answer.status_code < 300, (answer.request.url, answer.status_code, answer.text)
            done += 1
            time.sleep(0.05)
        assert done > 50, done
        assert not _caught_up(member)  # the changes of the outage wait in the log

        nx_server.start()  # the same port and data directory
        _wait_until(lambda: _caught_up(member), 40, "the group caught up after the outage")
        stop.set()
        worker.join(15)
        assert _dependency_waits() > waits_before  # batches were held back, not failed
        with clean_db.sessions() as db:
            dead = list(db.scalars(select(DeadLetter).where(DeadLetter.group_name == "mongo")))
        assert dead == [], [d.error[-500:] for d in dead]
        report = _verify_all(clean_db, store)
        assert all(r["mismatches"] == 0 for r in report.values()), report
        # Written before the outage and untouched since: kept across the restart.
        assert store.get("campaigns", deal["campaign_id"]) is not None
    finally:
        stop.set()
        if worker is not None:
            worker.join(15)
        for client in clients:
            client.__exit__(None, None, None)
        store.close()
        flags.uninstall()


def _dependency_waits() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("veri_events_dependency_waits_total", {"group": "mongo"}) or 0.0


# -- c. a document MongoDB refuses ----------------------------------------------------------------


def test_a_document_mongo_refuses_is_dead_lettered_with_the_reason_and_the_batch_goes_on(
    app: FastAPI, clean_db: Database, admin: TestClient, store: MongoStore
) -> None:
    brand, _, deal = accepted_deal(app, "peakform", "maya", title="Spring", budget_cents=200_000, fee_cents=50_000)
    lumen, ana, other = accepted_deal(app, "lumen", "ana", title="Glow", budget_cents=100_000, fee_cents=30_000)
    _use_mongo(admin)
    time.sleep(flags.REFRESH_SECONDS + 0.1)
    replicator = MongoReplicator(store)
    run_group(clean_db, replicator)
    before = store.get("threads", deal["id"])
    assert before is not None

    # A thread imported as history: ~50 MB of messages at the API's limit of 5,000 characters
    # each. pymongo refuses an update over the server's maxMessageSizeBytes (48 MB) on the
    # client; a real mongod refuses one over 16 MB itself (a BulkWriteError, code 10334), which
    # nx-27017 does not, so the thread is made large enough for the first.
    body = ("We will post the review on Friday and send the numbers after. " * 80)[:5000]
    with clean_db.transaction() as db:
        db.execute(
            insert(DealMessage),
            [{"deal_id": uuid.UUID(deal["id"]), "sender": Party.CREATOR, "body": body} for _ in range(9_800)],
        )
    # One batch: the next message in that thread, another creator's profile, another thread.
    assert brand.post(f"/api/v1/deals/{deal['id']}/messages", json={"body": "Got it, thanks!"}).status_code == 201
    assert ana.patch("/api/v1/creators/me", json={"bio": "Skincare, honestly"}).status_code == 200
    assert lumen.post(f"/api/v1/deals/{other['id']}/messages", json={"body": "Shipping today"}).status_code == 201
    run_group(clean_db, replicator)

    with clean_db.sessions() as db:
        dead = list(db.scalars(select(DeadLetter).where(DeadLetter.group_name == "mongo")))
        poison = db.scalar(select(OutboxEvent).where(OutboxEvent.event_id == dead[0].event_id)) if dead else None
    assert len(dead) == 1, [(d.event_type, d.error[-300:]) for d in dead]
    assert dead[0].event_type == "message.sent" and poison is not None
    assert "DocumentTooLarge" in dead[0].error and "too large" in dead[0].error, dead[0].error[-1000:]
    # The others in the batch were copied; the refused thread kept its last good copy.
    ana_id = ana.get("/api/v1/creators/me").json()["id"]
    assert store.get("creators", ana_id)["bio"] == "Skincare, honestly"  # type: ignore[index]
    assert store.get("threads", other["id"])["messages"][-1]["body"] == "Shipping today"  # type: ignore[index]
    assert fingerprint(store.get("threads", deal["id"]) or {}) == fingerprint(before)
    report = _verify_all(clean_db, store)
    assert report["threads"]["differ"] == [deal["id"]], report["threads"]
    assert all(r["mismatches"] == 0 for name, r in report.items() if name != "threads"), report
