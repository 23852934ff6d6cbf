"""bench/memory: memory search latency at scale against the raw queries it is built from, and
memory formation throughput against the raw embedder, each measured in the same run. Prints
one JSON object per result.

    .venv/bin/python bench/memory.py --sizes 100000,1000000 --queries 200

Latency: N memories in a fresh embedded PostgreSQL with pgvector (HNSW) and full text (GIN).
Their texts and questions come from the simulator's conversations; their vectors from the real
model (a pool of embedded texts, each memory a pool vector plus a little of a second, so no two
are alike). The engine's search (`veri.memory.retrieval.search`, hybrid, limited to a creator as
the agent and the evaluation ask it, and over the whole store) is timed against the raw pgvector
ANN query plus the raw full-text query on the same data, for the same questions. Query vectors
are computed once beforehand (the model's time for one question is reported on its own).

Formation: the same messages through the `memory` consumer group (signals, consolidation,
embedding, writes) against the raw embedder on the same texts.

History sweep (`--history 1000,10000,100000`): all N memories belong to one creator, and each
question is searched for that creator with its embedding computed on the spot (the query-vector
cache emptied before each), as a person's first question would be; against the raw ANN plus raw
full-text query for the same creator.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from veri.db import migrate
from veri.db.embedded import start_embedded_postgres
from veri.db.engine import Database, normalise_url
from veri.events.bus.embedded import EmbeddedLog
from veri.events.runtime import ConsumerLoop, RetryPolicy
from veri.events.service import ingest
from veri.memory.drafts import embedding_text
from veri.memory.embeddings import Embedder, get_embedder, vector_literal
from veri.memory.evaluation import envelopes, load_benchmark
from veri.memory.handlers import MemoryHandler
from veri.memory.retrieval import SearchQuery, forget_query_vectors, query_vector, search
from veri.memory.service import refresh_lexeme_statistics
from veri.simulate.engine import Simulation, SimulationParams
from veri.simulate.questions import question_set

MEMORIES_PER_CREATOR = 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def timed(run: Callable[[Any], Any], items: list[Any]) -> dict[str, float]:
    times = []
    for item in items:
        started = time.perf_counter()
        run(item)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2)}


def corpus(path: Path) -> tuple[list[str], list[str]]:
    events, queries = load_benchmark(path)
    return [f"{e.actor}: {e.text}" for e in events], [q.text for q in queries]


def open_store(workdir: Path) -> Database:
    server = start_embedded_postgres(workdir, database="bench")
    engine = create_engine(normalise_url(server.url("bench")), pool_size=4)
    database = Database(engine, sessionmaker(engine, expire_on_commit=False), server)
    migrate.upgrade(engine)
    return database


def fill(
    database: Database,
    size: int,
    texts: list[str],
    vectors: list[list[float]],
    rng: random.Random,
    creators: int | None = None,
) -> dict[str, Any]:
    """`size` memories over `creators` (default size/1000), written by INSERT ... SELECT from two pools."""
    creators = creators or max(1, size // MEMORIES_PER_CREATOR)
    noise = [[rng.gauss(0, 1) for _ in range(384)] for _ in range(997)]
    started = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(text("TRUNCATE memories"))
        conn.execute(text("DROP INDEX IF EXISTS ix_memories_embedding"))
        conn.execute(text("CREATE TEMP TABLE pool (i int, text text, embedding vector(384)) ON COMMIT DROP"))
        conn.execute(text("CREATE TEMP TABLE noise (j int, embedding vector(384)) ON COMMIT DROP"))
        conn.execute(
            text("INSERT INTO pool VALUES (:i, :text, CAST(:v AS vector))"),
            [
                {"i": i, "text": t, "v": vector_literal([0.9 * x for x in v])}
                for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
            ],
        )
        scale = 0.1 / 19.6  # |noise| ~ sqrt(384): a tenth of a unit vector
        conn.execute(
            text("INSERT INTO noise VALUES (:j, CAST(:v AS vector))"),
            [{"j": j, "v": vector_literal([scale * x for x in v])} for j, v in enumerate(noise)],
        )
        conn.execute(
            text(
                """
                INSERT INTO memories (id, type, kind, key, text, search_text, context_text, attributes, content_hash,
                    embedding, importance, strength, creator_id, source_event_ids, valid_from, recorded_at, status,
                    access_count)
                SELECT gen_random_uuid(), 'brand_interaction', 'observation', 'bench:' || g, p.text, p.text, '', '{}',
                    '\\x00', p.embedding + n.embedding, random(), 1.0, md5('creator' || (g % :creators))::uuid,
                    ARRAY[gen_random_uuid()], now() - g * interval '1 minute', now(), 'active', 0
                FROM generate_series(1, :size) g
                JOIN pool p ON p.i = g % :pool
                JOIN noise n ON n.j = (g::bigint * 7919) % 997
                """
            ),
            {"size": size, "creators": creators, "pool": len(texts)},
        )
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(text("SET maintenance_work_mem = '3GB'"))
        conn.execute(text("SET max_parallel_maintenance_workers = 1"))
        conn.execute(text("CREATE INDEX ix_memories_embedding ON memories USING hnsw (embedding vector_cosine_ops)"))
    indexed = time.perf_counter() - started
    with database.engine.begin() as conn:
        conn.execute(text("ANALYZE memories"))
    statistics = refresh_lexeme_statistics(database)  # what the worker's chores do hourly
    return {
        "load_seconds": round(loaded, 1),
        "hnsw_build_seconds": round(indexed, 1),
        "lexeme_statistics_seconds": round(statistics, 1),
        "creators": creators,
    }


def latency(
    database: Database, size: int, questions: list[str], embedder: Embedder, rng: random.Random, creators: int
) -> dict[str, Any]:
    vectors = {q: query_vector(embedder, q) for q in questions}  # warms the engine's cache too
    # The same ids the SQL above gives: md5('creator' || n)::uuid.
    cases = [(q, uuid.UUID(hashlib.md5(f"creator{rng.randrange(creators)}".encode()).hexdigest())) for q in questions]
    out: dict[str, Any] = {}
    with database.sessions() as db:
        # Warm the caches and the plans once, as a running service would be.
        for q, c in cases[:20]:
            search(db, SearchQuery(q, creator_id=c), embedder=embedder, hybrid=True, use_strength=False)
            search(db, SearchQuery(q), embedder=embedder, hybrid=True, use_strength=False)
        out["engine_creator"] = timed(
            lambda case: search(
                db, SearchQuery(case[0], creator_id=case[1]), embedder=embedder, hybrid=True, use_strength=False
            ),
            cases,
        )
        out["raw_ann_creator"] = timed(
            lambda case: db.execute(
                text(
                    "SELECT id FROM memories WHERE creator_id = :c ORDER BY embedding <=> CAST(:v AS vector) LIMIT 10"
                ),
                {"c": case[1], "v": vectors[case[0]]},
            ).all(),
            cases,
        )
        out["raw_fts_creator"] = timed(
            lambda case: db.execute(
                text(
                    "SELECT id FROM memories, plainto_tsquery('english', :q) query WHERE creator_id = :c "
                    "AND search @@ query ORDER BY ts_rank(search, query) DESC LIMIT 10"
                ),
                {"c": case[1], "q": case[0]},
            ).all(),
            cases,
        )
        out["engine_store"] = timed(
            lambda case: search(db, SearchQuery(case[0]), embedder=embedder, hybrid=True, use_strength=False), cases
        )
        out["raw_ann_store"] = timed(
            lambda case: db.execute(
                text("SELECT id FROM memories ORDER BY embedding <=> CAST(:v AS vector) LIMIT 10"),
                {"v": vectors[case[0]]},
            ).all(),
            cases,
        )
        out["raw_fts_store"] = timed(
            lambda case: db.execute(
                text(
                    "SELECT id FROM memories, plainto_tsquery('english', :q) query "
                    "WHERE search @@ query ORDER BY ts_rank(search, query) DESC LIMIT 10"
                ),
                {"q": case[0]},
            ).all(),
            cases,
        )
    for scope in ("creator", "store"):
        raw = out[f"raw_ann_{scope}"]["p95_ms"] + out[f"raw_fts_{scope}"]["p95_ms"]
        out[f"ratio_p95_{scope}"] = round(out[f"engine_{scope}"]["p95_ms"] / raw, 2) if raw else None
    return out


def history_latency(database: Database, questions: list[str], embedder: Embedder) -> dict[str, Any]:
    """One creator's whole history in scope; the question embedded inside the timed search."""
    creator = uuid.UUID(hashlib.md5(b"creator0").hexdigest())
    out: dict[str, Any] = {}
    with database.sessions() as db:
        for q in questions[:20]:
            search(db, SearchQuery(q, creator_id=creator), embedder=embedder, hybrid=True, use_strength=False)

        def engine(question: str) -> None:
            forget_query_vectors()
            search(db, SearchQuery(question, creator_id=creator), embedder=embedder, hybrid=True, use_strength=False)

        def raw(question: str) -> None:
            vector = vector_literal(embedder.embed([question])[0])
            db.execute(
                text(
                    "SELECT id FROM memories WHERE creator_id = :c ORDER BY embedding <=> CAST(:v AS vector) LIMIT 10"
                ),
                {"c": creator, "v": vector},
            ).all()
            db.execute(
                text(
                    "SELECT id FROM memories, plainto_tsquery('english', :q) query WHERE creator_id = :c "
                    "AND search @@ query ORDER BY ts_rank(search, query) DESC LIMIT 10"
                ),
                {"c": creator, "q": question},
            ).all()

        # Interleaved, so that drift in the machine's load hits both alike.
        engine_times: list[float] = []
        raw_times: list[float] = []
        for question in questions:
            for run, times in ((engine, engine_times), (raw, raw_times)):
                started = time.perf_counter()
                run(question)
                times.append((time.perf_counter() - started) * 1000)
    for name, times in (
        ("engine_creator_with_embedding", engine_times),
        ("raw_ann_plus_fts_with_embedding", raw_times),
    ):
        out[name] = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2)}
    out["ratio_p95"] = round(percentile(engine_times, 0.95) / percentile(raw_times, 0.95), 2)
    return out


