"""`veri eval recall`: the memory benchmark of shared/eval/README.md.

Every event of the file goes through the real pipeline (ingestion into the outbox, the embedded
log, the `memory` consumer group: signals, formation, consolidation, embeddings) in a temporary
embedded PostgreSQL of its own; every query through the engine's own retrieval, restricted to its
subject. The ranked memories become a ranked list of source event ids (each memory's provenance
in rank order, without repeats), cut at k, and are scored against the expected ids.
"""

from __future__ import annotations

import math
import re
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from veri.db import migrate
from veri.db.embedded import start_embedded_postgres
from veri.db.engine import Database, normalise_url
from veri.events.bus.embedded import EmbeddedLog
from veri.events.envelope import new_event_id
from veri.events.lag import pipeline_status
from veri.events.runtime import ConsumerLoop, RetryPolicy
from veri.events.service import ingest
from veri.memory.embeddings import Embedder
from veri.memory.handlers import MemoryHandler
from veri.memory.retrieval import SearchQuery
from veri.memory.service import search_memories

__all__ = [
    "BenchmarkError",
    "Formed",
    "RecallReport",
    "envelopes",
    "formed_benchmark",
    "load_benchmark",
    "percentile",
    "read_benchmark",
    "run_recall",
    "temporary_store",
]

log = structlog.get_logger(__name__)

PARTITIONS = 4
_NAMESPACE = uuid.UUID("6f1c1a52-8d7e-4b8e-9a43-1f3a5d0c2e77")


class BenchmarkError(ValueError):
    def __init__(self, line: int, reason: str):
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


class EventLine(BaseModel):
    model_config = ConfigDict(extra="ignore")
    # Where it was in the file, to report it if the pipeline refuses it.
    line: int = Field(0, exclude=True)

    type: Literal["event"]
    subject: str = Field(min_length=1, max_length=100)
    id: str = Field(min_length=1, max_length=200)
    at: AwareDatetime
    actor: str = Field(min_length=1, max_length=120)
    text: str = Field(max_length=20_000)


class QueryLine(BaseModel):
    model_config = ConfigDict(extra="ignore")
    line: int = Field(0, exclude=True)

    type: Literal["query"]
    subject: str = Field(min_length=1, max_length=100)
    id: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=20_000)
    expected: list[str] = Field(min_length=1)
    category: int | None = None
    # The expected answer in words, for `veri eval answer` (recall ignores it).
    answer: str | None = Field(None, max_length=20_000)


def _parse_line(number: int, raw: bytes) -> EventLine | QueryLine:
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BenchmarkError(number, f"not JSON: {exc}") from None
    kind = record.get("type") if isinstance(record, dict) else None
    try:
        if kind == "event":
            return EventLine.model_validate(record)
        if kind == "query":
            return QueryLine.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BenchmarkError(number, f"{where}: {first['msg']}") from None
    raise BenchmarkError(number, "type must be 'event' or 'query'")


def read_benchmark(path: Path) -> tuple[list[EventLine], list[QueryLine], list[BenchmarkError]]:
    """Every line that parses, and each one that does not with its number and why: a bad line
    costs itself, not the run. A query expecting ids its subject has no event for cannot be
    answered, and is refused the same way."""
    events: list[EventLine] = []
    queries: list[tuple[int, QueryLine]] = []
    rejected: list[BenchmarkError] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                line = _parse_line(number, raw)
            except BenchmarkError as exc:
                rejected.append(exc)
                continue
            if isinstance(line, EventLine):
                line.line = number
                events.append(line)
            else:
                line.line = number
                queries.append((number, line))
    known = {(e.subject, e.id) for e in events}
    answerable: list[QueryLine] = []
    for number, query in queries:
        unknown = [i for i in query.expected if (query.subject, i) not in known]
        if unknown:
            rejected.append(BenchmarkError(number, f"expected: no event {', '.join(unknown[:3])} in {query.subject!r}"))
        else:
            answerable.append(query)
    rejected.sort(key=lambda error: error.line)
    return events, answerable, rejected


def load_benchmark(path: Path) -> tuple[list[EventLine], list[QueryLine]]:
    """The benchmark, or the first bad line as a `BenchmarkError` (for tools that need it whole)."""
    events, queries, rejected = read_benchmark(path)
    if rejected:
        raise rejected[0]
    return events, queries


