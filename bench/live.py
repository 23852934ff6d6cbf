"""bench/live: live fan-out. N clients hold GET /api/v1/live open (httpx, async, streaming) on a
real uvicorn server of the app in its own process, each logged in as its own person; one update
addressed to all of them is published (`veri.live.service.publish` + commit, from this process,
as a worker's consumer group would). Delivery latency runs from the publishing commit to the
moment each client has read the event. Prints one JSON object per broker.

Baseline, measured in the same run on the same broker: the raw mechanism without HTTP or the
hub: NOTIFY (or PUBLISH) received by one listener thread and put into N asyncio queues, one
`call_soon_threadsafe` each, read by N waiting tasks.

    .venv/bin/python bench/live.py --clients 1000 --rounds 3 --broker all
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.orm import Session, sessionmaker
from tests.factories import REDIS_URL, free_port, port_open

from veri.db import migrate
from veri.db.embedded import start_embedded_postgres
from veri.identity.sessions import PostgresSessionStore, RedisSessionStore
from veri.live import service
from veri.live.broker import CHANNEL, LiveBroker, LiveMessage, encode, forget_broker, use_broker
from veri.live.postgres import PostgresBroker, notify_payloads
from veri.live.redis_pubsub import RedisBroker
from veri.models.accounts import Role, User

GOAL_P95_MS = 500.0


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "max_ms": round(ordered[-1] * 1000, 1)}


def make_people(engine: Engine, n: int, redis_url: str | None) -> tuple[list[uuid.UUID], list[str]]:
    """N creators with a session each (in Redis when the server keeps them there)."""
    users = [uuid.uuid4() for _ in range(n)]
    with Session(engine) as db, db.begin():
        db.execute(
            insert(User),
            [
                {
                    "id": u,
                    "email": f"live-{i}@bench.example",
                    "display_name": f"Live {i}",
                    "password_hash": "!",  # nobody logs in with a password here
                    "role": Role.CREATOR,
                }
                for i, u in enumerate(users)
            ],
        )
        if redis_url is None:
            store: Any = PostgresSessionStore(db, timedelta(hours=2))
            tokens = [store.create(u, ip=None, user_agent="bench") for u in users]
    if redis_url is not None:
        import redis

        client = redis.Redis.from_url(redis_url)
        store = RedisSessionStore(client, timedelta(hours=2))
        tokens = [store.create(u, ip=None, user_agent="bench") for u in users]
        client.close()
    return users, tokens


def start_server(database_url: str, workdir: Path, redis_url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "VERI_ENV": "test",
        "VERI_DATABASE_URL": database_url,
        "VERI_SECRET_KEY": "bench-secret-key-not-for-production",
        "VERI_DATA_DIR": str(workdir / "server"),
        "VERI_EMBEDDER": "none",
        "VERI_LOG_LEVEL": "WARNING",
    }
    env.pop("VERI_REDIS_URL", None)
    if redis_url:
        env["VERI_REDIS_URL"] = redis_url
    log = (workdir / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "veri.app:create_app", "--factory", "--host", "127.0.0.1", "--port"]
        + [
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "1",
            "--backlog",
            "4096",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while not port_open("127.0.0.1", port):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((workdir / f"server-{port}.log").read_text()[-3000:])
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def commit_publish(sessions: sessionmaker[Session], users: list[uuid.UUID], round_: int) -> float:
    """Publish to everyone as the app does; the moment the commit starts (it is delivered at commit)."""
    with sessions() as db:
        service.publish(db, user_ids=users, kind="bench", data={"round": round_})
        started = time.perf_counter()
        db.commit()
    return started


async def through_sse(
    base_url: str, tokens: list[str], users: list[uuid.UUID], sessions: sessionmaker[Session], rounds: int
) -> dict[str, Any]:
    arrivals: list[list[float]] = [[] for _ in range(rounds)]
    ready = 0
    all_ready, done = asyncio.Event(), [asyncio.Event() for _ in range(rounds)]
    failures: list[str] = []

    async def client(http: httpx.AsyncClient, token: str) -> None:
        nonlocal ready
        headers = {"Cookie": f"veri_session={token}", "Accept": "text/event-stream"}
        try:
            async with http.stream("GET", "/api/v1/live", headers=headers) as response:
                if response.status_code != 200:
                    failures.append(str(response.status_code))
                    return
                seen = 0
                async for line in response.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    now = time.perf_counter()
                    if '"live.hello"' in line:
                        ready += 1
                        if ready == len(tokens):
                            all_ready.set()
                        continue
                    event = json.loads(line[6:])
                    if event["kind"] == "bench":
                        round_ = event["data"]["round"]
                        arrivals[round_].append(now)
                        if len(arrivals[round_]) == len(tokens):
                            done[round_].set()
                        seen += 1
                        if seen == rounds:
                            return
        except httpx.HTTPError as exc:
            failures.append(type(exc).__name__)

    limits = httpx.Limits(max_connections=len(tokens) + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(120.0, connect=30.0, pool=60.0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as http:
        opened = time.perf_counter()
        tasks = []
        for i, token in enumerate(tokens):
            tasks.append(asyncio.create_task(client(http, token)))
            if i % 50 == 49:
                await asyncio.sleep(0.02)  # a crowd arriving, not one burst of a thousand handshakes
        waiting = asyncio.create_task(all_ready.wait())
        await asyncio.wait([waiting, *tasks], timeout=180, return_when=asyncio.FIRST_COMPLETED)
        while not all_ready.is_set() and not failures and not all(t.done() for t in tasks):
            await asyncio.wait([waiting, *tasks], timeout=5, return_when=asyncio.FIRST_COMPLETED)
            if time.perf_counter() - opened > 180:
                break
        if not all_ready.is_set():
            raise RuntimeError(f"{ready} of {len(tokens)} streams opened; failures: {failures[:10]}")
        connect_seconds = time.perf_counter() - opened
        latencies: list[float] = []
        per_round = []
        for round_ in range(rounds):
            await asyncio.sleep(0.5)
            started = await asyncio.to_thread(commit_publish, sessions, users, round_)
            await asyncio.wait_for(done[round_].wait(), 60)
            round_latencies = [t - started for t in arrivals[round_]]
            per_round.append(percentiles(round_latencies)["p95_ms"])
            latencies.extend(round_latencies)
        await asyncio.gather(*tasks)
    if failures:
        raise RuntimeError(f"{len(failures)} clients failed: {sorted(set(failures))}")
    return {**percentiles(latencies), "p95_ms_per_round": per_round, "connect_s": round(connect_seconds, 2)}


def raw_publish(broker: LiveBroker, engine: Engine, redis_url: str | None, message: LiveMessage) -> float:
    """The broker's own primitive, as fast as it goes: NOTIFY in a transaction, or PUBLISH."""
    if redis_url is not None:
        import redis

        client = redis.Redis.from_url(redis_url)
        client.ping()
        started = time.perf_counter()
        client.publish(CHANNEL, encode(message))
        client.close()
        return started
    with engine.connect() as conn:
        for payload in notify_payloads(message):
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
        started = time.perf_counter()
        conn.commit()
    return started