class TimedEmbedder:
    """The same embedder, counting the time formation spends inside it."""

    def __init__(self, inner: Embedder):
        self.inner, self.model, self.dimensions, self.seconds = inner, inner.model, inner.dimensions, 0.0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started


def formation(database: Database, path: Path, embedder: Embedder, limit: int) -> dict[str, Any]:
    """Messages through the `memory` group, then the raw embedder on exactly the texts that
    formation embedded (each memory's text with its surroundings, facts, insights)."""
    events, _ = load_benchmark(path)
    events = events[:limit]
    raw, _ = envelopes(events)
    embedder.embed(["warm up"] * 32)
    with database.transaction() as db:
        db.execute(text("TRUNCATE memories, memory_embedding_cache, processed_events, event_outbox, consumer_offsets"))
        ingest(db, raw, partial=False, partitions=4)
    timed_embedder = TimedEmbedder(embedder)
    handler = MemoryHandler(timed_embedder)
    consumer = EmbeddedLog(database, partitions=4, lease_seconds=600).consumer("memory", "bench")
    loop = ConsumerLoop(database, consumer, handler, batch_size=handler.batch_size, retry=RetryPolicy(1, 0.0))
    started = time.perf_counter()
    done = loop.drain()
    seconds = time.perf_counter() - started
    consumer.close()
    with database.sessions() as db:
        texts = [
            embedding_text(search_text, context)
            for search_text, context in db.execute(
                text("SELECT search_text, context_text FROM memories WHERE embedding IS NOT NULL")
            )
        ]
    started = time.perf_counter()
    embedder.embed(texts)
    raw_seconds = time.perf_counter() - started
    plain = [f"{e.actor}: {e.text}" for e in events]
    started = time.perf_counter()
    embedder.embed(plain)
    plain_seconds = time.perf_counter() - started
    return {
        "bench": "memory_formation",
        "messages": done,
        "memories_embedded": len(texts),
        "formation_messages_per_s": round(done / seconds, 1),
        "formation_texts_per_s": round(len(texts) / seconds, 1),
        "raw_embedder_texts_per_s": round(len(texts) / raw_seconds, 1),
        "ratio_to_embedder": round(raw_seconds / seconds, 2),
        "share_of_formation_in_the_model": round(timed_embedder.seconds / seconds, 2),
        "baseline": "the same embedder alone on the same texts formation embedded",
        "embedder": embedder.model,
        "raw_embedder_plain_messages_per_s": round(len(plain) / plain_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100000", help="comma-separated memory counts")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--pool", type=int, default=3000, help="distinct embedded texts behind the memories")
    parser.add_argument("--formation", type=int, default=2000, help="messages for the formation measure (0: skip)")
    parser.add_argument("--history", default="", help="comma-separated sizes of one creator's history (sweep)")
    parser.add_argument("--embedders", default="torch,onnx", help="formation measured with each (torch, onnx)")
    args = parser.parse_args()
    rng = random.Random(7)
    workdir = Path(tempfile.mkdtemp(prefix="veri-bench-memory-"))
    questions_file = workdir / "questions.jsonl"
    simulation = Simulation(SimulationParams(creators=200, brands=30, days=180, seed=5), record_conversations=True)
    questions_file.write_text("\n".join(question_set(simulation, subjects=40, per_subject=30, seed=5)) + "\n")
    texts, questions = corpus(questions_file)
    texts = list(dict.fromkeys(texts))[: args.pool]
    questions = rng.sample(questions, min(args.queries, len(questions)))
    embedder = get_embedder("local")
    assert embedder is not None
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_seconds = time.perf_counter() - started
    one = timed(lambda q: embedder.embed([q]), questions[:50])
    database = open_store(workdir)
    try:
        for kind in (k for k in args.embedders.split(",") if k and args.formation):
            chosen = get_embedder(kind)
            assert chosen is not None
            print(json.dumps(formation(database, questions_file, chosen, args.formation)), flush=True)
        for size in (int(s) for s in args.history.split(",") if s):
            built = fill(database, size, texts, vectors, rng, creators=1)
            print(
                json.dumps(
                    {
                        "bench": "memory_search_one_creator",
                        "memories_of_the_creator": size,
                        **built,
                        "queries": len(questions),
                        **history_latency(database, questions, embedder),
                        "baseline": "raw pgvector ANN + raw full-text query for the same creator, embedding included",
                    }
                ),
                flush=True,
            )
        for size in (int(s) for s in args.sizes.split(",") if s):
            built = fill(database, size, texts, vectors, rng)
            result = latency(database, size, questions, embedder, rng, built["creators"])
            print(
                json.dumps(
                    {
                        "bench": "memory_search",
                        "memories": size,
                        **built,
                        "queries": len(questions),
                        **result,
                        "query_embedding": one,
                        "pool_texts": len(texts),
                        "pool_embed_per_s": round(len(texts) / embed_seconds, 1),
                        "baseline": "raw pgvector ANN + raw full-text query on the same data, same questions",
                    }
                ),
                flush=True,
            )
    finally:
        database.dispose()
        assert database.embedded is not None
        database.embedded.stop()


if __name__ == "__main__":
    main()
