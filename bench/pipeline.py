"""bench/pipeline: synthetic events through ingestion -> outbox -> relay -> bus -> enrichment ->
rollups, on the Kafka path (tansu) and on the embedded log, with the raw ceilings measured in
the same run: the same messages produced and consumed by the same Kafka client with no
processing, and the same rows written by COPY. Prints one JSON object per result.

    .venv/bin/python bench/pipeline.py --events 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import Tansu, free_port

from veri.analytics.handlers import AnalyticsHandler
from veri.config import DatabaseSettings, SecuritySettings, Settings
from veri.db import migrate
from veri.db.embedded import start_embedded_postgres
from veri.db.engine import Database
from veri.events.bus.embedded import EmbeddedLog
from veri.events.bus.kafka import KafkaBus, encode
from veri.events.envelope import new_event_id
from veri.events.outbox import read_after
from veri.events.service import ingest, replay_group
from veri.events.worker import Worker
from veri.models.events import ProcessedEvent

PARTITIONS = 8


def synthetic_events(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Metrics snapshots of many posts by many creators, the bulk of Veri's traffic, with a
    content.published before each post's first snapshot."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(days=30)
    events: list[dict[str, Any]] = []
    posts: list[tuple[str, str, datetime, int]] = []
    creators = [str(uuid.uuid4()) for _ in range(max(n // 2000, 5))]
    while len(events) < n:
        if not posts or rng.random() < 0.05:
            creator = rng.choice(creators)
            content = str(uuid.uuid4())
            published = start + timedelta(minutes=rng.randint(0, 20 * 24 * 60))
            posts.append((creator, content, published, 0))
            events.append(
                _env(
                    "content.published",
                    creator,
                    published,
                    {
                        "content_id": content,
                        "creator_id": creator,
                        "platform": "tiktok",
                        "kind": "short",
                        "published_at": published.isoformat(),
                    },
                )
            )
            continue
        index = rng.randrange(len(posts))
        creator, content, last_seen, views = posts[index]
        # A post's snapshots come in time order, its counts only grow: as platforms report them.
        views += rng.randint(10, 3000)
        captured = last_seen + timedelta(hours=rng.randint(1, 12))
        posts[index] = (creator, content, captured, views)
        events.append(
            _env(
                "content.metrics_snapshot",
                creator,
                captured,
                {
                    "content_id": content,
                    "creator_id": creator,
                    "platform": "tiktok",
                    "captured_at": captured.isoformat(),
                    "metrics": {
                        "play_count": views,
                        "digg_count": views // 15,
                        "comment_count": views // 120,
                        "share_count": views // 400,
                    },
                },
            )
        )
    return events


def _env(type_: str, creator: str, at: datetime, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(new_event_id()),
        "type": type_,
        "occurred_at": at.isoformat(),
        "subject": f"creator:{creator}",
        "actor": "bench",
        "payload": payload,
    }


def fresh_database(server: Any, name: str) -> Database:
    server.drop_database(name)
    server.ensure_database(name)
    engine = create_engine(server.url(name), pool_size=10, max_overflow=10)
    migrate.upgrade(engine)
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), embedded=server)


def processed(database: Database) -> int:
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(ProcessedEvent)) or 0)


def start_workers(database: Database, bus: Any, processes: int, workdir: Path) -> list[subprocess.Popen[bytes]]:
    """`veri worker` processes, as deployed: one relay (Kafka) and `processes` consumers that
    share the partitions."""
    env = {
        **os.environ,
        "VERI_DATABASE_URL": database.url,
        "VERI_DATA_DIR": str(workdir),
        "VERI_LOG_LEVEL": "WARNING",
        "VERI_EVENT_BATCH_SIZE": "5000",
        "VERI_EVENT_PARTITIONS": str(PARTITIONS),
        "VERI_EVENT_BUS": bus.name,
        "VERI_KAFKA_BOOTSTRAP": getattr(bus, "bootstrap", ""),
    }
    # The pipeline under test ends at the analytics rollups; the memory group runs elsewhere.
    command = [sys.executable, "-m", "veri.cli", "worker", "--group", "analytics", "--role"]
    roles = (["relay"] if bus.needs_relay else []) + ["consumers"] * processes
    workers = [subprocess.Popen([*command, role], env=env, stdout=subprocess.DEVNULL) for role in roles]
    time.sleep(3)  # joined their groups
    return workers


def run_pipeline(
    database: Database, bus: Any, events: list[dict[str, Any]], settings: Settings, processes: int, workdir: Path
) -> dict[str, float]:
    """Ingest in batches of 1,000 while the worker runs (in this process, or in `processes`
    worker processes); time until every event is applied."""
    if processes:
        workers = start_workers(database, bus, processes, workdir)
    else:
        worker = Worker(database, bus, [AnalyticsHandler()], settings, member="bench", lag_interval=60)
        worker.start()
    started = time.perf_counter()
    for i in range(0, len(events), 1000):
        with database.transaction() as db:
            result = ingest(db, events[i : i + 1000], partial=False, partitions=PARTITIONS)
            assert not result.rejected, result.rejected[:3]
    ingested = time.perf_counter() - started
    while processed(database) < len(events):
        time.sleep(0.05)
        if time.perf_counter() - started > 1800:
            raise RuntimeError("pipeline did not finish in 30 minutes")
    total = time.perf_counter() - started
    if processes:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        for process in workers:
            process.wait(30)
    else:
        worker.stop()
    return {"seconds": total, "ingest_seconds": ingested}


def kafka_ceiling(bootstrap: str, database: Database, n: int) -> float:
    """The same encoded records, produced and consumed by the same client, no processing."""
    from confluent_kafka import Consumer, Producer

    with database.sessions() as db:
        records = read_after(db, (0, 0), limit=n)
    values = [(r.subject.encode(), encode(r)) for r in records]
    topic = f"ceiling-{uuid.uuid4().hex[:6]}"
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": "lz4",
            "linger.ms": 5,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    started = time.perf_counter()
    for key, value in values:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    produce_seconds = time.perf_counter() - started
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": topic,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 3000,
        }
    )
    consumer.subscribe([topic])
    seen, first_delivery = 0, 0.0
    while seen < len(values):
        got = sum(1 for m in consumer.consume(num_messages=5000, timeout=1.0) if m.error() is None)
        if got and not first_delivery:  # joining the group is not throughput
            first_delivery = time.perf_counter()
        seen += got
    elapsed = produce_seconds + time.perf_counter() - first_delivery
    consumer.close()
    return len(values) / elapsed


def copy_ceiling(database: Database, events: list[dict[str, Any]]) -> float:
    """The same rows written to an outbox-shaped table with COPY."""
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "CREATE TEMP TABLE copy_ceiling (LIKE event_outbox INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
        )
        started = time.perf_counter()
        with cursor.copy(  # type: ignore[attr-defined]
            "COPY copy_ceiling (event_id, type, version, stream, subject, partition, actor, occurred_at, payload) FROM STDIN"
        ) as copy:
            for e in events:
                copy.write_row(
                    (
                        e["id"],
                        e["type"],
                        1,
                        "content",
                        e["subject"],
                        0,
                        e["actor"],
                        e["occurred_at"],
                        json.dumps(e["payload"]),
                    )
                )
        raw.commit()
        return len(events) / (time.perf_counter() - started)
    finally:
        raw.close()


def replay_rate(database: Database, n: int, processes: int, workdir: Path) -> float:
    """The month replayed: the analytics group's state deleted and rebuilt from the log by the
    worker processes, no ingestion (what `veri events replay --from beginning --reset` does)."""
    bus = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=30)
    workers = start_workers(database, bus, max(processes, 1), workdir)  # idle: all is processed
    started = time.perf_counter()
    replay_group(database, AnalyticsHandler(), (0, 0), reset=True)
    while processed(database) < n:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    for process in workers:
        process.send_signal(signal.SIGTERM)
    for process in workers:
        process.wait(30)
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument(
        "--processes", type=int, default=2, help="consumer worker processes (0: threads in this process)"
    )
    args = parser.parse_args()
    n = args.events
    events = synthetic_events(n)
    workdir = Path(tempfile.mkdtemp(prefix="veri-bench-"))
    server = start_embedded_postgres(workdir, database="bench")
    broker = Tansu(free_port(), workdir / "tansu.log")
    broker.start()
    settings = Settings(
        env="test",
        log_level="WARNING",
        db=DatabaseSettings(database_url="unused://", data_dir=workdir),
        security=SecuritySettings(secret_key="bench"),
    )
    settings.events.event_batch_size = 5000
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        embedded_db = fresh_database(server, "bench_embedded")
        embedded = run_pipeline(
            embedded_db,
            EmbeddedLog(embedded_db, partitions=PARTITIONS, lease_seconds=30),
            events,
            settings,
            args.processes,
            workdir,
        )
        copy_rate = copy_ceiling(embedded_db, events)
        replay = replay_rate(embedded_db, n, args.processes, workdir)
        kafka_db = fresh_database(server, "bench_kafka")
        bus = KafkaBus(broker.bootstrap, partitions=PARTITIONS)
        bus.ensure_topics()
        kafka = run_pipeline(kafka_db, bus, events, settings, args.processes, workdir)
        kafka_raw = kafka_ceiling(broker.bootstrap, kafka_db, n)
        for path, result, ceiling, baseline in (
            ("kafka", kafka, kafka_raw, "raw confluent-kafka produce+consume of the same records"),
            ("embedded", embedded, copy_rate, "COPY of the same rows"),
        ):
            rate = n / result["seconds"]
            print(
                json.dumps(
                    {
                        "bench": "pipeline",
                        "path": path,
                        "events": n,
                        "seconds": round(result["seconds"], 2),
                        "events_per_s": round(rate),
                        "ingest_events_per_s": round(n / result["ingest_seconds"]),
                        "ceiling_events_per_s": round(ceiling),
                        "ceiling": baseline,
                        "ratio_to_ceiling": round(rate / ceiling, 3),
                        "worker_processes": args.processes,
                    }
                )
            )
        print(
            json.dumps(
                {
                    "bench": "pipeline",
                    "path": "replay",
                    "events": n,
                    "events_per_s": round(replay),
                    "projected_minutes_for_10M": round(10_000_000 / replay / 60, 1),
                    "baseline": "COPY of the same rows",
                    "ceiling_events_per_s": round(copy_rate),
                    "ratio_to_ceiling": round(replay / copy_rate, 3),
                }
            )
        )
    finally:
        broker.stop()
        server.stop()


if __name__ == "__main__":
    main()
