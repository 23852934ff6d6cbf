"""bench/pipeline: synthetic events through ingestion -> outbox -> relay -> bus -> enrichment ->
rollups, on the Kafka path (tansu) and on the embedded log, with 1, 2, 4 ... `veri worker`
processes, against the minimal pipeline (bench/pipeline_minimal.py: the same events, the same
effects, one set-based statement per batch) run on the same events in the same run. Then the
log replayed (the analytics group's state deleted and rebuilt) by both, and the month of 10M
events projected from it. Prints one JSON object per result.

    .venv/bin/python bench/pipeline.py --events 100000 --processes 1,2,4 --replay-events 1000000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from pipeline_minimal import BULK_PRODUCER, MinimalPipeline, copy_into_outbox
from tests.factories import Tansu, free_port

from veri.analytics.handlers import AnalyticsHandler
from veri.analytics.repository import AnalyticsRepository
from veri.db import migrate
from veri.db.embedded import start_embedded_postgres
from veri.db.engine import Database
from veri.events.bus.embedded import EmbeddedLog
from veri.events.bus.kafka import KafkaBus, encode
from veri.events.envelope import new_event_id
from veri.events.outbox import read_after
from veri.events.service import ingest, replay_group
from veri.models.events import ConsumerLease, ProcessedEvent

PARTITIONS = 8
BATCH = 5000
GOAL_EVENTS_PER_S = 25_000
GOAL_RATIO = 0.5
GOAL_REPLAY_MINUTES = 8.0


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


class Assignments:
    """What each Kafka worker process was last assigned, read from its log as it runs (tansu
    describes a group without its members)."""

    def __init__(self, processes: list[subprocess.Popen[bytes]]):
        self.latest = [0] * len(processes)
        for index, process in enumerate(processes):
            threading.Thread(target=self._follow, args=(index, process), daemon=True).start()

    def _follow(self, index: int, process: subprocess.Popen[bytes]) -> None:
        assert process.stderr is not None
        for line in process.stderr:  # read to the end, so a full pipe never blocks the worker
            if b"partitions_assigned" in line:
                self.latest[index] = len(json.loads(line)["partitions"])


def wait_balanced(
    database: Database, bus: Any, processes: int, assignments: Assignments | None, timeout: float = 180.0
) -> None:
    """Until every worker process holds its share of the partitions: joining a group is not
    throughput, and a member that owns nothing yet would make the run look serial."""
    deadline = time.monotonic() + timeout
    fair = -(-PARTITIONS // processes)
    while time.monotonic() < deadline:
        if assignments is not None:
            shares = assignments.latest
            if all(shares) and sum(shares) == len(bus.topics()) * PARTITIONS:
                return
        else:
            with database.sessions() as db:
                rows = db.execute(
                    select(ConsumerLease.owner, func.count())
                    .where(ConsumerLease.group_name == "analytics", ConsumerLease.expires_at > func.now())
                    .group_by(ConsumerLease.owner)
                ).all()
            shares = [int(n) for _, n in rows]
            if len(shares) == processes and sum(shares) == PARTITIONS and max(shares) <= fair:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{processes} workers did not share the partitions within {timeout:.0f} s")


def start_workers(database: Database, bus: Any, processes: int, workdir: Path) -> list[subprocess.Popen[bytes]]:
    """`veri worker` processes, as deployed: one relay (Kafka) and `processes` consumers that
    share the partitions."""
    env = {
        **os.environ,
        "VERI_DATABASE_URL": database.url,
        "VERI_DATA_DIR": str(workdir),
        "VERI_LOG_LEVEL": "WARNING",
        "VERI_EVENT_BATCH_SIZE": str(BATCH),
        "VERI_EVENT_PARTITIONS": str(PARTITIONS),
        "VERI_EVENT_BUS": bus.name,
        "VERI_KAFKA_BOOTSTRAP": getattr(bus, "bootstrap", ""),
        # The analytics group embeds nothing: the worker's chores need no model.
        "VERI_EMBEDDER": "none",
    }
    # The pipeline under test ends at the analytics rollups; the memory group runs elsewhere.
    command = [sys.executable, "-m", "veri.cli", "worker", "--group", "analytics", "--role"]
    relay = [subprocess.Popen([*command, "relay"], env=env, stdout=subprocess.DEVNULL)] if bus.needs_relay else []
    if bus.name == "kafka":
        # At INFO, for the assignments; the loops log nothing per batch.
        env["VERI_LOG_LEVEL"] = "INFO"
        consumers = [
            subprocess.Popen([*command, "consumers"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for _ in range(processes)
        ]
        assignments: Assignments | None = Assignments(consumers)
    else:
        consumers = [
            subprocess.Popen([*command, "consumers"], env=env, stdout=subprocess.DEVNULL) for _ in range(processes)
        ]
        assignments = None
    try:
        wait_balanced(database, bus, processes, assignments)
    except BaseException:
        stop_workers(relay + consumers)
        raise
    return relay + consumers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def ingest_all(database: Database, events: list[dict[str, Any]]) -> float:
    """Veri's ingestion (validation, COPY into the outbox) in batches of 1,000; its seconds."""
    started = time.perf_counter()
    for i in range(0, len(events), 1000):
        with database.transaction() as db:
            result = ingest(db, events[i : i + 1000], partial=False, partitions=PARTITIONS)
            assert not result.rejected, result.rejected[:3]
    return time.perf_counter() - started


