"""bench/migration: the migration's copy paths against raw pymongo on the same documents, in the
same run, against a MongoDB wire-protocol server (nx-27017, started here on a free port) and a
scratch PostgreSQL database (created on `--pg-url`'s server, migrated, dropped). Prints JSON.

    .venv/bin/python bench/migration.py --creators 2000

- backfill: `migration.service.backfill` (read pages from Postgres, shape documents, insert
  the missing ones, checkpoint each page) against raw `insert_many` of the same documents;
- dual-write: one `creator.updated` event per creator through the `mongo` consumer group (read
  the current state, conditional upsert by version) against raw `bulk_write` of conditional
  upserts of the same documents. Ratios are ours / raw in documents per second (goal >= 0.5).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

import psycopg  # noqa: E402
from pymongo import UpdateOne  # noqa: E402
from sqlalchemy import create_engine, select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from veri import flags  # noqa: E402
from veri.db import migrate  # noqa: E402
from veri.db.engine import Database, normalise_url  # noqa: E402
from veri.events.bus.embedded import EmbeddedLog  # noqa: E402
from veri.events.runtime import ConsumerLoop, RetryPolicy  # noqa: E402
from veri.events.service import emit  # noqa: E402
from veri.events.types import CreatorUpdated  # noqa: E402
from veri.migration.documents import creator_documents  # noqa: E402
from veri.migration.replicator import MongoReplicator  # noqa: E402
from veri.migration.service import backfill  # noqa: E402
from veri.migration.store import MongoStore  # noqa: E402
from veri.models.accounts import Role, User  # noqa: E402
from veri.models.creators import Creator  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creators", type=int, default=2000)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    port, folder = free_port(), Path(tempfile.mkdtemp(prefix="nx-bench-"))
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "nx-27017"), "--db", "memory", "--host", "127.0.0.1", "-p", str(port),
         "--log-file", str(folder / "nx.log"), "--pid-file", str(folder / "nx.pid")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    name = f"bench_migration_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(normalise_url(args.pg_url.rsplit("/", 1)[0] + "/" + name), pool_size=4)
    database = Database(engine, sessionmaker(engine, expire_on_commit=False), None)
    try:
        time.sleep(1.5)
        migrate.upgrade(engine)
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
        store = MongoStore(f"mongodb://127.0.0.1:{port}", "bench")
        store.ensure_indexes()

        started = time.perf_counter()
        done = backfill(database, store, page=500)
        ours_backfill = time.perf_counter() - started
        raw = store.db["raw_insert"]
        started = time.perf_counter()
        raw.insert_many([{**d, "_v": 0} for d in docs], ordered=False)
        raw_backfill = time.perf_counter() - started

        flags.install(database)
        with database.transaction() as db:
            from veri.models.flags import FlagRule

            db.add(
                FlagRule(
                    flag="USE_MONGO", mode="on", percent=0, allow=[], deny=[], kill=False, version=1, updated_by="bench"
                )
            )
        time.sleep(flags.REFRESH_SECONDS + 0.1)
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
        consumer = EmbeddedLog(database, partitions=8, lease_seconds=600).consumer("mongo", "bench")
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
        n = len(docs)
        print(
            json.dumps(
                {
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
            )
        )
        store.close()
    finally:
        flags.uninstall()
        engine.dispose()
        with psycopg.connect(args.pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
