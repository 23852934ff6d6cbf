"""Load: the Locust scenario (bench/locustfile.py) against `veri run --workers N` (N API
processes behind one port, one database, one Redis) with separate `veri worker` processes, in
steps of simulated people; prints one JSON object: per step requests/s, p50/p95/p99, errors;
the best requests/s with p95 <= 300 ms; where it saturates; and the checks that the processes
share no state in memory (a session made in one is honoured by the others, log-in failures
counted across them, a live update published by one reaches a stream held by another).
With --baseline 1 the same steps run against one API process too, for the ratio.

    flock /tmp/veri-heavy.lock .venv/bin/python bench/load.py --processes 4 --steps 10,20,40,80 --step-seconds 30
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import PASSWORD, Stack, locust, read_stats

P95_GOAL_MS = 300.0


def _fresh() -> httpx.Client:
    """A client that opens a new connection per request, so requests spread over the processes."""
    return httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def _log_in(client: httpx.Client, base: str, email: str, password: str = PASSWORD) -> httpx.Response:
    client.get(base + "/api/v1/auth/me")
    return client.post(
        base + "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-CSRF-Token": client.cookies.get("veri_csrf", "")},
    )


def shared_state(stack: Stack) -> dict[str, Any]:
    """Two API processes chosen by port: the supervisor's (any of its workers) and one more
    started apart on another port; state made through one must hold through the other."""
    from stack import free_port

    port = free_port()
    other = stack.start_single(port)
    a, b = stack.url, f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        # Sessions: logged in through A, the cookie honoured by B (and A again).
        with _fresh() as client:
            assert _log_in(client, a, "admin@veri.example").status_code == 200
            statuses = [client.get(base + "/api/v1/auth/me").status_code for base in (b, a, b, a, b)]
            out["sessions"] = {"statuses_a_b": statuses, "ok": statuses == [200] * 5}
        # Log-in limits: failures for one (account, address) pair alternate between A and B.
        with _fresh() as client:
            codes = [
                _log_in(client, (a, b)[i % 2], "nobody@example.com", "wrong-password").status_code for i in range(7)
            ]
            out["login_limit"] = {"statuses_a_b": codes, "ok": codes[:5] == [401] * 5 and codes[5:] == [429, 429]}
        # Live updates: the creator's stream held by B, the brand's message written through A.
        out["live"] = _live_across_processes(stack, stream_base=b, write_base=a)
    finally:
        other.terminate()
        other.wait(30)
    out["ok"] = all(v.get("ok") for v in out.values() if isinstance(v, dict))
    return out


def _live_across_processes(stack: Stack, *, stream_base: str, write_base: str) -> dict[str, Any]:
    creator = httpx.Client(timeout=httpx.Timeout(10, read=20))
    assert _log_in(creator, write_base, stack.accounts["creators"][0]).status_code == 200
    deals = creator.get(write_base + "/api/v1/deals", params={"limit": 50}).json()["items"]
    open_deals = [d for d in deals if d["status"] not in ("completed", "cancelled", "declined", "withdrawn", "expired")]
    if not open_deals:
        return {"ok": None, "why": "no open deal for the first creator"}
    received: list[str] = []
    connected = threading.Event()

    def listen() -> None:
        with creator.stream("GET", stream_base + "/api/v1/live") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    connected.set()
                    received.append(line)
                    if "message" in line and "hello" not in line:
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    connected.wait(10)
    sent_at, posted = time.monotonic(), False
    for brand in stack.accounts["brands"]:
        with _fresh() as client:
            if _log_in(client, write_base, brand).status_code != 200:
                continue
            csrf = {"X-CSRF-Token": client.cookies.get("veri_csrf", "")}
            r = client.post(
                write_base + f"/api/v1/deals/{open_deals[0]['id']}/messages", json={"body": "load check"}, headers=csrf
            )
            if r.status_code == 201:
                posted = True
                break
    thread.join(10)
    creator.close()
    got = any("message" in line and "hello" not in line for line in received)
    return {"posted": posted, "received": got, "seconds": round(time.monotonic() - sent_at, 2), "ok": posted and got}


def run_steps(stack: Stack, steps: list[int], seconds: int, label: str) -> list[dict[str, Any]]:
    results = []
    for users in steps:
        prefix = stack.root / f"{label}-{users}"
        proc = locust(stack, users=users, seconds=seconds, prefix=prefix)
        proc.wait(seconds + 120)
        stats = read_stats(prefix)
        agg = stats["aggregate"]
        results.append({"users": users, **agg, "errors": stats["errors"][:8], "by_name": stats["by_name"]})
        print(
            f"[{label}] {users} users: {agg['rps']} req/s p95 {agg['p95_ms']} ms p99 {agg['p99_ms']} ms "
            f"failures {agg['failures']}/{agg['requests']}",
            file=sys.stderr,
        )
    return results


def summary(steps: list[dict[str, Any]]) -> dict[str, Any]:
    within = [s for s in steps if s["p95_ms"] <= P95_GOAL_MS and s["failures"] <= 0.01 * max(1, s["requests"])]
    best = max(within, key=lambda s: s["rps"]) if within else None
    peak = max(steps, key=lambda s: s["rps"])
    # Saturated: the first step past which more people bring < 10% more requests/s, or p95 passes the goal.
    saturates_at = None
    for before, after in itertools.pairwise(steps):
        if after["rps"] < before["rps"] * 1.1 or after["p95_ms"] > P95_GOAL_MS:
            saturates_at = after["users"]
            break
    return {
        "best_rps_p95_le_300ms": best["rps"] if best else 0.0,
        "best_at_users": best["users"] if best else None,
        "p99_ms_at_best": best["p99_ms"] if best else None,
        "peak_rps": peak["rps"],
        "peak_at_users": peak["users"],
        "saturates_at_users": saturates_at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=4, help="API processes (uvicorn workers)")
    parser.add_argument("--workers", type=int, default=1, help="`veri worker` processes")
    parser.add_argument("--steps", default="10,20,40,80", help="simulated people per step")
    parser.add_argument("--step-seconds", type=int, default=30)
    parser.add_argument("--creators", type=int, default=30, help="the simulated world's size")
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--baseline", type=int, default=0, help="also run the steps against this many API processes")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]

    stack = Stack(processes=args.processes, workers=args.workers, creators=args.creators, days=args.days)
    started = time.perf_counter()
    result: dict[str, Any] = {"benchmark": "load", "processes": args.processes, "workers": args.workers}
    try:
        stack.start()
        result["drained_world_seconds"] = round(stack.wait_drained(900), 1)
        result["shared_state"] = shared_state(stack)
        result["steps"] = run_steps(stack, steps, args.step_seconds, f"p{args.processes}")
        result["summary"] = summary(result["steps"])
        if args.baseline:
            stack.stop_api()
            stack.processes = args.baseline
            stack.start_api()
            base_steps = run_steps(stack, steps, args.step_seconds, f"p{args.baseline}")
            result["baseline"] = {"processes": args.baseline, "steps": base_steps, "summary": summary(base_steps)}
            base_best = result["baseline"]["summary"]["best_rps_p95_le_300ms"]
            result["ratio_to_baseline"] = (
                round(result["summary"]["best_rps_p95_le_300ms"] / base_best, 2) if base_best else None
            )
        result["seconds"] = round(time.perf_counter() - started, 1)
        result["machine"] = {"cores": __import__("os").cpu_count(), "load_generator": "locust on the same machine"}
    finally:
        stack.stop(keep=args.keep)
        if args.keep:
            result["data"] = str(stack.root)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
