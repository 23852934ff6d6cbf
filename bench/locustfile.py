"""The load scenario (Locust): a realistic mix against a running Veri, used by bench/load.py and
bench/chaos.py (or by hand: `locust -f bench/locustfile.py --host http://127.0.0.1:8000`).

Who does what, per simulated person and by weight (log-in about one action in 45: a session lasts,
and its password hash is slow on purpose; the log-ins of the ramp-up are left out of the
statistics, `--reset-stats`):
- creators (6): log in, open their dashboard, their progress, search their memory, read and write
  deal messages, ask the agent (streamed; the offline provider unless the server has Claude),
  log out and in again now and then;
- brands (2): log in, open their dashboard and campaigns, read and write deal messages;
- a machine client (1): sends batches of events (posts and their metric snapshots) to
  POST /api/v1/events with an admin API key; every accepted event id is written to
  VERI_LOAD_ACCEPTED (a file), so a chaos run can check that none was lost.

The accounts come from VERI_LOAD_ACCOUNTS (JSON: creators, brands, password, api_key,
creator_ids), which bench/load.py writes. A 503 with Retry-After counts as a clean refusal (the
request is marked failed under its own name, "503 ..."), anything else non-2xx as an error.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import uuid_utils
from locust import FastHttpUser, between, task

ACCOUNTS: dict[str, Any] = json.loads(os.environ.get("VERI_LOAD_ACCOUNTS", "{}"))
ACCEPTED_FILE = os.environ.get("VERI_LOAD_ACCEPTED")
_accepted_lock = threading.Lock()
CLOSED = {"completed", "cancelled", "declined", "withdrawn", "expired"}
QUESTIONS = [
    "which brands should I pitch next, and at what rate?",
    "what rate did I quote Peakform?",
    "how did my last campaign perform?",
    "what did the brand say about the deadline?",
]
SEARCHES = ["rate", "deadline", "fitness video", "budget", "engagement", "sponsored post", "delivery"]


def _mark(response: Any) -> None:
    """A clean 503 (Retry-After) is named apart, so the uptime counts it as a refusal, not an error."""
    if response.status_code == 503 and response.headers.get("Retry-After"):
        response.failure("503 with Retry-After")


class _Person(FastHttpUser):
    abstract = True
    wait_time = between(0.5, 2.0)
    # Never wait forever: a hang shows as an error after this many seconds.
    network_timeout = 15.0
    connection_timeout = 5.0
    role = ""
    email = ""

    def _get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as r:
            _mark(r)

    def _post(self, path: str, body: dict[str, Any], name: str) -> Any:
        """The response, its status marked, for the caller to read."""
        with self.client.post(path, json=body, headers=self._csrf(), name=name, catch_response=True) as r:
            _mark(r)
            return r

    def _csrf(self) -> dict[str, str]:
        for cookie in self.client.cookiejar:
            if cookie.name == "veri_csrf":
                return {"X-CSRF-Token": cookie.value}
        return {}

    def _log_in(self) -> bool:
        # 401 before log-in, but it sets the CSRF cookie the log-in must echo.
        with self.client.get("/api/v1/auth/me", name="/api/v1/auth/me (csrf cookie)", catch_response=True) as r:
            if r.status_code == 401:
                r.success()
            _mark(r)
        with self.client.post(
            "/api/v1/auth/login",
            json={"email": self.email, "password": ACCOUNTS["password"]},
            headers=self._csrf(),
            name="log in",
            catch_response=True,
        ) as r:
            _mark(r)
            return bool(r.status_code == 200)

    def on_start(self) -> None:
        self.email = random.choice(ACCOUNTS[self.role + "s"])
        self.deals: list[str] = []
        if self._log_in():
            self._load_deals()

    def _load_deals(self) -> None:
        with self.client.get("/api/v1/deals?limit=50", name="/api/v1/deals", catch_response=True) as r:
            _mark(r)
            if r.status_code == 200:
                items = r.json().get("items", [])
                self.deals = [d["id"] for d in items if d.get("status") not in CLOSED]

    @task(10)
    def deal_thread(self) -> None:
        if not self.deals:
            return
        deal = random.choice(self.deals)
        self._get(f"/api/v1/deals/{deal}/messages", "/api/v1/deals/[id]/messages")
        with self.client.post(
            f"/api/v1/deals/{deal}/messages",
            json={"body": f"Checking in on the deliverables ({random.randint(1, 10_000)})"},
            headers=self._csrf(),
            name="/api/v1/deals/[id]/messages",
            catch_response=True,
        ) as r:
            _mark(r)
            if r.status_code == 409:  # the other side closed the deal meanwhile
                self.deals.remove(deal)
                r.success()

    @task(1)  # about one action in 45: sessions last; log-in's password hash is slow on purpose
    def log_out_and_in(self) -> None:
        self.client.post("/api/v1/auth/logout", headers=self._csrf(), name="log out")
        if self._log_in():
            self._load_deals()


class Creator(_Person):
    weight = 6
    role = "creator"

    @task(15)
    def dashboard(self) -> None:
        self._get("/creator", "/creator (dashboard page)")

    @task(5)
    def progress(self) -> None:
        self._get("/api/v1/me/progress", "/api/v1/me/progress")

    @task(10)
    def memory_search(self) -> None:
        self._get(f"/api/v1/memories/search?q={random.choice(SEARCHES)}&limit=10", "/api/v1/memories/search")

    @task(5)
    def ask_the_agent(self) -> None:
        started = self._post("/api/v1/agent/conversations", {}, "agent: new conversation")
        if started.status_code != 201:
            return
        conversation = started.json()["id"]
        self._post(
            f"/api/v1/agent/conversations/{conversation}/messages?stream=false",
            {"question": random.choice(QUESTIONS)},
            "agent: ask",
        )


class Brand(_Person):
    weight = 2
    role = "brand"

    @task(15)
    def dashboard(self) -> None:
        self._get("/brand", "/brand (dashboard page)")

    @task(5)
    def campaigns(self) -> None:
        self._get("/api/v1/campaigns?limit=20", "/api/v1/campaigns")


class Ingestion(FastHttpUser):
    """A machine client: batches of 20 events (a post and its snapshots) with an admin API key."""

    weight = 1
    wait_time = between(0.5, 1.5)
    network_timeout = 15.0
    connection_timeout = 5.0

    @task
    def send_batch(self) -> None:
        creator = random.choice(ACCOUNTS["creator_ids"])
        content = str(uuid.uuid4())
        published = datetime.now(UTC) - timedelta(minutes=random.randint(5, 50))
        batch = [
            {
                "id": str(uuid_utils.uuid7()),
                "type": "content.published",
                "occurred_at": published.isoformat(),
                "subject": f"creator:{creator}",
                "actor": "load-test",
                "payload": {
                    "content_id": content,
                    "creator_id": creator,
                    "platform": "tiktok",
                    "kind": "short",
                    "published_at": published.isoformat(),
                },
            }
        ]
        views = 0
        for i in range(19):
            views += random.randint(10, 500)
            captured = published + timedelta(seconds=30 * (i + 1))
            batch.append(
                {
                    "id": str(uuid_utils.uuid7()),
                    "type": "content.metrics_snapshot",
                    "occurred_at": captured.isoformat(),
                    "subject": f"creator:{creator}",
                    "actor": "load-test",
                    "payload": {
                        "content_id": content,
                        "creator_id": creator,
                        "platform": "tiktok",
                        "captured_at": captured.isoformat(),
                        "metrics": {"play_count": views, "digg_count": views // 20, "comment_count": views // 200},
                    },
                }
            )
        with self.client.post(
            "/api/v1/events",
            json={"events": batch},
            headers={"Authorization": f"Bearer {ACCOUNTS['api_key']}"},
            name="/api/v1/events (20 events)",
            catch_response=True,
        ) as r:
            _mark(r)
            if r.status_code == 202 and ACCEPTED_FILE:
                with _accepted_lock, open(ACCEPTED_FILE, "a") as out:
                    out.write("".join(e["id"] + "\n" for e in batch))
