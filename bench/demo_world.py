"""bench/demo_world: what `make run` does on first start, timed. The demo data, a worker with every
consumer group (as `veri run` starts it) and the simulated world loading in the background, in a
fresh embedded PostgreSQL; then:

- the seconds until the world is ingested, and until its memory is formed (both memory lanes at
  the end of the log);
- while the history drains, a person's own message every `--probe-every` seconds, and how long
  until a search finds it (the live lane's latency under a backlog), against the same probe with
  no backlog (after everything is formed): the baseline of the same run.

    .venv/bin/python bench/demo_world.py [--creators 500 --days 180] [--timeout 3600]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import text

from veri.cli.worker import start_worker
from veri.config import DatabaseSettings, Settings
from veri.db import migrate
from veri.db.engine import Database, open_database
from veri.demo import load_demo, load_world
from veri.events.envelope import new_event_id
from veri.events.service import ingest
from veri.memory.embeddings import get_embedder
from veri.memory.retrieval import SearchQuery
from veri.memory.service import search_memories

BEHIND = text(
    "SELECT count(*) FROM event_outbox o LEFT JOIN consumer_offsets c "
    "ON c.group_name = :group AND c.partition = o.partition "
    "WHERE c.partition IS NULL OR (o.txid, o.position) > (c.txid, c.position)"
)


def behind(database: Database, group: str) -> int:
    with database.sessions() as db:
        return int(db.scalar(BEHIND, {"group": group}) or 0)


PROBE_TIMEOUT = 120.0


def probe(database: Database, settings: Settings, creator: uuid.UUID, timeout: float = PROBE_TIMEOUT) -> float:
    """A creator's own message, now; seconds until the engine's search finds its memory."""
    word = f"probe{uuid.uuid4().hex[:8]}"
    event = {
        "id": str(new_event_id()),
        "type": "message.sent",
        "occurred_at": datetime.now(UTC).isoformat(),
        "subject": f"creator:{creator}",
        "actor": "bench:probe",
        "payload": {
            "message_id": str(uuid.uuid4()),
            "creator_id": str(creator),
            "sender_role": "creator",
            "sender_name": "Probe",
            "text": f"Booked the {word} shoot with Lumen for Friday",
        },
    }
    started = time.perf_counter()
    with database.transaction() as db:
        ingest(db, [event], partial=False, partitions=settings.events.event_partitions)
    while time.perf_counter() - started < timeout:
        with database.transaction() as db:
            hits = search_memories(
                db, SearchQuery(word, creator_id=creator), principal=None, embedder=None, hybrid=False
            )
        if hits:
            return time.perf_counter() - started
        time.sleep(0.2)
    return timeout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creators", type=int, default=500)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--probe-every", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="veri-bench-world-"))
    settings = Settings(db=DatabaseSettings(data_dir=workdir))  # the embedded default, as `make run`
    database = open_database(settings)
    migrate.upgrade(database.engine)
    with database.transaction() as db:
        load_demo(db)
    worker = start_worker(settings, database)
    embedder = get_embedder(settings.memory.embedder)
    started = time.perf_counter()
    world = threading.Thread(
        target=load_world,
        kwargs={
            "database": database,
            "creators": args.creators,
            "days": args.days,
            "partitions": settings.events.event_partitions,
        },
        daemon=True,
    )
    world.start()
    creator = uuid.uuid4()
    live: list[float] = []
    moments: list[int] = []  # seconds since the start at which each probe was sent
    ingested_at = formed_at = None
    next_probe = time.perf_counter() + 5
    try:
        while time.perf_counter() - started < args.timeout:
            now = time.perf_counter()
            if ingested_at is None and not world.is_alive():
                ingested_at = now - started
            if now >= next_probe and (ingested_at is None or behind(database, "memory-history")):
                live.append(probe(database, settings, creator))
                moments.append(round(now - started))
                next_probe = time.perf_counter() + args.probe_every
            if ingested_at is not None and not any(behind(database, g) for g in ("memory", "memory-history")):
                formed_at = time.perf_counter() - started
                break
            time.sleep(2)
        idle = [probe(database, settings, creator) for _ in range(5)]
        with database.sessions() as db:
            memories = db.scalar(text("SELECT count(*) FROM memories"))
            events = db.scalar(text("SELECT count(*) FROM event_outbox"))
            # Readability: memories that still say "the creator", "a brand" or "on a campaign"
            # where a name belongs (formation's neutral nouns for parties it could not name).
            unnamed = db.scalar(
                text(
                    "SELECT count(*) FROM memories WHERE type = 'campaign_episodic' AND "
                    "(text ~* '(^|[^a-z])the creator([^a-z]|$)' OR text ~* '(^| )a brand( |$)' "
                    "OR text ~* 'on a campaign')"
                )
            )
            episodic = db.scalar(text("SELECT count(*) FROM memories WHERE type = 'campaign_episodic'"))
        print(
            json.dumps(
                {
                    "bench": "demo_world",
                    "creators": args.creators,
                    "days": args.days,
                    "events": events,
                    "memories": memories,
                    "campaign_memories": episodic,
                    "campaign_memories_with_an_unnamed_party": unnamed,
                    "embedder": embedder.model if embedder is not None else None,
                    "world_ingested_s": round(ingested_at, 1) if ingested_at else None,
                    "memory_formed_s": round(formed_at, 1) if formed_at else None,
                    "live_probes_during_backlog": len(live),
                    "live_s_p50": round(statistics.median(live), 2) if live else None,
                    "live_s_max": round(max(live), 2) if live else None,
                    "live_probes_not_found_in_120_s": sum(1 for s in live if s == PROBE_TIMEOUT),
                    "live_s_by_probe": [[at, round(s, 2)] for at, s in zip(moments, live, strict=True)],
                    "idle_s_p50": round(statistics.median(idle), 2),
                    "baseline": "the same probe once everything is formed (no backlog), same run",
                }
            ),
            flush=True,
        )
    finally:
        worker.stop()
        database.dispose()


if __name__ == "__main__":
    main()
