"""Chaos, with nothing lost: under the Locust load (bench/locustfile.py) against a whole Veri
(bench/stack.py: `veri run --workers N` on its own embedded PostgreSQL, its own Redis and
Kafka-protocol broker (tansu), `veri worker` processes, the agent on the SDK against a local fake
Claude), run a fault schedule, then check that every accepted event is in the log and applied
exactly once, and that every derived table equals a replay (`veri check consistency`). Prints
one JSON object: the faults with what /readyz said during each, the probes' worst latencies
(no hang), uptime (requests answered non-5xx, or refused cleanly with 503 + Retry-After), and
the checks.

The default schedule takes about five minutes after set-up; --scale 2 doubles every pause and
outage. Faults (seconds from the start of the load, at --scale 1):
   20  kill -9 a `veri worker`; the script restarts it 2 s later, as a supervisor would
   40  kill -9 an API process; uvicorn's supervisor (veri run --workers) starts another
   60  stop Redis for 30 s (SIGTERM; it comes back with its append-only file)
  110  restart PostgreSQL (pg_ctl restart -m fast): the embedded server, or with --database
       own-pg15 a PostgreSQL 15 cluster this script creates with Debian's binaries (the machine's
       own PostgreSQL service is never touched)
  140  stop the Kafka-protocol broker for 60 s (tansu keeps topics in memory: once it is back,
       the operator's `veri events republish --from beginning` sends the outbox again)
  220  slow the LLM (first token after 3 s, over the agent's 0.7 s budget) for 30 s: the agent's
       circuit opens and answers offline, then closes
  270  load stops; the consumers drain; the checks run

    flock /tmp/veri-heavy.lock .venv/bin/python bench/chaos.py [--users 20] [--scale 1] [--database embedded|own-pg15]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import VERI, Stack, free_port, locust, read_stats

PGINSTALL = Path(__import__("pgserver").__file__).parent / "pginstall" / "bin"
PG15 = Path("/usr/lib/postgresql/15/bin")


class Probe:
    """Every half second: /readyz (its checks, kept as a timeline of changes) and an authenticated
    API read, each with a 10 s timeout: a request that takes longer is a hang."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.stop = threading.Event()
        self.timeline: list[dict[str, Any]] = []
        self.samples: list[tuple[float, str, int, float]] = []  # (t, what, status, seconds)
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def now(self) -> float:
        return round(time.monotonic() - self.started, 1)

    def run(self) -> None:
        key = {"Authorization": f"Bearer {self.stack.accounts['api_key']}"}
        last: dict[str, str] | None = None
        with httpx.Client(timeout=10) as client:
            while not self.stop.wait(0.5):
                for what, path, headers in (("readyz", "/readyz", {}), ("api", "/api/v1/events/lag", key)):
                    began = time.monotonic()
                    status, body = 0, None
                    try:
                        r = client.get(self.stack.url + path, headers=headers)
                        status = r.status_code
                        if what == "readyz":
                            body = r.json()
                    except httpx.TimeoutException:
                        status = -1  # a hang
                    except (httpx.HTTPError, ValueError):
                        status = -2  # refused or cut
                    self.samples.append((self.now(), what, status, time.monotonic() - began))
                    if what == "readyz":
                        checks = (body or {}).get("checks", {"http": str(status)})
                        if checks != last:
                            self.timeline.append({"t": self.now(), "status": status, "checks": checks})
                            last = checks

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for what in ("readyz", "api"):
            rows = [s for s in self.samples if s[1] == what]
            out[what] = {
                "requests": len(rows),
                "statuses": dict(Counter(str(s[2]) for s in rows)),
                "hangs_over_10s": sum(1 for s in rows if s[2] == -1),
                "max_seconds": round(max((s[3] for s in rows), default=0.0), 2),
            }
        return out


