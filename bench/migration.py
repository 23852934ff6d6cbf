"""bench/migration: the migration's copy paths against raw pymongo on the same documents, in the
same run, against a MongoDB wire-protocol server (nx-27017, started here on a free port) and
scratch PostgreSQL databases (created on `--pg-url`'s server, migrated, dropped). Prints one
JSON object per part.

    .venv/bin/python bench/migration.py --creators 2000

Part `copy` (2,000 bare creators):

- backfill: `migration.service.backfill` (read pages from Postgres, shape documents, insert
  the missing ones, checkpoint each page) against raw `insert_many` of the same documents;
- dual-write: one `creator.updated` event per creator through the `mongo` consumer group (read
  the current state, conditional upsert by version) against raw `bulk_write` of conditional
  upserts of the same documents. Ratios are ours / raw in documents per second (goal >= 0.5).

Part `world` (the demo world: `load_demo`, a simulated world played through ingestion as
`veri demo world` does, its memory formed without an embedder):

- backfill of all four aggregates against raw `insert_many` of the same documents (ratio as above);
- replication lag: the simulated world's own events (their deal, campaign and creator ids mapped
  onto the demo's rows, so every document they touch exists) ingested in transactions of 1,000
  at `--ingest-rate` events/s, the rate at which the demo world is ingested when `make run` loads
  it (317,245 events in 142.6 s, docs/performance.md), the `mongo` group running beside it as the
  worker runs it. Lag is the time from an ingest transaction's commit to every document its event
  touched being in Mongo at that event's version or newer. Goal: p95 under the interval between
  ingest transactions (the group is done with one before the next arrives). Baseline: a raw
  `bulk_write` of the same documents per transaction;
- shadow reads: p50/p95 of GET /api/v1/creators/{id} (the app in-process, TestClient) with
  READ_FROM_MONGO's shadow off and on, in alternating blocks, requests back to back and paced
  at `--shadow-rate`. Goal: shadow adds <= 5 ms at p95.

    .venv/bin/python bench/migration.py --parts world --world-creators 500 --world-brands 60 --world-days 180
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]
# The world's memory is formed without a model (as the tests do): the bench measures Mongo's copy.
os.environ.setdefault("VERI_EMBEDDER", "none")

import psycopg  # noqa: E402
from pymongo import UpdateOne  # noqa: E402
from sqlalchemy import create_engine, func, select, update  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from veri import flags  # noqa: E402
from veri.db import migrate  # noqa: E402
from veri.db.engine import Database, normalise_url  # noqa: E402
from veri.events.bus.embedded import EmbeddedLog  # noqa: E402
from veri.events.envelope import new_event_id  # noqa: E402
from veri.events.runtime import ConsumerLoop, RetryPolicy  # noqa: E402
from veri.events.service import emit, ingest  # noqa: E402
from veri.events.types import CreatorUpdated  # noqa: E402
from veri.migration.documents import AGGREGATES, aggregate_named, creator_documents  # noqa: E402
from veri.migration.replicator import MongoReplicator  # noqa: E402
from veri.migration.service import backfill  # noqa: E402
from veri.migration.store import MongoStore  # noqa: E402
from veri.models.accounts import Role, User  # noqa: E402
from veri.models.campaigns import Campaign  # noqa: E402
from veri.models.creators import Creator  # noqa: E402
from veri.models.deals import Deal  # noqa: E402
from veri.models.events import DeadLetter, OutboxEvent  # noqa: E402
from veri.models.flags import FlagRule  # noqa: E402

PARTITIONS = 8
# The demo world as `make run` ingests it (bench/demo_world.py, docs/performance.md).
DEMO_WORLD_EVENTS, DEMO_WORLD_INGEST_S = 317_245, 142.6
INGEST_BATCH = 1000  # load_world ingests in transactions of this many events
# The documents an event touches (memories come from the memory group, not from ingestion).
DOCUMENT_KEYS = [
    (name, key, aggregate_named(name).types)
    for name, key in (("creators", "creator_id"), ("campaigns", "campaign_id"), ("threads", "deal_id"))
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@contextmanager
def scratch_database(pg_url: str, prefix: str) -> Iterator[Database]:
    """A fresh database on `pg_url`'s server, migrated; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(normalise_url(pg_url.rsplit("/", 1)[0] + "/" + name), pool_size=8)
    database = Database(engine, sessionmaker(engine, expire_on_commit=False), None)
    try:
        migrate.upgrade(engine)
        database.detect_capabilities()
        yield database
    finally:
        flags.uninstall()
        engine.dispose()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def set_flag(database: Database, flag: str, mode: str, *, shadow: bool = False) -> None:
    with database.transaction() as db:
        row = db.get(FlagRule, flag)
        if row is None:
            db.add(FlagRule(flag=flag, mode=mode, percent=0, allow=[], deny=[], kill=False, shadow=shadow, version=1))
        else:
            row.mode, row.shadow, row.version = mode, shadow, row.version + 1
    time.sleep(flags.REFRESH_SECONDS + 0.1)


