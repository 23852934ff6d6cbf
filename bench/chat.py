"""bench/chat: the agent's latency through the real API, against the raw retrieval it wraps, at
100k memories of one creator. Prints one JSON object per measure.

    .venv/bin/python bench/chat.py --memories 100000 --questions 60

One creator with N memories (bench/memory.py's `fill`: simulator texts, real embeddings), logged
in through the API; each question is posted to /api/v1/agent/.../messages and its server-sent
events read as they arrive (FastAPI's TestClient, in process: no network in the numbers):

- `server_before_first_token`: until the first event (session auth, the turn stored, the memory
  search run); its ratio to the raw `retrieval.search` call for the same question, interleaved;
- `offline`: time to the first token with the offline answerer;
- `claude_400ms`: Claude through the real SDK against the local fake Messages API that waits
  400 ms before its first token;
- `claude_hanging` / `claude_down`: the fake never answers (every request waits out the first-token
  timeout: the breaker is set not to open) / refuses connections: time to the offline answer;
- `plan_reuse`: a repeated task (deal questions the model answers after calling `list_deals`):
  LLM calls and time per answer before and after the first successful run is remembered as
  workflow memory and its tool plan reused. The fake is scripted as such a model would behave
  (it calls the tool when its result is missing), so the saving measures the mechanism.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # the fake Messages API lives with the tests

from fastapi.testclient import TestClient  # noqa: E402
from tests.agent.fake_anthropic import FakeAnthropic, Reply  # noqa: E402
from tests.factories import csrf_headers, make_settings  # noqa: E402

from memory import corpus, fill, open_store  # noqa: E402
from veri.app import create_app  # noqa: E402
from veri.config import AgentSettings  # noqa: E402
from veri.db.engine import Database  # noqa: E402
from veri.identity import service as identity_service  # noqa: E402
from veri.memory.embeddings import get_embedder  # noqa: E402
from veri.memory.retrieval import SearchQuery, forget_query_vectors, search  # noqa: E402
from veri.models.accounts import Role  # noqa: E402
from veri.models.creators import Creator  # noqa: E402
from veri.simulate.engine import Simulation, SimulationParams  # noqa: E402
from veri.simulate.questions import question_set  # noqa: E402

PASSWORD = "bench-password-long-enough"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summary(times: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1)}


@contextmanager
def logged_in(database: Database, workdir: Path, agent: AgentSettings) -> Iterator[TestClient]:
    # The per-person limit on questions would throttle the benchmark itself.
    agent = agent.model_copy(update={"agent_questions_per_minute": 10**6})
    app = create_app(make_settings(workdir, agent=agent, log_level="WARNING"), database=database)
    with TestClient(app) as client:
        response = client.post("/api/v1/auth/login", json={"email": "bench@example.com", "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.headers.update(csrf_headers(client))
        yield client


def ask(client: TestClient, conversation: str, question: str) -> dict[str, Any]:
    """Post a question and read its events as they come: when the first event and the first
    token arrived, and the final event."""
    started = time.perf_counter()
    first_event = first_token = None
    done: dict[str, Any] = {}
    steps: list[str] = []
    path = f"/api/v1/agent/conversations/{conversation}/messages"
    with client.stream("POST", path, json={"question": question}) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            now = (time.perf_counter() - started) * 1000
            event = json.loads(line[6:])
            first_event = first_event if first_event is not None else now
            if event["event"] == "token" and first_token is None:
                first_token = now
            if event["event"] == "step":
                steps.append(event["name"])
            if event["event"] in ("done", "error"):
                done = event
    return {"first_event_ms": first_event, "first_token_ms": first_token, "done": done, "steps": steps}


def conversation_of(client: TestClient) -> str:
    return str(client.post("/api/v1/agent/conversations", json={}).json()["id"])


def measure(client: TestClient, questions: list[str]) -> dict[str, Any]:
    conversation = conversation_of(client)
    runs = [ask(client, conversation, q) for q in questions]
    return {
        "first_token": summary([r["first_token_ms"] for r in runs]),
        "providers": sorted({r["done"].get("provider", "") for r in runs}),
        "fallbacks": sum(bool(r["done"].get("fallback")) for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--pool", type=int, default=3000)
    args = parser.parse_args()
    rng = random.Random(11)
    workdir = Path(tempfile.mkdtemp(prefix="veri-bench-chat-"))
    questions_file = workdir / "questions.jsonl"
    simulation = Simulation(SimulationParams(creators=200, brands=30, days=180, seed=5), record_conversations=True)
    questions_file.write_text("\n".join(question_set(simulation, subjects=40, per_subject=30, seed=5)) + "\n")
    texts, questions = corpus(questions_file)
    texts = list(dict.fromkeys(texts))[: args.pool]
    questions = rng.sample(questions, min(args.questions, len(questions)))
    embedder = get_embedder("local")
    assert embedder is not None
    database = open_store(workdir)
    built = fill(database, args.memories, texts, embedder.embed(texts), rng, creators=1)
    creator_id = uuid.UUID(hashlib.md5(b"creator0").hexdigest())
    with database.transaction() as db:
        user = identity_service.create_user(
            db, email="bench@example.com", password=PASSWORD, display_name="Bench", role=Role.CREATOR
        )
        db.add(Creator(id=creator_id, user_id=user.id, handle="bench", display_name="Bench"))
    base = {"bench": "chat", "memories_of_the_creator": args.memories, **built, "questions": len(questions)}
    offline = AgentSettings(agent_provider="offline")
    try:
        with logged_in(database, workdir, offline) as client:
            ask(client, conversation_of(client), questions[0])  # warm: the model, the plans, the pool
            conversation = conversation_of(client)
            server: list[float] = []
            inside: list[float] = []  # the same, as the run itself measured it (after auth)
            first_tokens: list[float] = []
            raw: list[float] = []
            with database.sessions() as db:

                def raw_search(question: str) -> None:
                    forget_query_vectors()
                    search(
                        db,
                        SearchQuery(question, creator_id=creator_id),
                        embedder=embedder,
                        hybrid=True,
                        use_strength=False,
                    )

                for question in questions:  # interleaved, so drift in the machine's load hits both alike
                    run = ask(client, conversation, question)
                    server.append(run["first_event_ms"])
                    inside.append(run["done"]["timings"]["server_ms"])
                    first_tokens.append(run["first_token_ms"])
                    started = time.perf_counter()
                    raw_search(question)
                    raw.append((time.perf_counter() - started) * 1000)
            print(
                json.dumps(
                    {
                        **base,
                        "measure": "offline",
                        "server_before_first_token": summary(server),
                        "server_before_first_token_after_auth": summary(inside),
                        "raw_retrieval_search": summary(raw),
                        "ratio_p95": round(percentile(server, 0.95) / percentile(raw, 0.95), 2),
                        "offline_first_token": summary(first_tokens),
                    }
                ),
                flush=True,
            )
        with FakeAnthropic() as fake:
            claude = AgentSettings(ANTHROPIC_API_KEY="bench", anthropic_base_url=fake.url)
            with logged_in(database, workdir, claude) as client:
                fake.queue(*(Reply(text="It was $450 [1].", first_token_delay=0.4) for _ in questions))
                print(json.dumps({**base, "measure": "claude_400ms", **measure(client, questions)}), flush=True)
            stubborn = AgentSettings(
                ANTHROPIC_API_KEY="bench", anthropic_base_url=fake.url, agent_breaker_failures=10**6
            )
            with logged_in(database, workdir, stubborn) as client:
                few = questions[:20]
                fake.queue(*(Reply(hang=True) for _ in few))
                print(json.dumps({**base, "measure": "claude_hanging", **measure(client, few)}), flush=True)
            plan_reuse(database, workdir, fake, claude, base)
        down = AgentSettings(ANTHROPIC_API_KEY="bench", anthropic_base_url=FakeAnthropic.down_url())
        with logged_in(database, workdir, down) as client:
            print(json.dumps({**base, "measure": "claude_down", **measure(client, questions[:20])}), flush=True)
    finally:
        database.dispose()


def plan_reuse(
    database: Database, workdir: Path, fake: FakeAnthropic, settings: AgentSettings, base: dict[str, Any]
) -> None:
    from veri.events.bus.embedded import EmbeddedLog
    from veri.events.runtime import ConsumerLoop, RetryPolicy
    from veri.memory.handlers import MemoryHandler

    def form() -> None:  # the memory group forms the runs into workflow memory
        consumer = EmbeddedLog(database, partitions=8, lease_seconds=60).consumer("memory", "bench")
        ConsumerLoop(database, consumer, MemoryHandler(None), batch_size=256, retry=RetryPolicy(1, 0.0)).drain(
            lambda done: None
        )
        consumer.close()

    # Questions of one kind ("general": no word of deals or money) that the model answers after
    # calling `list_deals`.
    task = ["What am I working on with brands right now?", "Who am I collaborating with lately?"]
    with logged_in(database, workdir, settings) as client:
        conversation = conversation_of(client)
        measured: dict[str, Any] = {}
        for phase in ("without_plan", "with_plan"):
            calls_before = len(fake.requests)
            times: list[float] = []
            planned = 0
            for question in task * 6:
                if phase == "without_plan":
                    fake.queue(Reply(tool_calls=[("list_deals", {})], first_token_delay=0.4))
                fake.queue(Reply(text="You work with Lumen [1].", first_token_delay=0.4))
                started = time.perf_counter()
                run = ask(client, conversation, question)
                times.append((time.perf_counter() - started) * 1000)
                planned += run["steps"][:2] == ["search_memories", "list_deals"] and phase == "with_plan"
            measured[phase] = {
                "llm_calls_per_answer": round((len(fake.requests) - calls_before) / len(task * 6), 2),
                "answer": summary(times),
                "answers_that_started_from_a_remembered_plan": planned,
            }
            form()  # the first phase's runs become workflow memory
    print(json.dumps({**base, "measure": "plan_reuse", **measured}), flush=True)


if __name__ == "__main__":
    main()
