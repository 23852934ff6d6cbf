"""A simulated month of the demo world, measured: the CPU-seconds of each process doing the work
(this one, in the API's place; a `veri worker` process running every consumer group; the
embedded PostgreSQL's server processes), their peak memory, the database's bytes, the events,
and the characters Claude would read and write for the agent's questions.

The phases, each measured apart so that `pricing` can scale them by its own assumptions:

1. **month**: the world's events ingested in batches of 1,000 (`events.service.ingest`, what
   `POST /api/v1/events` does) while the worker applies them; until every group is at the end
   of the log. This process's CPU counts for the ingestion only, not for building the world.
2. **idle**: nothing happens for a few seconds: what an idle worker and Postgres still burn.
3. **agent**: questions asked by the demo creators through the real agent, answered offline; a
   counting provider adds up what Claude would have been sent (as `agent.claude` builds it).
4. **sessions**: demo creators log in and open their pages through the real app (in process).
5. **chores**: the worker's housekeeping round (memory decay, embeddings owed, expired sessions,
   ...) and its hourly recount of lexeme statistics, on the demo accounts alone before the month
   and again after it: what is fixed and what grows with memory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
from pydantic import BaseModel, Field
from sqlalchemy import text

from veri.config import DatabaseSettings, EventSettings, MemorySettings, RedisSettings, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from veri.agent.providers import AgentRequest, Piece
    from veri.db.engine import Database

__all__ = [
    "AgentPhase",
    "ChorePhase",
    "ChoreRound",
    "Cpu",
    "Measurement",
    "Phase",
    "SessionPhase",
    "measure_month",
]

# What a creator asks the agent in a month (the brief's example first); cycled through.
QUESTIONS = (
    "Which brands should I pitch next, and at what rate?",
    "How did my last campaign perform?",
    "What did brands offer me last month?",
    "Which of my deals are still open and what do they need from me?",
    "How are my views trending over the last 30 days?",
    "What rate did I quote for a dedicated video?",
)
# A creator's visit: log in, then the pages and API reads a dashboard session makes.
SESSION_PATHS = (
    "/creator",
    "/api/v1/deals",
    "/earnings",
    "/tasks",
    "/analytics",
    "/leaderboards",
    "/api/v1/creators/me/recommendations",
    "/api/v1/notifications/unread-count",
)
# The tables Redis holds in production (sessions, rate limits, leaderboards); on the embedded
# default Postgres stands in, so their size is Redis's data.
REDIS_TABLES = ("user_sessions", "rate_limit_hits", "leaderboard_entries")
_BATCH = 1000
_REPEATS = 5

_BEHIND = text(
    "SELECT EXISTS (SELECT 1 FROM event_outbox o LEFT JOIN consumer_offsets c "
    "ON c.group_name = :group AND c.partition = o.partition "
    "WHERE c.partition IS NULL OR (o.txid, o.position) > (c.txid, c.position))"
)


class Cpu(BaseModel):
    """CPU-seconds (or, for memory, megabytes) by role: this process standing in for the API,
    the worker process, PostgreSQL's server processes."""

    api: float = 0.0
    worker: float = 0.0
    postgres: float = 0.0

    def minus(self, other: Cpu) -> Cpu:
        return Cpu(api=self.api - other.api, worker=self.worker - other.worker, postgres=self.postgres - other.postgres)

    def rounded(self, digits: int = 3) -> Cpu:
        return Cpu(
            api=round(self.api, digits), worker=round(self.worker, digits), postgres=round(self.postgres, digits)
        )


class Phase(BaseModel):
    seconds: float
    cpu_s: Cpu


class AgentPhase(Phase):
    questions: int
    llm_calls: int
    input_chars: int
    output_chars: int


class SessionPhase(Phase):
    sessions: int
    requests: int
    statuses: dict[str, int]


class ChoreRound(BaseModel):
    memories: int
    # A housekeeping round (every `interval_s`): decay, embeddings owed, sessions, proofs, payouts.
    plain: Cpu
    # The hourly recount of the lexemes' document frequencies over all memories.
    statistics: Cpu


class ChorePhase(BaseModel):
    """The worker's chores, measured on the demo accounts alone (before the month) and after the
    month, so that `pricing` can tell their fixed cost from what grows with memory."""

    before: ChoreRound
    after: ChoreRound
    interval_s: float
    statistics_interval_s: float