# -- part `copy`: 2,000 bare creators ------------------------------------------------------------


def copy_paths(args: argparse.Namespace, mongo_url: str) -> dict[str, Any]:
    with scratch_database(args.pg_url, "bench_migration") as database:
        with database.transaction() as db:
            for n in range(args.creators):
                user = User(email=f"c{n}@bench.example", password_hash="x", display_name=f"C {n}", role=Role.CREATOR)
                db.add(user)
                db.flush()
                db.add(
                    Creator(
                        user_id=user.id,
                        handle=f"c{n}",
                        display_name=f"C {n}",
                        niches=["fitness"],
                        platforms=["youtube"],
                    )
                )
        with database.sessions() as db:
            ids = list(db.scalars(select(Creator.id)))
            docs = list(creator_documents(db, ids).values())
        store = MongoStore(mongo_url, "bench")
        store.ensure_indexes()

        started = time.perf_counter()
        done = backfill(database, store, page=500)
        ours_backfill = time.perf_counter() - started
        raw = store.db["raw_insert"]
        started = time.perf_counter()
        raw.insert_many([{**d, "_v": 0} for d in docs], ordered=False)
        raw_backfill = time.perf_counter() - started

        flags.install(database)
        set_flag(database, "USE_MONGO", "on")
        with database.transaction() as db:
            creators = list(db.scalars(select(Creator)))
            for c in creators:
                c.bio = "updated for the benchmark"
                emit(
                    db,
                    CreatorUpdated(creator_id=c.id, handle=c.handle),
                    subject=f"creator:{c.id}",
                    actor="system:bench",
                )
        consumer = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=600).consumer("mongo", "bench")
        loop = ConsumerLoop(database, consumer, MongoReplicator(store), batch_size=1000, retry=RetryPolicy(1, 0.0))
        started = time.perf_counter()
        applied = loop.drain(lambda n: None)
        ours_dual = time.perf_counter() - started
        consumer.close()
        upserts = store.db["raw_upsert"]
        operations = [
            UpdateOne({"_id": d["_id"], "$or": [{"_v": {"$lt": 10}}, {"_v": {"$exists": False}}]},
                      {"$set": {**{k: v for k, v in d.items() if k != "_id"}, "_v": 10}}, upsert=True)
            for d in docs
        ]  # fmt: skip
        started = time.perf_counter()
        upserts.bulk_write(operations, ordered=False)
        raw_dual = time.perf_counter() - started
        store.client.drop_database("bench")
        store.close()
    n = len(docs)
    return {
        "bench": "migration",
        "server": "nx-27017 (MongoDB wire protocol on SQLite)",
        "creators": n,
        "backfill": {
            "ours_docs_per_s": round(done.copied / ours_backfill, 1),
            "raw_insert_many_docs_per_s": round(n / raw_backfill, 1),
            "ratio_ours_to_raw": round((done.copied / ours_backfill) / (n / raw_backfill), 3),
            "copied": done.copied,
        },
        "dual_write": {
            "events_applied": applied,
            "ours_docs_per_s": round(n / ours_dual, 1),
            "raw_bulk_upserts_docs_per_s": round(n / raw_dual, 1),
            "ratio_ours_to_raw": round((n / ours_dual) / (n / raw_dual), 3),
        },
        "goal_ratio": 0.5,
    }