def wait_for(done: Any, n: int, started: float) -> float:
    while done() < n:
        time.sleep(0.02)
        if time.perf_counter() - started > 1800:
            raise RuntimeError("pipeline did not finish in 30 minutes")
    return time.perf_counter() - started


class Broker:
    """A fresh tansu per Kafka run: no topic, offset or group left over from the previous one."""

    def __init__(self, workdir: Path, name: str):
        self.tansu = Tansu(free_port(), workdir / f"tansu-{name}.log")

    def __enter__(self) -> Tansu:
        self.tansu.start()
        return self.tansu

    def __exit__(self, *_: object) -> None:
        self.tansu.stop()


def broker_for(path: str, workdir: Path, name: str) -> Any:
    return Broker(workdir, name) if path == "kafka" else contextlib.nullcontext()


def run_real(
    server: Any, name: str, path: str, events: list[dict[str, Any]], processes: int, workdir: Path
) -> dict[str, Any]:
    """Veri's pipeline: ingestion in this process while `veri worker` processes consume; time
    until every event is applied by the analytics group."""
    database = fresh_database(server, name)
    with broker_for(path, workdir, name) as broker:
        bus: Any
        if path == "kafka":
            bus = KafkaBus(broker.bootstrap, partitions=PARTITIONS)
            bus.ensure_topics()
        else:
            bus = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=30)
        workers = start_workers(database, bus, processes, workdir)
        try:
            started = time.perf_counter()
            ingest_seconds = ingest_all(database, events)
            seconds = wait_for(lambda: processed(database), len(events), started)
        finally:
            stop_workers(workers)
            bus.close()
    return {"database": database, "seconds": seconds, "ingest_seconds": ingest_seconds}


def run_minimal(
    server: Any, name: str, path: str, events: list[dict[str, Any]], processes: int, workdir: Path
) -> dict[str, Any]:
    """The minimal pipeline on the same events: COPY ingestion, minimal relay and consumers."""
    database = fresh_database(server, name)
    with broker_for(path, workdir, name) as broker:
        topic = "minimal.content"
        if path == "kafka":
            from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            for future in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS)]).values():
                future.result(10)
        pipeline = MinimalPipeline(
            database.url,
            PARTITIONS,
            processes,
            bootstrap=broker.bootstrap if broker is not None else "",
            topic=topic,
        )
        try:
            started = time.perf_counter()
            copy_into_outbox(database.url, events, PARTITIONS)
            ingest_seconds = time.perf_counter() - started
            seconds = wait_for(pipeline.applied, len(events), started)
        finally:
            pipeline.close()
    return {"database": database, "seconds": seconds, "ingest_seconds": ingest_seconds}


def effects(database: Database) -> str:
    """A digest of what the analytics group leaves (content-days with their growth, the
    rollups): two runs on the same events must leave the same."""
    with database.sessions() as db:
        return str(
            db.scalar(
                text(
                    """
                    SELECT md5(coalesce((SELECT string_agg(concat_ws('|', scope, scope_id, day, views, engagements,
                                                round(engagement_rate::numeric, 9), posts, deals_accepted,
                                                deals_completed, earnings_cents), ',' ORDER BY scope, scope_id, day)
                                         FROM analytics_daily), '')
                            || coalesce((SELECT string_agg(concat_ws('|', content_id, day, views, d_views, d_engagements),
                                                ',' ORDER BY content_id, day)
                                         FROM analytics_content_daily), ''))
                    """
                )
            )
        )


def kafka_ceiling(bootstrap: str, database: Database, n: int) -> float:
    """The same encoded records, produced and consumed by the same client, no processing."""
    from confluent_kafka import Consumer, Producer

    with database.sessions() as db:
        records = read_after(db, (0, 0), limit=n)
    values = [(r.subject.encode(), encode(r)) for r in records]
    topic = f"ceiling-{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": bootstrap, **BULK_PRODUCER})
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