class OwnPostgres:
    """A PostgreSQL 15 cluster of our own (Debian's binaries, run as the `postgres` user, on a free
    port under the run's directory), so restarting it endangers nothing else on the machine."""

    def __init__(self, root: Path):
        self.dir = root / "pg15"
        self.port = free_port()

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        self.dir.mkdir(parents=True)
        subprocess.run(["chown", "postgres:postgres", str(self.dir)], check=True)
        self._as_postgres(str(PG15 / "initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust")
        self._as_postgres(
            str(PG15 / "pg_ctl"),
            "-D",
            str(self.dir),
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=300",
        )
        self._as_postgres(str(PG15 / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "veri")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/veri"

    def restart(self) -> None:
        self._as_postgres(
            str(PG15 / "pg_ctl"), "-D", str(self.dir), "-l", str(self.dir / "log"), "-m", "fast", "-w", "restart"
        )

    def stop(self) -> None:
        # Already stopped (a failed run) is as good as stopped.
        with contextlib.suppress(subprocess.CalledProcessError):
            self._as_postgres(str(PG15 / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop")


def restart_embedded(stack: Stack) -> None:
    """pg_ctl restart on the embedded server's data directory, as the user pgserver runs it as."""
    # -l: the new server's output goes to a file, not to a pipe this script would wait on.
    log = stack.pgdata / "restart.log"
    pg_ctl = [str(PGINSTALL / "pg_ctl"), "-D", str(stack.pgdata), "-l", str(log), "-m", "fast", "-w", "restart"]
    owner = stack.pgdata.stat().st_uid
    command = pg_ctl if owner == os.getuid() else ["runuser", "-u", "pgserver", "--", *pg_ctl]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def accepted_events(stack: Stack, accepted_file: Path) -> dict[str, Any]:
    """Every event id the API answered 202 for is in the log."""
    import psycopg

    ids = sorted(set(accepted_file.read_text().split())) if accepted_file.exists() else []
    url = (os.environ.get("CHAOS_DATABASE_URL") or stack.database_url).replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT count(*) FROM event_outbox WHERE event_id = ANY(%s::uuid[])", (ids,)).fetchone()
    present = int(found[0]) if found else 0
    return {"accepted": len(ids), "in_log": present, "lost": len(ids) - present}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20, help="simulated people during the run")
    parser.add_argument("--processes", type=int, default=2, help="API processes")
    parser.add_argument("--workers", type=int, default=2, help="`veri worker` processes")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every pause and outage")
    parser.add_argument("--database", choices=["embedded", "own-pg15"], default="embedded")
    parser.add_argument("--creators", type=int, default=30)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = parser.parse_args()
    k = args.scale

    stack = Stack(
        processes=args.processes, workers=args.workers, kafka=True, claude=True, creators=args.creators, days=args.days
    )
    own_pg: OwnPostgres | None = None
    # Sessions must outlive a Redis restart (production Redis persists): an append-only file.
    os.environ["VERI_AGENT_BREAKER_COOL_OFF_SECONDS"] = str(int(10 * k))
    result: dict[str, Any] = {"benchmark": "chaos", "database": args.database, "users": args.users, "scale": k}
    faults: list[dict[str, Any]] = []
    probe: Probe | None = None
    load: subprocess.Popen[bytes] | None = None
    started = time.perf_counter()
    try:
        if args.database == "own-pg15":
            own_pg = OwnPostgres(stack.root)
            url = own_pg.start()
            os.environ["VERI_DATABASE_URL"] = os.environ["CHAOS_DATABASE_URL"] = url
        stack.redis_args = ["--appendonly", "yes", "--dir", str(stack.root)]
        stack.start()
        stack.wait_drained(900)
        accepted_file = stack.root / "accepted.txt"
        schedule_seconds = int(270 * k)
        load = locust(
            stack, users=args.users, seconds=schedule_seconds, prefix=stack.root / "chaos", accepted=accepted_file
        )
        probe = Probe(stack)
        probe.thread.start()
        t0 = time.monotonic()

        def at(second: float) -> None:
            time.sleep(max(0.0, t0 + second * k - time.monotonic()))

        def fault(name: str, **detail: Any) -> dict[str, Any]:
            entry = {"fault": name, "t": round(time.monotonic() - t0, 1), **detail}
            faults.append(entry)
            print(f"[chaos] {entry}", file=sys.stderr)
            return entry

        at(20)
        victim = stack.worker_procs[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        stack.worker_procs.remove(victim)
        time.sleep(2)
        stack.start_worker()
        fault("kill -9 a worker", pid=victim.pid, restarted=True)

        at(40)
        children = stack.api_children()
        os.kill(children[0], signal.SIGKILL)
        entry = fault("kill -9 an API process", pid=children[0])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            len(stack.api_children()) < args.processes or children[0] in stack.api_children()
        ):
            time.sleep(0.5)
        entry["replaced_after_s"] = round(time.monotonic() - t0 - entry["t"], 1)
        entry["processes_now"] = len(stack.api_children())

        at(60)
        stack.stop_redis()
        entry = fault("Redis stopped", seconds=30 * k)
        at(90)
        stack.start_redis()
        entry["back_at"] = round(time.monotonic() - t0, 1)

        at(110)
        began = time.monotonic()
        if own_pg is not None:
            own_pg.restart()
        else:
            restart_embedded(stack)
        fault("PostgreSQL restarted", which=args.database, took_s=round(time.monotonic() - began, 1))

        at(140)
        stack.stop_broker()
        entry = fault("Kafka-protocol broker stopped", seconds=60 * k)
        at(200)
        stack.start_broker()
        # tansu lost its topics with its memory, and with them whatever a slow group (memory)
        # had not read yet, however old: the operator sends the whole outbox again; consumers
        # skip what they applied (a first run republished only since the load began, and lost
        # the world's history still queued for memory).
        republish = subprocess.run(
            [VERI, "events", "republish", "--from", "beginning", "--json"],
            env=stack.env(database_url=own_pg is None),
            capture_output=True,
            timeout=120,
            check=False,
        )
        entry["back_at"] = round(time.monotonic() - t0, 1)
        entry["republish"] = republish.stdout.decode().strip()[-300:] or republish.stderr.decode()[-300:]

        at(220)
        stack.slow_llm(3.0)
        entry = fault("LLM slowed", first_token_s=3.0, seconds=30 * k)
        at(250)
        stack.slow_llm(0.0)
        entry["back_at"] = round(time.monotonic() - t0, 1)

        load.wait(schedule_seconds + 120)
        probe.stop.set()
        probe.thread.join(15)
        drained = stack.wait_drained(900)
        stats = read_stats(stack.root / "chaos")
        result["faults"] = faults
        result["readyz_timeline"] = probe.timeline
        result["probes"] = probe.summary()
        result["load"] = {"aggregate": stats["aggregate"], "errors": stats["errors"]}
        total = stats["aggregate"]["requests"]
        clean = sum(e["count"] for e in stats["errors"] if "503 with Retry-After" in e["error"])
        # 4xx the scenario did not expect (a 401 after a lost session) count against uptime too.
        unclean = sum(e["count"] for e in stats["errors"]) - clean
        result["uptime"] = {
            "requests": total,
            "answered": total - clean - unclean,
            "clean_503": clean,
            "failed": unclean,
            "uptime": round((total - unclean) / total, 5) if total else None,
        }
        result["drained_after_load_s"] = round(drained, 1)
        result["events"] = accepted_events(stack, accepted_file)
        check = subprocess.run(
            [VERI, "check", "consistency", "--json"],
            env=stack.env(database_url=own_pg is None),
            capture_output=True,
            timeout=1800,
            check=False,
        )
        report = json.loads(check.stdout.decode().strip().splitlines()[-1]) if check.stdout.strip() else {}
        result["consistency"] = {
            "exit_code": check.returncode,
            "ok": report.get("ok"),
            "strictly_ok": report.get("strictly_ok"),
            "order_sensitive": report.get("order_sensitive"),
            "coverage": [
                {k2: c[k2] for k2 in ("family", "events", "applied", "unapplied", "applied_twice", "dead_lettered")}
                for c in report.get("coverage", [])
            ],
            "tables_not_equal": [
                {k2: t[k2] for k2 in ("table", "missing", "extra", "changed", "order_sensitive")}
                for t in report.get("tables", [])
                if not t["equal"]
            ],
            "seconds": report.get("seconds"),
        }
        result["nothing_lost"] = bool(result["events"]["lost"] == 0 and report.get("ok"))
    finally:
        if load is not None and load.poll() is None:
            load.terminate()
        if probe is not None:
            probe.stop.set()
        stack.stop(keep=args.keep)
        if own_pg is not None:
            own_pg.stop()
        result["seconds"] = round(time.perf_counter() - started, 1)
        if args.keep:
            result["data"] = str(stack.root)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