# -- part `world`: the demo world ------------------------------------------------------------------


def build_world(database: Database, args: argparse.Namespace) -> dict[str, Any]:
    """The demo data, a simulated world ingested around it, and the memory its messages form."""
    from veri.demo import load_demo, load_world
    from veri.memory.handlers import MemoryHandler

    started = time.perf_counter()
    with database.transaction() as db:
        load_demo(db)
    world = load_world(
        database, creators=args.world_creators, brands=args.world_brands, days=args.world_days, partitions=PARTITIONS
    )
    assert world.state == "done", world.error
    consumer = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=600).consumer("memory", "bench")
    loop = ConsumerLoop(database, consumer, MemoryHandler(None), batch_size=256, retry=RetryPolicy(1, 0.0))
    loop.drain()
    consumer.close()
    return {"world_events": world.events, "built_s": round(time.perf_counter() - started, 1)}


def world_backfill(database: Database, mongo_url: str) -> dict[str, Any]:
    store = MongoStore(mongo_url, "bench_world")
    store.ensure_indexes()
    parts: dict[str, Any] = {}
    ours_total = raw_total = 0.0
    docs_total = 0
    for aggregate in AGGREGATES:
        with database.sessions() as db:
            ids = list(db.scalars(select(aggregate.id_column)))
            docs = [d for i in range(0, len(ids), 500) for d in aggregate.documents(db, ids[i : i + 500]).values()]
        started = time.perf_counter()
        done = backfill(database, store, aggregate.name, page=500)
        ours = time.perf_counter() - started
        raw = store.db[f"raw_{aggregate.name}"]
        started = time.perf_counter()
        raw.insert_many([{**d, "_v": 0} for d in docs], ordered=False)
        raw_s = time.perf_counter() - started
        assert done.copied == len(docs), (aggregate.name, done.copied, len(docs))
        parts[aggregate.name] = {
            "documents": len(docs),
            "ours_docs_per_s": round(len(docs) / ours, 1),
            "raw_insert_many_docs_per_s": round(len(docs) / raw_s, 1),
            "ratio_ours_to_raw": round(raw_s / ours, 3),
        }
        ours_total, raw_total, docs_total = ours_total + ours, raw_total + raw_s, docs_total + len(docs)
        raw.drop()
    store.close()
    return {
        "aggregates": parts,
        "documents": docs_total,
        "ours_s": round(ours_total, 3),
        "raw_insert_many_s": round(raw_total, 3),
        "ratio_ours_to_raw": round(raw_total / ours_total, 3),
        "goal_ratio": 0.5,
    }


class TimedStore(MongoStore):
    """The Mongo store, noting when each document was written and at which version."""

    def __init__(self, url: str, database: str):
        super().__init__(url, database)
        self.landed: list[tuple[str, str, int, float]] = []

    def put_many(self, collection: str, docs: Sequence[tuple[str, int, dict[str, Any]]]) -> int:
        written = super().put_many(collection, docs)
        now = time.perf_counter()
        self.landed.extend((collection, doc_id, version, now) for doc_id, version, _ in docs)
        return written