class Measurement(BaseModel):
    """The raw numbers of one run; `pricing.per_creator_month` scales them."""

    measured_at: datetime
    machine: dict[str, object]
    creators: int
    brands: int
    days: int
    seed: int
    embedder: str
    bus: str = "embedded"
    groups: list[str] = Field(description="the consumer groups that applied the month")
    creator_months: float
    events_ingested: int
    events_logged: int = Field(description="rows the month added to the log: ingested + what consumers emitted")
    event_bytes: float = Field(description="mean size of an ingested event as JSON (its Kafka value)")
    memories: int
    month: Phase
    idle: Phase
    agent: AgentPhase
    sessions: SessionPhase | None
    chores: ChorePhase
    peak_rss_mb: Cpu
    db_bytes: int = Field(description="growth of the database over the month")
    db_tables: dict[str, int] = Field(description="the largest relations at the end of the month, bytes")
    redis_bytes: int = Field(description="bytes of the tables Redis holds in production")


class _Meter:
    """Cumulative CPU of the three roles, and their peak memory, sampled in a thread: RSS for the
    Python processes, PSS summed over Postgres's processes (they share their buffers)."""

    def __init__(self, worker: psutil.Process, postmaster: psutil.Process):
        self.me = psutil.Process()
        self.worker, self.postmaster = worker, postmaster
        self.peak = Cpu()
        self._native_id = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="veri-cost-meter", daemon=True)
        self._thread.start()

    def cpu(self) -> Cpu:
        return Cpu(api=_cpu(self.me) - self._own_cpu(), worker=_cpu(self.worker), postgres=self._postgres_cpu())

    def _own_cpu(self) -> float:
        """The sampling thread's own CPU (reading /proc is not free), kept out of the API's."""
        return sum(t.user_time + t.system_time for t in self.me.threads() if t.id == self._native_id)

    def _postgres_cpu(self) -> float:
        # Backends that ended were reaped by the postmaster: their time is in its children_*.
        times = self.postmaster.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in self.postmaster.children():
            with suppress(psutil.Error):
                total += _cpu(child)
        return total

    def reset_peaks(self) -> None:
        self.peak = Cpu()

    def _sample(self) -> None:
        self._native_id = threading.get_native_id()
        while not self._stop.wait(0.5):
            with suppress(psutil.Error):
                postgres = 0
                for process in [self.postmaster, *self.postmaster.children()]:
                    with suppress(psutil.Error):
                        postgres += process.memory_full_info().pss
                self.peak = Cpu(
                    api=max(self.peak.api, self.me.memory_info().rss / 1e6),
                    worker=max(self.peak.worker, self.worker.memory_info().rss / 1e6),
                    postgres=max(self.peak.postgres, postgres / 1e6),
                )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


class _CountingProvider:
    """Answers offline, and adds up what Claude would have read and written for the same
    request: the system prompt, the tool definitions, the earlier turns, the plan's results and
    the question, as `agent.claude.ClaudeProvider` assembles its first call."""

    name = "offline"

    def __init__(self) -> None:
        # The agent's modules (and the ROI model's scikit-learn) load only when it is measured.
        from veri.agent.claude import SYSTEM_PROMPT
        from veri.agent.providers import OfflineProvider
        from veri.agent.tools import tool_definitions

        self.offline = OfflineProvider()
        self.prompt = SYSTEM_PROMPT + json.dumps(tool_definitions())
        self.calls = self.input_chars = self.output_chars = 0

    def respond(self, request: AgentRequest) -> Iterator[Piece]:
        from veri.agent.providers import Text

        found = "\n".join(request.sources.for_model(r) for r in request.results)
        parts = [self.prompt, f"{found}\n\nThe person asks: {request.question}"]
        parts += [part or "-" for turn in request.history for part in turn]
        self.calls += 1
        self.input_chars += sum(len(part) for part in parts)
        for piece in self.offline.respond(request):
            if isinstance(piece, Text):
                self.output_chars += len(piece.text)
            yield piece


