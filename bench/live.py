"""bench/live: live fan-out. N clients hold GET /api/v1/live open (httpx, async, streaming, spread
over two client processes) on a real uvicorn server of the app in its own process, each logged
in as its own person; one update addressed to all of them is published (`veri.live.service.publish`
+ commit, from this process, as a worker's consumer group would). Delivery latency runs from the
publishing commit to the moment each client has read the event (CLOCK_MONOTONIC, shared by the
processes). Prints one JSON object per broker; everything runs on this one machine.

Baseline, measured in the same run on the same broker: the raw mechanism without HTTP or the
hub: NOTIFY (or PUBLISH) received by one listener thread and put into N asyncio queues, one
`call_soon_threadsafe` each, read by N waiting tasks.

    .venv/bin/python bench/live.py --clients 1000 --rounds 3 --broker all
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
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
METRICS_TOKEN = "bench-metrics-token"


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
        "VERI_METRICS_TOKEN": METRICS_TOKEN,
    }
    env.pop("VERI_REDIS_URL", None)
    if redis_url:
        env["VERI_REDIS_URL"] = redis_url
    log = (workdir / f"server-{port}.log").open("wb")
    command = [sys.executable, "-m", "uvicorn", "veri.app:create_app", "--factory", "--no-access-log"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--backlog", "4096"]
    command += ["--timeout-graceful-shutdown", "1"]
    process = subprocess.Popen(
        command,
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


def server_delivery(base_url: str) -> dict[str, Any]:
    """The server's own part, from its /metrics: hub received -> frame written, per stream (the
    histogram's bucket bounds, so "at most")."""
    text_ = httpx.get(f"{base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    buckets: list[tuple[float, float]] = []
    for line in text_.splitlines():
        if line.startswith("veri_live_delivery_seconds_bucket"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if bound == "+Inf" else float(bound), float(line.rsplit(" ", 1)[1])))
    total = buckets[-1][1] if buckets else 0.0

    def at_most(q: float) -> float | None:
        for bound, cumulative in buckets:
            if total and cumulative >= q * total:
                return bound * 1000
        return None

    return {"frames_written": int(total), "p50_at_most_ms": at_most(0.5), "p95_at_most_ms": at_most(0.95)}


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
        started = time.monotonic()
        db.commit()
    return started


async def _stream_clients(base_url: str, tokens: list[str], rounds: int, report: Any) -> None:
    """One client process: its share of the streams, all in one event loop. Reports ("ready",)
    once each stream had its first event, then ("round", r, arrival times) per update."""
    arrivals: list[list[float]] = [[] for _ in range(rounds)]
    ready = 0
    failures: list[str] = []

    async def client(http: httpx.AsyncClient, token: str) -> None:
        nonlocal ready
        headers = {"Cookie": f"veri_session={token}", "Accept": "text/event-stream"}
        try:
            async with http.stream("GET", "/api/v1/live", headers=headers) as response:
                if response.status_code != 200:
                    failures.append(str(response.status_code))
                    report.put(("failed", failures[-1]))
                    return
                seen, pending = 0, b""
                # Raw bytes, split on the blank line that ends each event: the cheapest reading
                # httpx offers, so the measure is the server's more than this client's.
                async for chunk in response.aiter_raw():
                    now = time.monotonic()  # CLOCK_MONOTONIC: comparable across processes
                    *events, pending = (pending + chunk).split(b"\n\n")
                    for event in events:
                        if b'"live.hello"' in event:
                            ready += 1
                            if ready == len(tokens):
                                # The load generator's own heap (a thousand connections' objects)
                                # is not what is measured: keep the collector from walking it.
                                gc.freeze()
                                report.put(("ready",))
                        elif b'"bench"' in event:
                            round_ = json.loads(event.split(b"data: ", 1)[1])["data"]["round"]
                            arrivals[round_].append(now)
                            if len(arrivals[round_]) == len(tokens):
                                report.put(("round", round_, arrivals[round_]))
                            seen += 1
                    if seen == rounds:
                        return
        except httpx.HTTPError as exc:
            failures.append(type(exc).__name__)
            report.put(("failed", failures[-1]))

    limits = httpx.Limits(max_connections=len(tokens) + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(300.0, connect=60.0, pool=60.0)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as http:
        tasks = []
        for i, token in enumerate(tokens):
            tasks.append(asyncio.create_task(client(http, token)))
            if i % 50 == 49:
                await asyncio.sleep(0.02)  # a crowd arriving, not one burst of handshakes
        await asyncio.gather(*tasks)


def stream_clients(base_url: str, tokens: list[str], rounds: int, report: Any) -> None:
    asyncio.run(_stream_clients(base_url, tokens, rounds, report))


def through_sse(
    base_url: str,
    tokens: list[str],
    users: list[uuid.UUID],
    sessions: sessionmaker[Session],
    rounds: int,
    processes: int,
) -> dict[str, Any]:
    """The streams spread over `processes` client processes (a thousand browsers are not one
    Python event loop), one update per round to all of them."""
    context = multiprocessing.get_context("spawn")
    report = context.Queue()
    shares = [tokens[i::processes] for i in range(processes)]
    workers = [context.Process(target=stream_clients, args=(base_url, share, rounds, report)) for share in shares]
    opened = time.monotonic()
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            item = report.get(timeout=300)
            if item[0] != "ready":
                raise RuntimeError(f"a client failed to open its stream: {item}")
        connect_seconds = time.monotonic() - opened
        latencies: list[float] = []
        per_round = []
        for round_ in range(rounds):
            time.sleep(0.5)
            started = commit_publish(sessions, users, round_)
            round_latencies: list[float] = []
            for _ in workers:
                item = report.get(timeout=60)
                if item[0] != "round" or item[1] != round_:
                    raise RuntimeError(f"unexpected report: {item[:2]}")
                round_latencies.extend(t - started for t in item[2])
            per_round.append(percentiles(round_latencies)["p95_ms"])
            latencies.extend(round_latencies)
    finally:
        for worker in workers:
            worker.join(30)
            if worker.is_alive():
                worker.terminate()
    return {
        **percentiles(latencies),
        "p95_ms_per_round": per_round,
        "connect_s": round(connect_seconds, 2),
        "client_processes": processes,
    }


def raw_publish(broker: LiveBroker, engine: Engine, redis_url: str | None, message: LiveMessage) -> float:
    """The broker's own primitive, as fast as it goes: NOTIFY in a transaction, or PUBLISH."""
    if redis_url is not None:
        import redis

        client = redis.Redis.from_url(redis_url)
        client.ping()
        started = time.monotonic()
        client.publish(CHANNEL, encode(message))
        client.close()
        return started
    with engine.connect() as conn:
        for payload in notify_payloads(message):
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": payload})
        started = time.monotonic()
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
                into.append(time.monotonic())

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


def run(
    broker_name: str, engine: Engine, database_url: str, workdir: Path, clients: int, rounds: int, processes: int
) -> None:
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
            sse = through_sse(base_url, tokens, users, sessionmaker(engine), rounds, processes)
            sse["server_side"] = server_delivery(base_url)
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
                "transport": "SSE over HTTP/1.1 from one uvicorn process to httpx async clients",
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
    parser.add_argument("--client-processes", type=int, default=2)
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
            run(name, engine, database_url, workdir, args.clients, args.rounds, args.client_processes)
    finally:
        engine.dispose()
        server.stop()


if __name__ == "__main__":
    main()