@dataclass
class _Scores:
    recall: list[float] = field(default_factory=list)
    mrr: list[float] = field(default_factory=list)

    def add(self, ranked: list[str], expected: list[str]) -> None:
        wanted = set(expected)
        self.recall.append(len(wanted & set(ranked)) / len(wanted))
        first = next((rank for rank, one in enumerate(ranked, start=1) if one in wanted), None)
        self.mrr.append(1 / first if first else 0.0)

    def as_dict(self, k: int) -> dict[str, Any]:
        return {
            f"recall@{k}": round(statistics.fmean(self.recall), 4) if self.recall else None,
            f"mrr@{k}": round(statistics.fmean(self.mrr), 4) if self.mrr else None,
            "queries": len(self.recall),
        }


@dataclass
class RecallReport:
    k: int
    overall: dict[str, Any]
    categories: dict[str, dict[str, Any]]
    events: int
    ingest_seconds: float
    query_p50_ms: float
    query_p95_ms: float
    mode: str
    misses: list[dict[str, Any]]
    dead_letters: int = 0
    # Lines of the file that could not be used (line number and why); the run went on without them.
    rejected: list[BenchmarkError] = field(default_factory=list)
    # Questions whose search raised: each counts as a miss, the run goes on, the report says why.
    errors: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "mode": self.mode,
            **self.overall,
            "categories": self.categories,
            "events": self.events,
            "ingest_seconds": round(self.ingest_seconds, 2),
            "ingest_events_per_s": round(self.events / self.ingest_seconds, 1) if self.ingest_seconds else None,
            "query_p50_ms": round(self.query_p50_ms, 1),
            "query_p95_ms": round(self.query_p95_ms, 1),
            "dead_letters": self.dead_letters,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "rejected_lines": len(self.rejected),
            "first_rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected[:5]],
        }


@contextmanager
def temporary_store() -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="veri-eval-") as workdir:
        server = start_embedded_postgres(Path(workdir), database="eval")
        engine = create_engine(normalise_url(server.url("eval")), pool_size=4)
        database = Database(engine, sessionmaker(engine, expire_on_commit=False), server)
        try:
            migrate.upgrade(engine)
            yield database
        finally:
            engine.dispose()
            server.stop()


def _creator_of(subject: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"subject:{subject}")


def _is_subject(actor: str, subject: str) -> bool:
    """Whether the subject wrote it: "Maya" of "maya", "Iris" of "iris.talks"."""
    first = re.split(r"[^\w]+", subject.casefold(), maxsplit=1)[0]
    return bool(first) and actor.casefold().split()[0] == first


def envelopes(events: list[EventLine]) -> tuple[list[dict[str, Any]], dict[uuid.UUID, tuple[str, str]]]:
    """message.sent events, one per line, each (subject, id) with its own event id."""
    back: dict[uuid.UUID, tuple[str, str]] = {}
    raw: list[dict[str, Any]] = []
    for line in events:
        event_id = new_event_id()
        back[event_id] = (line.subject, line.id)
        creator = _creator_of(line.subject)
        by_subject = _is_subject(line.actor, line.subject)
        raw.append(
            {
                "id": str(event_id),
                "type": "message.sent",
                "occurred_at": line.at.isoformat(),
                "subject": f"creator:{creator}",
                "actor": f"eval:{line.actor}"[:120],
                "payload": {
                    "message_id": str(uuid.uuid5(_NAMESPACE, f"{line.subject}\x00{line.id}")),
                    "creator_id": str(creator),
                    "sender_role": "creator" if by_subject else "participant",
                    "sender_name": line.actor,
                    "text": line.text,
                },
            }
        )
    return raw, back


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Formed:
    """A benchmark's events formed into memory in a temporary store, ready for its questions."""

    database: Database
    queries: list[QueryLine]
    # Veri's event id -> the file's (subject, id).
    back: dict[uuid.UUID, tuple[str, str]]
    rejected: list[BenchmarkError]
    events: int
    ingest_seconds: float
    dead_letters: int

    def creator_of(self, subject: str) -> uuid.UUID:
        return _creator_of(subject)

    def line_ids(self, sources: list[uuid.UUID], subject: str) -> list[str]:
        """The file's ids of these sources that belong to `subject`, in order, without repeats."""
        found: list[str] = []
        for source in sources:
            of, line_id = self.back.get(source, ("", ""))
            if of == subject and line_id not in found:
                found.append(line_id)
        return found