def measure_month(
    *,
    creators: int,
    days: int = 30,
    brands: int | None = None,
    seed: int = 42,
    questions: int = 24,
    sessions: int = 12,
    embedder: str = "local",
    groups: Sequence[str],
    chores: Callable[[Settings, Database], Sequence[Callable[[], None]]],
    app: Callable[[Settings, Database], FastAPI] | None = None,
    idle_seconds: float = 10.0,
    timeout: float = 3600.0,
    workdir: Path | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> Measurement:
    """Build the demo world in a fresh embedded PostgreSQL, run a `veri worker` process with
    every consumer group beside it, play `days` of a world of `creators` through ingestion and
    measure each phase (see the module's docstring). `groups` are the consumer groups to wait
    for, `chores` builds the worker's chores and `app` the web app (None: no sessions phase);
    the composition root passes them in."""
    from veri.db import migrate
    from veri.db.engine import open_database
    from veri.demo import load_demo
    from veri.observability import configure_logging

    brands = brands if brands is not None else max(2, round(creators * 60 / 500))  # the demo world's ratio
    owned = workdir is None
    root = workdir or Path(tempfile.mkdtemp(prefix="veri-cost-"))
    settings = Settings(
        db=DatabaseSettings(data_dir=root, database_url=None),
        redis=RedisSettings(redis_url=None),
        events=EventSettings(event_bus="embedded"),
        memory=MemorySettings(embedder=embedder),
        log_level="WARNING",
    )
    configure_logging(settings.log_level, json=settings.log_json)  # stdout is for the results
    progress("starting the embedded PostgreSQL")
    database = open_database(settings)
    worker: subprocess.Popen[bytes] | None = None
    meter: _Meter | None = None
    try:
        migrate.upgrade(database.engine)
        # The worker starts (imports, model) while the demo accounts are made; it applies their events.
        with (root / "worker.log").open("wb") as log:  # the child keeps its own descriptor
            worker = subprocess.Popen(  # our interpreter and module, arguments we built  # nosec B603
                [sys.executable, "-m", "veri.cli", "worker"],
                env=_worker_env(root, embedder),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root,
            )
        progress("loading the demo accounts")
        with database.transaction() as db:
            load_demo(db)
        progress("the worker applies the demo accounts' events")
        _wait_drained(database, groups, worker, root, timeout)
        assert database.embedded is not None
        postmaster = psutil.Process(int((database.embedded.pgdata / "postmaster.pid").read_text().split()[0]))
        meter = _Meter(psutil.Process(worker.pid), postmaster)
        housekeeping = _housekeeping(chores(settings, database))
        progress("the worker's chores on the demo accounts")
        chores_before = _chore_round(database, housekeeping, meter, warm_up=True)
        world = _world(database, creators=creators, brands=brands, days=days, seed=seed)
        month = _month(database, meter, world, groups, worker, root, timeout, settings, progress)
        tables, db_size, redis_bytes = _sizes(database)
        progress(f"idle for {idle_seconds:.0f} s")
        idle = _idle(meter, idle_seconds)
        progress(f"asking the agent {questions} questions")
        agent = _agent(database, meter, settings, questions, groups, worker, root, timeout)
        session_phase = None
        if app is not None and sessions > 0:
            progress(f"{sessions} creator sessions through the app")
            session_phase = _sessions(app(settings, database), meter, sessions)
        progress("the worker's chores after the month")
        chore_phase = ChorePhase(
            before=chores_before,
            after=_chore_round(database, housekeeping, meter, warm_up=True),
            interval_s=settings.memory.memory_chores_seconds,
            statistics_interval_s=settings.memory.memory_statistics_seconds,
        )
        with database.sessions() as db:
            memories = int(db.scalar(text("SELECT count(*) FROM memories")) or 0)
        events_logged, event_bytes, ingested, wall, cpu, before_bytes = month
        return Measurement(
            measured_at=datetime.now(UTC),
            machine={"cpus": psutil.cpu_count(), "python": sys.version.split()[0], "load_1m": os.getloadavg()[0]},
            creators=creators,
            brands=brands,
            days=days,
            seed=seed,
            embedder=embedder,
            groups=list(groups),
            creator_months=round(creators * days / 30, 4),
            events_ingested=ingested,
            events_logged=events_logged,
            event_bytes=round(event_bytes, 1),
            memories=memories,
            month=Phase(seconds=round(wall, 2), cpu_s=cpu.rounded()),
            idle=idle,
            agent=agent,
            sessions=session_phase,
            chores=chore_phase,
            peak_rss_mb=meter.peak.rounded(1),
            db_bytes=db_size - before_bytes,
            db_tables=tables,
            redis_bytes=redis_bytes,
        )
    finally:
        if meter is not None:
            meter.stop()
        if worker is not None:
            _stop(worker)
        database.dispose()
        if database.embedded is not None:
            database.embedded.stop()
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _worker_env(root: Path, embedder: str) -> dict[str, str]:
    """The worker on the same embedded server and settings as this process, with the flags
    `make run` turns on; nothing from the caller's environment chooses another database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERI_")}
    env.update(
        VERI_DATA_DIR=str(root),
        VERI_EVENT_BUS="embedded",
        VERI_EMBEDDER=embedder,
        VERI_LOG_LEVEL="WARNING",
        HYBRID_SEARCH=os.environ.get("HYBRID_SEARCH", "true"),
        MEMORY_DECAY=os.environ.get("MEMORY_DECAY", "true"),
    )
    return env


def _wait_drained(
    database: Database, groups: Sequence[str], worker: subprocess.Popen[bytes], root: Path, timeout: float
) -> None:
    """Until every group is at the end of the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            tail = (root / "worker.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the worker stopped (exit {worker.returncode}):\n{tail}")
        with database.sessions() as db:
            if not any(db.scalar(_BEHIND, {"group": group}) for group in groups):
                return
        time.sleep(0.5)
    raise RuntimeError(f"the worker did not catch up within {timeout:.0f} s")


def _world(database: Database, *, creators: int, brands: int, days: int, seed: int) -> list[list[bytes]]:
    """The simulated world's events, day by day, built before anything is measured, with the demo
    accounts playing some of its parts (as `demo.load_world` casts them)."""
    from veri.demo import cast_simulation

    simulation = cast_simulation(database, creators=creators, brands=brands, days=days, seed=seed)
    return [list(lines) for lines in simulation.days()]


def _month(
    database: Database,
    meter: _Meter,
    world: list[list[bytes]],
    groups: Sequence[str],
    worker: subprocess.Popen[bytes],
    root: Path,
    timeout: float,
    settings: Settings,
    progress: Callable[[str], None],
) -> tuple[int, float, int, float, Cpu, int]:
    """Ingest the world while the worker applies it; the API's CPU is this process's during the
    ingestion, the worker's and Postgres's until every group is done."""
    from veri.events.service import ingest

    lines = [line for day in world for line in day]
    event_bytes = sum(len(line.rstrip(b"\n")) for line in lines) / max(len(lines), 1)
    with database.sessions() as db:
        before_events = int(db.scalar(text("SELECT count(*) FROM event_outbox")) or 0)
        before_bytes = int(db.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    progress(f"ingesting {len(lines):,} events while the worker applies them")
    meter.reset_peaks()
    started, start_cpu = time.perf_counter(), meter.cpu()
    for day in world:
        for offset in range(0, len(day), _BATCH):
            with database.transaction() as db:
                ingest(
                    db,
                    [json.loads(line) for line in day[offset : offset + _BATCH]],
                    partial=True,
                    partitions=settings.events.event_partitions,
                )
    ingested_cpu = meter.cpu().api
    _wait_drained(database, groups, worker, root, timeout)
    wall, end = time.perf_counter() - started, meter.cpu()
    cpu = end.minus(start_cpu)
    cpu.api = ingested_cpu - start_cpu.api
    with database.sessions() as db:
        events_logged = int(db.scalar(text("SELECT count(*) FROM event_outbox")) or 0) - before_events
    return events_logged, event_bytes, len(lines), wall, cpu, before_bytes


def _sizes(database: Database) -> tuple[dict[str, int], int, int]:
    with database.sessions() as db:
        rows = db.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm') ORDER BY 2 DESC"
            )
        ).all()
        size = int(db.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    tables = {str(name): int(size_) for name, size_ in rows}
    redis_bytes = sum(tables.get(name, 0) for name in REDIS_TABLES)
    return dict(list(tables.items())[:10]), size, redis_bytes


def _idle(meter: _Meter, seconds: float) -> Phase:
    before = meter.cpu()
    time.sleep(seconds)
    return Phase(seconds=seconds, cpu_s=meter.cpu().minus(before).rounded())


def _agent(
    database: Database,
    meter: _Meter,
    settings: Settings,
    questions: int,
    groups: Sequence[str],
    worker: subprocess.Popen[bytes],
    root: Path,
    timeout: float,
) -> AgentPhase:
    """The demo creators ask, each in one conversation (so later questions carry history)."""
    from veri.agent import service as agent_service
    from veri.demo import CREATORS
    from veri.identity import service as identity_service
    from veri.memory.embeddings import get_embedder

    provider = _CountingProvider()
    agent = agent_service.Agent(database, get_embedder(settings.memory.embedder), provider, settings.agent)
    conversations: dict[str, uuid.UUID] = {}
    started, before = time.perf_counter(), meter.cpu()
    for number in range(questions):
        handle = CREATORS[number % len(CREATORS)][0]
        email = f"{handle.split('.')[0]}@creators.example"
        with database.transaction() as db:
            user = identity_service.user_by_email(db, email=email)
            if user is None:
                raise RuntimeError(f"the demo account {email} is missing")
            principal = identity_service.principal_for(db, user, via="session")
            if email not in conversations:
                conversations[email] = agent_service.create_conversation(db, principal=principal, title="cost").id
            prepared = agent_service.begin_turn(
                db,
                principal=principal,
                conversation_id=conversations[email],
                question=QUESTIONS[number % len(QUESTIONS)],
                limiter=None,
                settings=settings.agent,
            )
        run = agent_service.collect(agent_service.run_turn(agent, principal, prepared))
        if run.failed:
            raise RuntimeError(f"the agent failed to answer: {run.done}")
    asked = meter.cpu()
    _wait_drained(database, groups, worker, root, timeout)  # the runs' workflow memories
    cpu = meter.cpu().minus(before)
    cpu.api = asked.api - before.api
    return AgentPhase(
        seconds=round(time.perf_counter() - started, 2),
        cpu_s=cpu.rounded(),
        questions=questions,
        llm_calls=provider.calls,
        input_chars=provider.input_chars,
        output_chars=provider.output_chars,
    )


def _sessions(app: FastAPI, meter: _Meter, sessions: int) -> SessionPhase:
    """Demo creators log in and open their dashboard's pages, through the app in this process."""
    from fastapi.testclient import TestClient

    from veri.demo import CREATORS, DEMO_PASSWORD

    statuses: dict[str, int] = {}
    requests = 0
    with TestClient(app) as client:

        def visit(number: int) -> list[int]:
            client.cookies.clear()
            handle = CREATORS[number % len(CREATORS)][0]
            email = f"{handle.split('.')[0]}@creators.example"
            responses = [client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})]
            responses += [client.get(path) for path in SESSION_PATHS]
            return [response.status_code for response in responses]

        visit(len(CREATORS) - 1)  # a process's first requests compile templates and warm caches
        started, before = time.perf_counter(), meter.cpu()
        for number in range(sessions):
            codes = visit(number)
            for code in codes:
                statuses[str(code)] = statuses.get(str(code), 0) + 1
            requests += len(codes)
        cpu = meter.cpu().minus(before)
        seconds = time.perf_counter() - started
    return SessionPhase(
        seconds=round(seconds, 2), cpu_s=cpu.rounded(), sessions=sessions, requests=requests, statuses=statuses
    )


