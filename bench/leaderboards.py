"""bench/leaderboards: one board of N creators (1,000,000 by default) in both stores of the
leaderboards port, against the raw commands they are built from, measured in the same run and
interleaved sample by sample. Prints one JSON object.

    .venv/bin/python bench/leaderboards.py --creators 1000000

- Redis (`RedisBoards`, a private redis-server started on a free port unless `--redis-url`):
  `update_top100` is one creator's score update (ZINCRBY) plus the top 100 with their ranks
  (ZREVRANGE WITHSCORES), against raw redis-py ZADD + ZREVRANGE on the same client;
  `own_rank` is a random creator's competition rank (ZSCORE + ZCOUNT in one script), against
  raw ZREVRANK. Ratios are raw / ours (1.0: no overhead; the goal is >= 0.5).
- PostgreSQL (`PostgresBoards`, a scratch database on `--pg-url`'s server, created and dropped):
  the same two measures, the update committed (a score is recorded when its transaction
  commits), against the raw SQL (UPDATE + COMMIT + SELECT ... LIMIT 100; a count of the higher
  scores) on one psycopg connection.

The data is loaded with pipelined ZADDs and COPY; scores are integers below 1,000,000, so there
are ties, as on a real points board.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

import psycopg  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from veri.db.engine import normalise_url  # noqa: E402
from veri.memory.evaluation import percentile  # noqa: E402
from veri.models.scoring_boards import LeaderboardEntry  # noqa: E402
from veri.scoring.board_repository import PostgresBoards  # noqa: E402
from veri.scoring.boards import Board, Entry, Leaderboards, RedisBoards  # noqa: E402

BOARD = Board("points", "global", "all")


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(percentile(samples, 0.95), 3),
        "p99_ms": round(percentile(samples, 0.99), 3),
    }


def ratio(raw: list[float], ours: list[float], share: float) -> float:
    return round(percentile(raw, share) / percentile(ours, share), 2)


def clock(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: pass --redis-url")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="veri-bench-redis-") as workdir:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client = redis.Redis(port=port)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.ping()
                    break
                except redis.exceptions.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(10)


@contextmanager
def given(url: str) -> Iterator[str]:
    yield url


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    name = f"veri_bench_lb_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_redis(client: redis.Redis, creators: list[uuid.UUID], scores: list[float]) -> float:
    started = time.perf_counter()
    key = "veri:lb:" + BOARD.key
    client.delete(key)
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(creators), 10_000):
        chunk = range(start, min(start + 10_000, len(creators)))
        pipe.zadd(key, {str(creators[i]): scores[i] for i in chunk})
        if len(pipe) >= 10:
            pipe.execute()
    pipe.execute()
    assert client.zcard(key) == len(creators)
    return time.perf_counter() - started


def load_postgres(url: str, creators: list[uuid.UUID], scores: list[float]) -> float:
    started = time.perf_counter()
    engine = create_engine(normalise_url(url))
    LeaderboardEntry.__table__.create(engine)  # with its primary key and the board/score index
    engine.dispose()
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur, cur.copy("COPY leaderboard_entries (board, creator_id, score) FROM STDIN") as copy:
            buffer = io.StringIO()
            for i, creator in enumerate(creators):
                buffer.write(f"{BOARD.key}\t{creator}\t{scores[i]!r}\n")
                if buffer.tell() > 8_000_000:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE) leaderboard_entries")  # as autovacuum would: index-only scans
    return time.perf_counter() - started


def bench_redis(client: redis.Redis, creators: list[uuid.UUID], samples: int, rng: random.Random) -> dict[str, object]:
    store = RedisBoards(client)
    key = "veri:lb:" + BOARD.key
    ours, raw, rank, raw_rank = [], [], [], []
    for i in range(samples + 100):  # the first 100 warm up
        creator = rng.choice(creators)
        delta = float(rng.randint(1, 50))

        def update_top(creator: uuid.UUID = creator, delta: float = delta) -> None:
            store.increment([Entry(BOARD.key, creator, delta)])
            assert len(store.top(BOARD, 100)) == 100

        def raw_update_top(creator: uuid.UUID = creator, delta: float = delta) -> None:
            client.zadd(key, {str(creator): delta})
            assert len(client.zrevrange(key, 0, 99, withscores=True)) == 100

        # Alternate which goes first, so neither always meets a warm connection.
        first, second = (update_top, raw_update_top) if i % 2 else (raw_update_top, update_top)
        t_first, t_second = clock(first), clock(second)
        (ours if first is update_top else raw).append(t_first)
        (raw if first is update_top else ours).append(t_second)
        other = rng.choice(creators)
        rank.append(clock(lambda other=other: store.standing(BOARD, other)))
        raw_rank.append(clock(lambda other=other: client.zrevrank(key, str(other))))
    ours, raw, rank, raw_rank = ours[100:], raw[100:], rank[100:], raw_rank[100:]
    return {
        "update_top100": summary(ours),
        "raw_zadd_zrevrange": summary(raw),
        "ratio_raw_to_ours_p50": ratio(raw, ours, 0.5),
        "ratio_raw_to_ours_p99": ratio(raw, ours, 0.99),
        "own_rank": summary(rank),
        "raw_zrevrank": summary(raw_rank),
        "own_rank_ratio_raw_to_ours_p99": ratio(raw_rank, rank, 0.99),
    }


def bench_facade_reads(client: redis.Redis, url: str, samples: int) -> dict[str, float]:
    """The facade's top 100 as the API reads it (Redis healthy and marked in sync)."""
    engine = create_engine(normalise_url(url))
    boards = Leaderboards(client)
    client.set("veri:lb:_synced", "bench")  # the copies were loaded from the same data
    times = []
    with sessionmaker(engine)() as db:
        assert boards.reads_from(db) == "redis"
        for _ in range(samples + 100):
            times.append(clock(lambda: boards.top(db, BOARD, 100)))
    engine.dispose()
    return summary(times[100:])