class CountingReplicator(MongoReplicator):
    """The `mongo` group's handler, counting the handlings that raised and why."""

    def __init__(self, store: MongoStore):
        super().__init__(store)
        self.failures: Counter[str] = Counter()

    def handle(self, db: Any, events: Sequence[Any]) -> None:
        try:
            super().handle(db, events)
        except Exception as exc:
            self.failures[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
            raise


def _stable(key: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % n


def world_feed(database: Database, args: argparse.Namespace) -> list[list[dict[str, Any]]]:
    """Ingest batches of the simulated world (500 creators, 60 brands, 180 days, seed 42: the demo
    world's defaults) from `--feed-from-day` on, with its deals, campaigns and creators mapped
    onto the demo's rows and new event ids."""
    from veri.simulate.engine import Simulation, SimulationParams

    with database.sessions() as db:
        deals = [(str(d.id), str(d.campaign_id), str(d.creator_id)) for d in db.scalars(select(Deal).order_by(Deal.id))]
        campaigns = {str(c.id): str(c.brand_id) for c in db.scalars(select(Campaign))}
    brand_of = campaigns
    campaign_ids = sorted(campaigns)
    wanted = int(args.ingest_rate * args.feed_seconds)
    simulation = Simulation(SimulationParams(creators=500, brands=60, days=180, seed=42))
    batch: list[dict[str, Any]] = []
    batches: list[list[dict[str, Any]]] = []
    fed = 0
    for lines in simulation.days():
        if simulation.day_done <= args.feed_from_day:
            continue
        for line in lines:
            event = json.loads(line)
            payload = event["payload"]
            event["id"] = str(new_event_id())
            if payload.get("deal_id"):
                deal, campaign, creator = deals[_stable(payload["deal_id"], len(deals))]
                payload.update(deal_id=deal, campaign_id=campaign, creator_id=creator, brand_id=brand_of[campaign])
                event["subject"] = f"creator:{creator}"
            elif event["type"].startswith("campaign.") and "campaign_id" in payload:
                campaign = campaign_ids[_stable(payload["campaign_id"], len(campaign_ids))]
                payload.update(campaign_id=campaign, brand_id=brand_of[campaign])
                event["subject"] = f"campaign:{campaign}"
            batch.append(event)
            fed += 1
            if len(batch) == INGEST_BATCH:
                batches.append(batch)
                batch = []
            if fed >= wanted:
                break
        if fed >= wanted:
            break
    if batch:
        batches.append(batch)
    return batches


def replication_lag(database: Database, mongo_url: str, args: argparse.Namespace) -> dict[str, Any]:
    batches = world_feed(database, args)
    handled = MongoReplicator.types
    events_fed = sum(len(b) for b in batches)
    mongo_events = sum(1 for b in batches for e in b if e["type"] in handled)
    interval = INGEST_BATCH / args.ingest_rate

    store = TimedStore(mongo_url, "bench_world")
    flags.install(database)
    set_flag(database, "USE_MONGO", "on")
    consumer = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=10).consumer("mongo", "bench-lag")
    replicator = CountingReplicator(store)
    loop = ConsumerLoop(database, consumer, replicator, batch_size=1000, retry=RetryPolicy(3, 0.2))
    stop = threading.Event()
    worker = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    worker.start()
    # What the world's memory formation and the demo emitted before: copied first, timed apart.
    began = time.perf_counter()
    while not consumer.owned or sum(consumer.lag().values()) > 0:
        time.sleep(0.2)
    catch_up_s = time.perf_counter() - began
    catch_up_failures = dict(replicator.failures)
    replicator.failures.clear()
    store.landed.clear()

    # (commit time, [(position, [(collection, id), ...])]) per ingest transaction.
    committed: list[tuple[float, list[tuple[int, list[tuple[str, str]]]]]] = []
    behind = 0
    start = time.perf_counter()
    for n, batch in enumerate(batches):
        due = start + n * interval
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        else:
            behind += 1
        with database.transaction() as db:
            result = ingest(db, batch, partial=False, partitions=PARTITIONS)
            assert not result.rejected, result.rejected[:3]
        at = time.perf_counter()
        touched = {
            e["id"]: [(name, str(e["payload"][key])) for name, key, types in DOCUMENT_KEYS if e["type"] in types]
            for e in batch
            if e["type"] in handled
        }
        with database.sessions() as db:
            positions = dict(
                db.execute(
                    select(OutboxEvent.event_id, OutboxEvent.position).where(
                        OutboxEvent.event_id.in_([uuid.UUID(i) for i in touched])
                    )
                ).all()
            )
        committed.append((at, [(positions[uuid.UUID(i)], docs) for i, docs in touched.items() if docs]))
    fed_s = time.perf_counter() - start
    while sum(consumer.lag().values()):
        time.sleep(0.05)
    drained_s = time.perf_counter() - start
    stop.set()
    worker.join(30)
    with database.sessions() as db:
        dead = db.scalar(select(func.count()).select_from(DeadLetter).where(DeadLetter.group_name == "mongo")) or 0

    landings: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for collection, doc_id, version, at in store.landed:
        landings.setdefault((collection, doc_id), []).append((at, version))
    lags: list[float] = []
    missing = 0
    for at, events in committed:
        for position, docs in events:
            worst = 0.0
            for doc in docs:
                landed = next((t for t, v in landings.get(doc, []) if v >= position), None)
                if landed is None:
                    missing += 1
                    continue
                worst = max(worst, landed - at)
            lags.append(worst * 1000)

    # Baseline: the same documents, already built, written by one raw bulk_write per transaction.
    raw = store.db["raw_lag"]
    raw_ms: list[float] = []
    for n, (_, events) in enumerate(committed):
        wanted: dict[str, set[str]] = {}
        for _, docs in events:
            for collection, doc_id in docs:
                wanted.setdefault(collection, set()).add(doc_id)
        with database.sessions() as db:
            built = [
                d
                for collection, ids in wanted.items()
                for d in aggregate_named(collection).documents(db, [uuid.UUID(i) for i in ids]).values()
            ]
        if not built:
            continue
        operations = [
            UpdateOne({"_id": d["_id"], "$or": [{"_v": {"$lt": n + 1}}, {"_v": {"$exists": False}}]},
                      {"$set": {**{k: v for k, v in d.items() if k != "_id"}, "_v": n + 1}}, upsert=True)
            for d in built
        ]  # fmt: skip
        started = time.perf_counter()
        raw.bulk_write(operations, ordered=False)
        raw_ms.append((time.perf_counter() - started) * 1000)
    raw.drop()
    store.close()
    flags.uninstall()
    set_flag(database, "USE_MONGO", "off")
    types = Counter(e["type"] for b in batches for e in b if e["type"] in handled)
    return {
        "catch_up_before_feed_s": round(catch_up_s, 1),
        "failed_handlings_during_catch_up": catch_up_failures,
        "failed_handlings_during_feed": dict(replicator.failures),
        "dead_letters": dead,
        "assumed_ingest_events_per_s": args.ingest_rate,
        "assumption": (
            f"the demo world as `make run` ingests it: {DEMO_WORLD_EVENTS} events in {DEMO_WORLD_INGEST_S} s "
            f"(docs/performance.md), in transactions of {INGEST_BATCH}; in simulated time the same world "
            f"makes {DEMO_WORLD_EVENTS / (180 * 86400):.3f} events/s"
        ),
        "events_fed": events_fed,
        "mongo_group_events": mongo_events,
        "mongo_group_types": dict(types.most_common()),
        "offered_events_per_s": round(events_fed / fed_s, 1),
        "offered_mongo_events_per_s": round(mongo_events / fed_s, 1),
        "transactions": len(batches),
        "transactions_behind_schedule": behind,
        "interval_between_transactions_ms": round(interval * 1000, 1),
        "lag_ms_p50": round(percentile(lags, 50), 1),
        "lag_ms_p95": round(percentile(lags, 95), 1),
        "lag_ms_p99": round(percentile(lags, 99), 1),
        "lag_ms_max": round(max(lags), 1) if lags else None,
        "lag_samples": len(lags),
        "not_landed": missing,
        "drained_s_after_start": round(drained_s, 2),
        "fed_s": round(fed_s, 2),
        "raw_bulk_write_ms_p50": round(percentile(raw_ms, 50), 1),
        "raw_bulk_write_ms_p95": round(percentile(raw_ms, 95), 1),
        "lag_p50_over_raw_write_p50": round(percentile(lags, 50) / percentile(raw_ms, 50), 2) if raw_ms else None,
        "goal": "lag p95 < interval between ingest transactions",
        "goal_met": percentile(lags, 95) < interval * 1000,
    }


def shadow_reads(database: Database, mongo_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """GET /api/v1/creators/{id} with the shadow off and on, in alternating blocks, twice: requests
    back to back (the process saturated: the comparisons compete with requests for the GIL and
    the two cores) and paced at `--shadow-rate` a second (a comparison has time to run between
    requests, as off the response path means)."""
    from fastapi.testclient import TestClient

    from veri.app import create_app
    from veri.config import DatabaseSettings, MongoSettings, SecuritySettings, Settings
    from veri.demo import DEMO_PASSWORD
    from veri.models.migration import ShadowPath

    settings = Settings(
        env="test",
        log_json=True,
        log_level="WARNING",
        db=DatabaseSettings(database_url=database.url, data_dir=Path(tempfile.mkdtemp(prefix="veri-bench-"))),
        security=SecuritySettings(secret_key="bench-secret-key-not-for-production"),
        mongo=MongoSettings(mongo_url=mongo_url, mongo_db="bench_world"),
    )
    app = create_app(settings, database=database)
    with database.sessions() as db:
        ids = [str(i) for i in db.scalars(select(Creator.id).order_by(Creator.id))]
    phases: dict[str, dict[str, Any]] = {}
    with TestClient(app) as client:
        answer = client.post("/api/v1/auth/login", json={"email": "team@peakform.example", "password": DEMO_PASSWORD})
        assert answer.status_code == 200, answer.text
        set_flag(database, "USE_MONGO", "on")
        reads = app.state.reads
        # How long each comparison takes in the background thread (a read of the other store and
        # the two fingerprints), and each flush of the results (two upserts per path, per batch).
        compare, compare_ms = reads._compare, []

        def timed(comparison: Any) -> Any:
            started = time.perf_counter()
            result = compare(comparison)
            compare_ms.append((time.perf_counter() - started) * 1000)
            return result

        reads._compare = timed
        flush, flush_ms, flushed = reads._flush, [], []

        def timed_flush(tally: Any) -> None:
            started = time.perf_counter()
            flushed.append(tally.pending)
            flush(tally)
            flush_ms.append((time.perf_counter() - started) * 1000)

        reads._flush = timed_flush
        for n in range(100):  # warm up both paths
            client.get(f"/api/v1/creators/{ids[n % len(ids)]}")
        per_block = args.shadow_requests // args.shadow_blocks
        for phase, rate in (("back_to_back", None), ("paced", args.shadow_rate)):
            latencies: dict[str, list[float]] = {"off": [], "on": []}
            for block in range(2 * args.shadow_blocks):
                mode = "on" if block % 2 else "off"
                set_flag(database, "READ_FROM_MONGO", "off", shadow=mode == "on")
                began = time.perf_counter()
                for n in range(per_block):
                    if rate is not None:
                        time.sleep(max(0.0, began + n / rate - time.perf_counter()))
                    started = time.perf_counter()
                    answer = client.get(f"/api/v1/creators/{ids[n % len(ids)]}")
                    latencies[mode].append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, answer.text
                reads.wait_idle(60)  # the comparisons finish before the next block is timed
            p50 = {mode: percentile(values, 50) for mode, values in latencies.items()}
            p95 = {mode: percentile(values, 95) for mode, values in latencies.items()}
            phases[phase] = {
                "requests_per_s": rate or "as fast as answered",
                "requests_per_mode": len(latencies["off"]),
                "off_ms_p50": round(p50["off"], 2),
                "off_ms_p95": round(p95["off"], 2),
                "on_ms_p50": round(p50["on"], 2),
                "on_ms_p95": round(p95["on"], 2),
                "added_ms_p50": round(p50["on"] - p50["off"], 2),
                "added_ms_p95": round(p95["on"] - p95["off"], 2),
                "goal_met": p95["on"] - p95["off"] <= 5,
            }
        with database.sessions() as db:
            compared = {
                p.path: {"reads": p.reads, "mismatches": p.mismatches, "lagged": p.lagged}
                for p in db.scalars(select(ShadowPath))
            }
        with database.transaction() as db:
            db.execute(update(FlagRule).values(shadow=False))
    return {
        "path": "GET /api/v1/creators/{id} (TestClient, in-process, as a brand)",
        "blocks_per_mode": args.shadow_blocks,
        **phases,
        "comparisons": compared,
        "comparison_ms_p50": round(percentile(compare_ms, 50), 2),
        "comparison_ms_p95": round(percentile(compare_ms, 95), 2),
        "flushes": len(flush_ms),
        "comparisons_per_flush_p50": percentile(flushed, 50),
        "flush_ms_p50": round(percentile(flush_ms, 50), 2),
        "goal": "shadow adds <= 5 ms at p95",
    }


def world(args: argparse.Namespace, mongo_url: str) -> list[dict[str, Any]]:
    with scratch_database(args.pg_url, "bench_migration_world") as database:
        built = build_world(database, args)
        rows = {}
        with database.sessions() as db:
            for aggregate in AGGREGATES:
                rows[aggregate.name] = int(db.scalar(select(func.count()).select_from(aggregate.id_column.class_)) or 0)
        head = {
            "bench": "migration",
            "server": "nx-27017 (MongoDB wire protocol on SQLite)",
            "world": {
                "demo": "load_demo",
                "simulated": {"creators": args.world_creators, "brands": args.world_brands, "days": args.world_days},
                **built,
                "documents": rows,
                "embeddings": database.capabilities.get("pgvector", False),
            },
        }
        results = [{**head, "part": "world_backfill", "backfill": world_backfill(database, mongo_url)}]
        print(json.dumps(results[-1]), flush=True)
        results.append({**head, "part": "replication_lag", "lag": replication_lag(database, mongo_url, args)})
        print(json.dumps(results[-1]), flush=True)
        results.append({**head, "part": "shadow_reads", "shadow": shadow_reads(database, mongo_url, args)})
        print(json.dumps(results[-1]), flush=True)
        MongoStore(mongo_url, "bench_world").client.drop_database("bench_world")
        return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creators", type=int, default=2000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--parts", default="copy,world", help="copy, world (comma-separated)")
    parser.add_argument("--world-creators", type=int, default=80)
    parser.add_argument("--world-brands", type=int, default=10)
    parser.add_argument("--world-days", type=int, default=40)
    parser.add_argument("--ingest-rate", type=float, default=round(DEMO_WORLD_EVENTS / DEMO_WORLD_INGEST_S))
    parser.add_argument("--feed-seconds", type=float, default=30.0)
    parser.add_argument("--feed-from-day", type=int, default=60, help="simulated days skipped (deals under way)")
    parser.add_argument("--shadow-requests", type=int, default=1000, help="per mode and phase")
    parser.add_argument("--shadow-blocks", type=int, default=5, help="alternating blocks per mode")
    parser.add_argument("--shadow-rate", type=float, default=40.0, help="requests/s of the paced phase")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    from veri.observability import configure_logging

    configure_logging("WARNING")  # logs on stderr; stdout is the JSON
    port, folder = free_port(), Path(tempfile.mkdtemp(prefix="nx-bench-"))
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "nx-27017"), "--db", "memory", "--host", "127.0.0.1", "-p", str(port),
         "--log-file", str(folder / "nx.log"), "--pid-file", str(folder / "nx.pid")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1.5)
        url = f"mongodb://127.0.0.1:{port}"
        if "copy" in parts:
            print(json.dumps(copy_paths(args, url)), flush=True)
        if "world" in parts:
            world(args, url)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