def _housekeeping(chores: Sequence[Callable[[], None]]) -> list[Callable[[], None]]:
    """The chores of a housekeeping round; those with a thread and pace of their own (the
    connectors' sync) are not part of it."""
    from veri.events.worker import Periodic

    return [chore for chore in chores if not isinstance(chore, Periodic)]


def _chore_round(
    database: Database, housekeeping: Sequence[Callable[[], None]], meter: _Meter, *, warm_up: bool = False
) -> ChoreRound:
    """One housekeeping round and one recount of the lexeme statistics, in this process (its CPU
    counted as the worker's). A warm-up round goes first: the first round a process runs also
    recounts the statistics, and one after many new outcomes retrains the ROI model."""
    from veri.memory.service import refresh_lexeme_statistics

    for chore in housekeeping if warm_up else ():
        chore()
    spent = []
    for work in (lambda: [chore() for chore in housekeeping], lambda: refresh_lexeme_statistics(database)):
        before = meter.cpu()
        for _ in range(_REPEATS):  # CPU times tick in hundredths of a second: average a few
            work()
        used = meter.cpu().minus(before)
        spent.append(Cpu(worker=used.api / _REPEATS, postgres=used.postgres / _REPEATS).rounded(4))
    with database.sessions() as db:
        memories = int(db.scalar(text("SELECT count(*) FROM memories")) or 0)
    return ChoreRound(memories=memories, plain=spent[0], statistics=spent[1])


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