def replay_real(database: Database, n: int, processes: int, workdir: Path) -> float:
    """The month replayed: the analytics group's state deleted and rebuilt from the log by the
    worker processes, no ingestion (what `veri events replay --from beginning --reset` does)."""
    bus = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=30)
    workers = start_workers(database, bus, processes, workdir)  # idle: all is processed
    try:
        started = time.perf_counter()
        replay_group(database, AnalyticsHandler(), (0, 0), reset=True)
        seconds = wait_for(lambda: processed(database), n, started)
    finally:
        stop_workers(workers)
    return n / seconds


def replay_minimal(database: Database, n: int, processes: int) -> float:
    """The same log replayed by the minimal consumers into emptied analytics tables."""
    with database.transaction() as db:
        AnalyticsRepository(db).reset()
    pipeline = MinimalPipeline(database.url, PARTITIONS, processes)
    try:
        started = time.perf_counter()
        seconds = wait_for(pipeline.applied, n, started)
    finally:
        pipeline.close()
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--processes", default="1,2,4", help="consumer worker processes, comma-separated")
    parser.add_argument("--paths", default="kafka,embedded")
    parser.add_argument("--replay-events", type=int, default=0, help="events in the replayed log (default: --events)")
    parser.add_argument("--replay-processes", type=int, default=2)
    args = parser.parse_args()
    n = args.events
    counts = [int(p) for p in args.processes.split(",")]
    paths = [path for path in args.paths.split(",") if path]  # none: only the replay
    events = synthetic_events(n)
    workdir = Path(tempfile.mkdtemp(prefix="veri-bench-"))
    server = start_embedded_postgres(workdir, database="bench")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        ceilings: dict[str, float] = {}
        for processes in counts:
            for path in paths:
                real = run_real(server, f"bench_{path}_{processes}", path, events, processes, workdir)
                minimal = run_minimal(server, f"bench_{path}_{processes}_minimal", path, events, processes, workdir)
                if path not in ceilings:
                    if path == "kafka":
                        with Broker(workdir, "ceiling") as broker:
                            ceilings[path] = kafka_ceiling(broker.bootstrap, real["database"], n)
                    else:
                        ceilings[path] = copy_ceiling(real["database"], events)
                rate, minimal_rate = n / real["seconds"], n / minimal["seconds"]
                print(
                    json.dumps(
                        {
                            "bench": "pipeline",
                            "path": path,
                            "worker_processes": processes,
                            "events": n,
                            "seconds": round(real["seconds"], 2),
                            "events_per_s": round(rate),
                            "ingest_events_per_s": round(n / real["ingest_seconds"]),
                            "minimal_events_per_s": round(minimal_rate),
                            "minimal_ingest_events_per_s": round(n / minimal["ingest_seconds"]),
                            "ratio_to_minimal": round(rate / minimal_rate, 3),
                            "same_effects_as_minimal": effects(real["database"]) == effects(minimal["database"]),
                            "raw_ceiling_events_per_s": round(ceilings[path]),
                            "raw_ceiling": "raw confluent-kafka produce+consume of the same records"
                            if path == "kafka"
                            else "COPY of the same rows",
                            "goal_met": rate >= GOAL_EVENTS_PER_S and rate / minimal_rate >= GOAL_RATIO,
                        }
                    ),
                    flush=True,
                )
                for run in (real, minimal):
                    run["database"].engine.dispose()
        replayed = args.replay_events or n
        database = fresh_database(server, "bench_replay")
        replay_events = events if replayed == n else synthetic_events(replayed, seed=2)
        copy_into_outbox(database.url, replay_events, PARTITIONS)
        del replay_events
        real_rate = replay_real(database, replayed, args.replay_processes, workdir)
        real_digest = effects(database)
        minimal_rate = replay_minimal(database, replayed, args.replay_processes)
        print(
            json.dumps(
                {
                    "bench": "pipeline",
                    "path": "replay",
                    "events": replayed,
                    "worker_processes": args.replay_processes,
                    "events_per_s": round(real_rate),
                    "minimal_events_per_s": round(minimal_rate),
                    "ratio_to_minimal": round(real_rate / minimal_rate, 3),
                    "same_effects_as_minimal": real_digest == effects(database),
                    "projected_minutes_for_10M": round(10_000_000 / real_rate / 60, 1),
                    "minimal_projected_minutes_for_10M": round(10_000_000 / minimal_rate / 60, 1),
                    "projection": f"extrapolated linearly from a replay of {replayed} events (embedded log)",
                    "goal_met": 10_000_000 / real_rate / 60 <= GOAL_REPLAY_MINUTES,
                }
            ),
            flush=True,
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