async def baseline(broker: LiveBroker, engine: Engine, redis_url: str | None, n: int, rounds: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    users = [uuid.uuid4() for _ in range(n)]
    queues: dict[uuid.UUID, asyncio.Queue[LiveMessage]] = {u: asyncio.Queue() for u in users}
    connected, stop = threading.Event(), threading.Event()

    def on_message(message: LiveMessage) -> None:
        for user in message.user_ids:
            found = queues.get(user)
            if found is not None:
                loop.call_soon_threadsafe(found.put_nowait, message)

    listener = threading.Thread(target=broker.listen, args=(on_message, connected.set, stop), daemon=True)
    listener.start()
    await asyncio.to_thread(connected.wait, 10)
    latencies: list[float] = []
    per_round = []
    try:
        for round_ in range(rounds):
            await asyncio.sleep(0.3)
            arrivals: list[float] = []

            async def reader(queue: asyncio.Queue[LiveMessage], into: list[float] = arrivals) -> None:
                await queue.get()
                into.append(time.perf_counter())

            readers = [asyncio.create_task(reader(q)) for q in queues.values()]
            await asyncio.sleep(0)
            message = LiveMessage(tuple(users), "bench", {"round": round_})
            started = await asyncio.to_thread(raw_publish, broker, engine, redis_url, message)
            await asyncio.wait_for(asyncio.gather(*readers), 60)
            round_latencies = [t - started for t in arrivals]
            per_round.append(percentiles(round_latencies)["p95_ms"])
            latencies.extend(round_latencies)
    finally:
        stop.set()
        listener.join(5)
    return {**percentiles(latencies), "p95_ms_per_round": per_round}


def run(broker_name: str, engine: Engine, database_url: str, workdir: Path, clients: int, rounds: int) -> None:
    redis_url = REDIS_URL if broker_name == "redis" else None
    broker: LiveBroker
    if redis_url is not None:
        import redis

        broker = RedisBroker(redis.Redis.from_url(redis_url))
    else:
        broker = PostgresBroker(engine.url)
    use_broker(engine, broker)  # this process publishes as the app's would
    try:
        base = asyncio.run(baseline(broker, engine, redis_url, clients, rounds))
        users, tokens = make_people(engine, clients, redis_url)
        process, base_url = start_server(database_url, workdir, redis_url)
        try:
            sse = asyncio.run(through_sse(base_url, tokens, users, sessionmaker(engine), rounds))
        finally:
            stop_server(process)
    finally:
        forget_broker(engine, broker)
    print(
        json.dumps(
            {
                "bench": "live",
                "broker": broker_name,
                "clients": clients,
                "rounds": rounds,
                "transport": "SSE over HTTP/1.1 (uvicorn, one process) to httpx async clients",
                **sse,
                "baseline": {"transport": f"raw {broker_name} into {clients} asyncio queues, no HTTP", **base},
                "p95_ratio_to_baseline": round(sse["p95_ms"] / base["p95_ms"], 2) if base["p95_ms"] else None,
                "goal_p95_ms": GOAL_P95_MS,
                "goal_met": sse["p95_ms"] <= GOAL_P95_MS,
                "cpu_count": os.cpu_count(),
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--broker", choices=["postgres", "redis", "all"], default="all")
    args = parser.parse_args()
    chosen = ["postgres", "redis"] if args.broker == "all" else [args.broker]
    if "redis" in chosen and not port_open("127.0.0.1", 6379):
        print(json.dumps({"bench": "live", "broker": "redis", "skipped": "Redis is not reachable"}), flush=True)
        chosen.remove("redis")
    workdir = Path(tempfile.mkdtemp(prefix="veri-bench-live-"))
    server = start_embedded_postgres(workdir, database="bench")
    database_url = server.url("bench")
    engine = create_engine(database_url, pool_size=5)
    migrate.upgrade(engine)
    try:
        for name in chosen:
            with engine.begin() as conn:  # each broker's run starts from no one
                conn.execute(text("TRUNCATE users CASCADE"))
            run(name, engine, database_url, workdir, args.clients, args.rounds)
    finally:
        engine.dispose()
        server.stop()


if __name__ == "__main__":
    main()