def bench_postgres(url: str, creators: list[uuid.UUID], samples: int, rng: random.Random) -> dict[str, object]:
    engine = create_engine(normalise_url(url), pool_size=2)
    sessions = sessionmaker(engine)
    ours, raw, rank, raw_rank = [], [], [], []
    top_sql = "SELECT creator_id, score FROM leaderboard_entries WHERE board = %s ORDER BY score DESC, creator_id DESC LIMIT 100"
    rank_sql = (
        "SELECT count(*) FROM leaderboard_entries WHERE board = %s AND score > "
        "(SELECT score FROM leaderboard_entries WHERE board = %s AND creator_id = %s)"
    )
    with sessions() as db, psycopg.connect(url) as conn:
        for i in range(samples + 20):
            creator = rng.choice(creators)
            delta = float(rng.randint(1, 50))

            def update_top(creator: uuid.UUID = creator, delta: float = delta) -> None:
                PostgresBoards(db).increment([Entry(BOARD.key, creator, delta)])
                db.commit()
                assert len(PostgresBoards(db).top(BOARD, 100)) == 100
                db.commit()

            def raw_update_top(creator: uuid.UUID = creator, delta: float = delta) -> None:
                conn.execute(
                    "UPDATE leaderboard_entries SET score = score + %s WHERE board = %s AND creator_id = %s",
                    (delta, BOARD.key, creator),
                )
                conn.commit()
                assert len(conn.execute(top_sql, (BOARD.key,)).fetchall()) == 100
                conn.commit()

            first, second = (update_top, raw_update_top) if i % 2 else (raw_update_top, update_top)
            t_first, t_second = clock(first), clock(second)
            (ours if first is update_top else raw).append(t_first)
            (raw if first is update_top else ours).append(t_second)
            other = rng.choice(creators)

            def own(other: uuid.UUID = other) -> None:
                PostgresBoards(db).standing(BOARD, other)
                db.commit()

            def raw_own(other: uuid.UUID = other) -> None:
                conn.execute(rank_sql, (BOARD.key, BOARD.key, other)).fetchone()
                conn.commit()

            rank.append(clock(own))
            raw_rank.append(clock(raw_own))
    engine.dispose()
    ours, raw, rank, raw_rank = ours[20:], raw[20:], rank[20:], raw_rank[20:]
    return {
        "update_top100": summary(ours),
        "raw_sql_update_top100": summary(raw),
        "ratio_raw_to_ours_p99": ratio(raw, ours, 0.99),
        "own_rank": summary(rank),
        "raw_sql_rank": summary(raw_rank),
        "own_rank_ratio_raw_to_ours_p99": ratio(raw_rank, rank, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--creators", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=3000, help="Redis samples per measure")
    parser.add_argument("--pg-samples", type=int, default=300, help="PostgreSQL samples per measure")
    parser.add_argument("--redis-url", default=None, help="Default: a private redis-server on a free port")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)
    rng = random.Random(2026)
    creators = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(args.creators)]
    scores = [float(rng.randrange(1_000_000)) for _ in creators]

    with given(args.redis_url) if args.redis_url else private_redis() as redis_url:
        client = redis.Redis.from_url(redis_url)
        with scratch_database(args.pg_url) as pg_url:
            load = {"redis_s": round(load_redis(client, creators, scores), 1)}
            load["postgres_s"] = round(load_postgres(pg_url, creators, scores), 1)
            on_redis = bench_redis(client, creators, args.samples, rng)
            on_redis["facade_top100"] = bench_facade_reads(client, pg_url, args.samples)
            on_postgres = bench_postgres(pg_url, creators, args.pg_samples, rng)
        client.close()

    update_p99 = on_redis["update_top100"]["p99_ms"]  # type: ignore[index]
    rank_p99 = on_redis["own_rank"]["p99_ms"]  # type: ignore[index]
    print(
        json.dumps(
            {
                "bench": "leaderboards",
                "creators": args.creators,
                "board": BOARD.key,
                "samples": {"redis": args.samples, "postgres": args.pg_samples},
                # Tails on a shared machine follow its load: read the p99s with this beside them.
                "load_average_1m": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
                "load": load,
                "redis": on_redis,
                "postgres": on_postgres,
                "goals": {
                    "redis_update_top100_p99_le_5ms": update_p99 <= 5,
                    "redis_ratio_raw_to_ours_p99_ge_0_5": on_redis["ratio_raw_to_ours_p99"] >= 0.5,  # type: ignore[operator]
                    "redis_own_rank_p99_le_5ms": rank_p99 <= 5,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