@contextmanager
def formed_benchmark(
    path: Path, *, embedder: Embedder | None, progress: Callable[[str, int, int], None] | None = None
) -> Iterator[Formed]:
    """Read a benchmark file and form its events' memory through the real pipeline, in a
    temporary embedded PostgreSQL that lives as long as the context."""
    events, queries, rejected = read_benchmark(path)
    if not events or not queries:
        why = f" (first bad line: {rejected[0]})" if rejected else ""
        missing = "events" if not events else "queries"
        raise BenchmarkError(rejected[0].line if rejected else 0, f"no usable {missing}{why}")
    note = progress or (lambda stage, done, total: None)
    raw, back = envelopes(events)
    with temporary_store() as database:
        started = time.perf_counter()
        refused_events: set[tuple[str, str]] = set()
        for start in range(0, len(raw), 1000):
            with database.transaction() as db:
                result = ingest(db, raw[start : start + 1000], partial=True, partitions=PARTITIONS)
            # An event the pipeline refuses (a NUL in its text, say) costs its line, not the run;
            # one line is reported once, however many of its fields were wrong.
            for refused in result.rejected:
                line = events[start + refused.index]
                if (line.subject, line.id) not in refused_events:
                    refused_events.add((line.subject, line.id))
                    rejected.append(
                        BenchmarkError(line.line, f"refused at ingestion: {refused.field}: {refused.reason}")
                    )
        # A question whose answer was refused cannot be answered: it is left out like the line.
        for query in [q for q in queries if any((q.subject, i) in refused_events for i in q.expected)]:
            queries.remove(query)
            rejected.append(BenchmarkError(query.line, "expected: an event of it was refused at ingestion"))
        rejected.sort(key=lambda error: error.line)
        handler = MemoryHandler(embedder)
        consumer = EmbeddedLog(database, partitions=PARTITIONS, lease_seconds=600).consumer("memory", "eval")
        loop = ConsumerLoop(database, consumer, handler, batch_size=handler.batch_size, retry=RetryPolicy(1, 0.0))
        loop.drain(lambda done: note("ingest", done, len(raw)))
        consumer.close()
        ingest_seconds = time.perf_counter() - started
        with database.sessions() as db:
            # An event formation could not handle is parked, not lost: the report says so.
            dead_letters = pipeline_status(db).dead_letters_open

        yield Formed(database, queries, back, rejected, len(events), ingest_seconds, dead_letters)


def run_recall(
    path: Path,
    *,
    k: int,
    embedder: Embedder | None,
    hybrid: bool,
    progress: Callable[[str, int, int], None] | None = None,
) -> RecallReport:
    note = progress or (lambda stage, done, total: None)
    with formed_benchmark(path, embedder=embedder, progress=progress) as formed:
        database, queries, rejected = formed.database, formed.queries, formed.rejected
        overall, by_category = _Scores(), defaultdict[str, _Scores](_Scores)
        latencies: list[float] = []
        misses: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for number, query in enumerate(queries, start=1):
            began = time.perf_counter()
            try:
                with database.transaction() as db:
                    hits = search_memories(
                        db,
                        SearchQuery(query.text, creator_id=_creator_of(query.subject), limit=2 * k),
                        principal=None,
                        embedder=embedder,
                        hybrid=hybrid,
                        record_access=False,
                    )
            except Exception as exc:  # one bad question must not lose the run: it is a reported miss
                log.warning("eval_query_failed", id=query.id, error=repr(exc))
                errors.append({"subject": query.subject, "id": query.id, "error": f"{type(exc).__name__}: {exc}"})
                hits = []
            latencies.append((time.perf_counter() - began) * 1000)
            ranked = formed.line_ids([s for h in hits for s in h.memory.source_event_ids], query.subject)[:k]
            overall.add(ranked, query.expected)
            by_category[str(query.category) if query.category is not None else "none"].add(ranked, query.expected)
            if not set(query.expected) <= set(ranked):
                misses.append({"subject": query.subject, "id": query.id, "expected": query.expected, "got": ranked})
            note("query", number, len(queries))
    return RecallReport(
        k=k,
        overall=overall.as_dict(k),
        categories={name: scores.as_dict(k) for name, scores in sorted(by_category.items())},
        events=formed.events,
        ingest_seconds=formed.ingest_seconds,
        query_p50_ms=percentile(latencies, 0.5),
        query_p95_ms=percentile(latencies, 0.95),
        mode="hybrid" if hybrid else "fulltext",
        misses=misses,
        dead_letters=formed.dead_letters,
        errors=errors,
        rejected=rejected,
    )
