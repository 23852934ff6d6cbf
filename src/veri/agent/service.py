"""The agent as the rest of Veri uses it: conversations, asking (streamed), feedback.

A run, in order: the question is checked and its turn stored (in the request, so a refusal is
a plain 4xx); then, streaming, the plan's tools run with the person's visibility (memory search
always; more by the kind of question, or the tools of this person's last successful run of the
same kind, remembered as workflow memory); the provider answers from them, calling more tools if
it needs; the answer's citations are resolved; the turn is completed and `agent.run_completed`
goes through the outbox, from which the memory group forms the run's workflow memory.

Who sees what: a person their own conversations; an admin all.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.orm import Session

from veri.agent.offline import question_kind
from veri.agent.providers import AgentRequest, Fallback, Provider, Step, Text, Usage
from veri.agent.repository import AgentRepository
from veri.agent.sources import Sources
from veri.agent.tools import TOOLS, Cited, Toolbox, ToolResult
from veri.agent.when import window
from veri.config import AgentSettings
from veri.db.engine import Database
from veri.deals import service as deal_service
from veri.deals.schemas import DealCreate
from veri.errors import Conflict, NotFound, RateLimited
from veri.events.service import emit
from veri.events.types import AgentRunCompleted
from veri.identity.principal import Principal
from veri.identity.ratelimit import RateLimiter
from veri.memory import service as memory_service
from veri.memory.embeddings import Embedder
from veri.models.agent import AgentConversation, AgentTurn, TurnStatus
from veri.models.base import utcnow
from veri.recommend.registry import ServingModel

__all__ = [
    "Agent",
    "Collected",
    "Prepared",
    "RunEvent",
    "begin_turn",
    "collect",
    "confirm_proposal",
    "create_conversation",
    "get_conversation",
    "list_conversations",
    "run_turn",
    "set_feedback",
]

log = structlog.get_logger(__name__)

# What runs before the model is asked, by kind of question (memory search always comes first).
DEFAULT_PLANS: dict[str, list[str]] = {
    "deals": ["search_memories", "list_deals"],
    "campaigns": ["search_memories", "list_campaigns"],
    "performance": ["search_memories", "analytics_series"],
}
# Earlier turns a model reads with a new question.
HISTORY_TURNS = 6
PLANNABLE = frozenset({"search_memories", "creator_facts", "list_deals", "list_campaigns", "analytics_series"})


@dataclass
class Agent:
    """One per process: the database, the embedder, the provider (guarded) and its settings,
    and the serving ROI model its recommendation tools read."""

    database: Database
    embedder: Embedder | None
    provider: Provider
    settings: AgentSettings
    serving_model: ServingModel = field(default_factory=ServingModel)


# -- conversations --------------------------------------------------------------------------------


def create_conversation(db: Session, *, principal: Principal, title: str = "") -> AgentConversation:
    conversation = AgentConversation(user_id=principal.user.id, title=title.strip()[:200])
    db.add(conversation)
    db.flush()
    return conversation


def get_conversation(
    db: Session, *, principal: Principal, conversation_id: uuid.UUID, to_write: bool = False
) -> tuple[AgentConversation, list[AgentTurn]]:
    """A conversation and its turns, oldest first; "not found" for anyone but its owner (and
    admins, who may read but not write in it), so its existence is no hint."""
    conversation = _conversation(db, principal, conversation_id, to_write=to_write)
    return conversation, AgentRepository(db).turns(conversation.id)


def _conversation(
    db: Session, principal: Principal, conversation_id: uuid.UUID, *, to_write: bool
) -> AgentConversation:
    conversation = AgentRepository(db).conversation(conversation_id)
    mine = conversation is not None and conversation.user_id == principal.user.id
    if conversation is None or not (mine or (principal.is_admin and not to_write)):
        raise NotFound("conversation")
    return conversation


def list_conversations(
    db: Session, *, principal: Principal, limit: int = 50, offset: int = 0
) -> tuple[list[AgentConversation], int]:
    owner = None if principal.is_admin else principal.user.id
    return AgentRepository(db).conversations(owner, limit=limit, offset=offset)


# -- asking -----------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A stored, running turn: what `run_turn` needs besides the agent."""

    turn_id: uuid.UUID
    conversation_id: uuid.UUID
    question: str
    history: list[tuple[str, str]]
    started: float = field(default_factory=time.perf_counter)


def begin_turn(
    db: Session,
    *,
    principal: Principal,
    conversation_id: uuid.UUID,
    question: str,
    limiter: RateLimiter | None,
    settings: AgentSettings,
) -> Prepared:
    """Check the question may be asked and store its turn as running."""
    started = time.perf_counter()
    conversation = _conversation(db, principal, conversation_id, to_write=True)
    if limiter is not None:
        asked = limiter.hit(f"agent:{principal.user.id}", 60)
        if asked > settings.agent_questions_per_minute:
            raise RateLimited("too many questions; wait a minute", headers={"Retry-After": "60"})
    turn = AgentTurn(conversation_id=conversation.id, question=question, kind=question_kind(question))
    db.add(turn)
    if not conversation.title:
        conversation.title = question[:80]
    conversation.updated_at = utcnow()
    db.flush()
    history = [(t.question, t.answer) for t in AgentRepository(db).recent_answers(conversation.id, HISTORY_TURNS)]
    return Prepared(turn.id, conversation.id, question, history, started)


RunEvent = dict[str, Any]


def run_turn(agent: Agent, principal: Principal, prepared: Prepared) -> Iterator[RunEvent]:
    """Answer a begun turn, as a stream of events: `step` (a tool ran), `token` (text),
    `fallback` (the offline answer stands in, and why), then `done` with the citations. A stream
    closed early records the turn as cancelled; the run is recorded whatever happens."""
    sources = Sources()
    kind = question_kind(prepared.question)
    run = _Run(prepared, kind)

    def call_tool(name: str, arguments: object) -> ToolResult:
        with agent.database.transaction() as db:
            return Toolbox(db, principal, agent.embedder, agent.serving_model).call(name, arguments)

    try:
        plan = _plan(agent, principal, kind)
        results = []
        for name in plan:
            arguments = _planned_arguments(name, prepared.question)
            result = call_tool(name, arguments)
            if name == "search_memories" and not result.memories and "since" in arguments:
                # Nothing in the window the question named (or misread): search all of time.
                run.steps.append(result)
                yield _step_event(result)
                result = call_tool(name, {"query": arguments["query"]})
            results.append(result)
            run.steps.append(result)
            yield _step_event(result)
        run.server_ms = (time.perf_counter() - prepared.started) * 1000
        request = AgentRequest(prepared.question, prepared.history, results, sources, call_tool, kind)
        for piece in agent.provider.respond(request):
            if isinstance(piece, Text):
                if run.first_token_ms is None:
                    run.first_token_ms = (time.perf_counter() - prepared.started) * 1000
                run.answer.append(piece.text)
                yield {"event": "token", "text": piece.text}
            elif isinstance(piece, Step):
                run.steps.append(piece.result)
                yield _step_event(piece.result)
            elif isinstance(piece, Usage):
                run.add(piece)
            elif isinstance(piece, Fallback):
                run.fallback = piece.reason
                yield {"event": "fallback", "reason": piece.reason}
        run.provider = "offline" if run.fallback or agent.provider.name == "offline" else agent.provider.name
        run.status = TurnStatus.COMPLETED
        cited = sources.cited_in("".join(run.answer))
        run.cited = cited
        yield {
            "event": "done",
            "turn_id": str(prepared.turn_id),
            "provider": run.provider,
            "fallback": run.fallback,
            "citations": [_citation(c) for c in cited],
            "proposals": [{"step": i, **s.proposal} for i, s in enumerate(run.steps) if s.proposal and not s.error],
            "timings": run.timings(),
        }
    except GeneratorExit:
        run.status = TurnStatus.CANCELLED
        raise
    except Exception:
        run.status = TurnStatus.FAILED
        log.exception("agent_run_failed", turn_id=str(prepared.turn_id))
        yield {"event": "error", "message": "the answer failed; it was recorded and can be asked again"}
    finally:
        _record(agent, principal, run)


@dataclass
class Collected:
    """A run's events gathered into one answer (the whole-JSON API, the CLI, the evaluation)."""

    text: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    fallback: str = ""
    # The `done` event (or the `error` one): turn id, provider, citations, proposals, timings.
    done: dict[str, Any] = field(default_factory=dict)
    first_token_at: float | None = None  # perf_counter() when the first text arrived

    @property
    def failed(self) -> bool:
        return self.done.get("event") != "done"


def collect(events: Iterator[RunEvent], on_event: Callable[[RunEvent], None] | None = None) -> Collected:
    """Read a run to its end; `on_event` sees each event as it comes (to print it, say)."""
    collected = Collected()
    text: list[str] = []
    for event in events:
        if on_event is not None:
            on_event(event)
        kind = event["event"]
        if kind == "token":
            if collected.first_token_at is None:
                collected.first_token_at = time.perf_counter()
            text.append(event["text"])
        elif kind == "step":
            collected.steps.append({k: v for k, v in event.items() if k != "event"})
        elif kind == "fallback":
            collected.fallback = event["reason"]
        elif kind in ("done", "error"):
            collected.done = event
    collected.text = "".join(text)
    return collected


def set_feedback(db: Session, *, principal: Principal, turn_id: uuid.UUID, value: int) -> AgentTurn:
    """Thumbs up (1) or down (-1) on a turn: stored, and told to memory (the run's workflow
    memory is formed again with it, so a disliked plan is not reused)."""
    turn = _own_turn(db, principal, turn_id)
    if turn.status is not TurnStatus.COMPLETED:
        raise Conflict(f"only an answered turn takes feedback; this one is {turn.status.value}")
    turn.feedback = value
    db.flush()
    _emit_run(db, principal, turn)
    return turn


def confirm_proposal(db: Session, *, principal: Principal, turn_id: uuid.UUID, step: int) -> dict[str, str]:
    """Do what a tool proposed in a turn, now that its person confirms it: the stored proposal
    (not anything the page sends) goes through the deals service as that person, with its checks.
    Confirming twice does it once (the turn is locked: two clicks at once wait for each other)."""
    turn = _own_turn(db, principal, turn_id, for_update=True)
    tools = list(turn.tools or [])
    if not 0 <= step < len(tools) or not tools[step].get("proposal"):
        raise NotFound("proposal")
    done = tools[step].get("confirmed")
    if done:
        return dict(done)
    payload = tools[step]["proposal"]["payload"]
    if tools[step]["name"] == "propose_reply":
        deal_id = uuid.UUID(tools[step]["arguments"]["deal_id"])
        deal_service.post_message(db, principal=principal, deal_id=deal_id, body=payload["body"])
    elif tools[step]["name"] == "propose_offer":
        deal_id = deal_service.create_deal(db, principal=principal, data=DealCreate.model_validate(payload)).id
    else:
        raise NotFound("proposal")
    done = {"at": utcnow().isoformat(), "deal_id": str(deal_id), "href": f"/deals/{deal_id}"}
    tools[step] = {**tools[step], "confirmed": done}
    turn.tools = tools  # a new list: the JSON column sees the change
    db.flush()
    return done


def _own_turn(db: Session, principal: Principal, turn_id: uuid.UUID, *, for_update: bool = False) -> AgentTurn:
    turn = AgentRepository(db).turn(turn_id, for_update=for_update)
    if turn is None:
        raise NotFound("turn")
    _conversation(db, principal, turn.conversation_id, to_write=True)
    return turn


# -- the run's bookkeeping ------------------------------------------------------------------------------


@dataclass
class _Run:
    prepared: Prepared
    kind: str
    steps: list[ToolResult] = field(default_factory=list)
    answer: list[str] = field(default_factory=list)
    cited: list[Cited] = field(default_factory=list)
    status: TurnStatus = TurnStatus.CANCELLED
    provider: str = ""
    fallback: str = ""
    server_ms: float | None = None
    first_token_ms: float | None = None
    usage: Usage = field(default_factory=Usage)

    def add(self, usage: Usage) -> None:
        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "calls"):
            setattr(self.usage, name, getattr(self.usage, name) + getattr(usage, name))

    def timings(self) -> dict[str, float | None]:
        total = (time.perf_counter() - self.prepared.started) * 1000
        return {
            "server_ms": _ms(self.server_ms),
            "first_token_ms": _ms(self.first_token_ms),
            "total_ms": _ms(total),
        }


def _ms(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _cost(settings: AgentSettings, usage: Usage) -> Decimal:
    per_token_in = settings.agent_input_usd_per_mtok / 1e6
    dollars = (
        usage.input_tokens * per_token_in
        + usage.cache_read_tokens * per_token_in * 0.1
        + usage.cache_write_tokens * per_token_in * 1.25
        + usage.output_tokens * settings.agent_output_usd_per_mtok / 1e6
    )
    return Decimal(str(round(dollars, 6)))


def _record(agent: Agent, principal: Principal, run: _Run) -> None:
    try:
        with agent.database.transaction() as db:
            turn = AgentRepository(db).turn(run.prepared.turn_id)
            if turn is None:
                return
            turn.answer = "".join(run.answer)
            turn.status = run.status
            turn.provider = run.provider
            turn.fallback = run.fallback[:200]
            turn.tools = [s.step() for s in run.steps]
            turn.citations = [str(c.id) for c in run.cited]
            turn.timings = run.timings()
            turn.llm_calls = run.usage.calls
            turn.input_tokens = run.usage.input_tokens + run.usage.cache_read_tokens + run.usage.cache_write_tokens
            turn.output_tokens = run.usage.output_tokens
            turn.cost_usd = _cost(agent.settings, run.usage)
            turn.completed_at = utcnow()
            db.flush()
            _emit_run(db, principal, turn)
    except Exception:  # the answer was given; losing its record must not take the stream down
        log.exception("agent_run_not_recorded", turn_id=str(run.prepared.turn_id))


def _emit_run(db: Session, principal: Principal, turn: AgentTurn) -> None:
    tools = turn.tools or []
    succeeded = turn.status is TurnStatus.COMPLETED and bool(turn.citations) and turn.feedback != -1
    outcome = (
        f"answered citing {len(turn.citations)} memories ({turn.provider or 'no provider'})"
        if turn.status is TurnStatus.COMPLETED
        else f"the run was {turn.status.value}"
    )
    subject = (
        f"creator:{principal.creator_id}"
        if principal.creator_id
        else f"brand:{principal.brand_id}"
        if principal.brand_id
        else f"user:{principal.user.id}"
    )
    emit(
        db,
        AgentRunCompleted(
            run_id=turn.id,
            creator_id=principal.creator_id,
            brand_id=principal.brand_id,
            goal=turn.question[:2000],
            steps=[str(t.get("name", ""))[:200] for t in tools][:100],
            step_ms=[int(t.get("ms") or 0) for t in tools][:100],
            outcome=outcome,
            succeeded=succeeded,
            duration_ms=int((turn.timings or {}).get("total_ms") or 0),
            kind=turn.kind,
            cited=[uuid.UUID(c) for c in turn.citations][:100],
            provider=turn.provider,
            feedback=turn.feedback if turn.feedback in (-1, 1) else None,
        ),
        subject=subject,
        actor=principal.actor,
    )


def _plan(agent: Agent, principal: Principal, kind: str) -> list[str]:
    """The tools to run before the model is asked: this person's last successful run of the
    same kind, remembered as workflow memory, else the default for the kind."""
    plan = list(DEFAULT_PLANS.get(kind, ["search_memories"]))
    if principal.owned_scope() is None:
        return plan
    with agent.database.sessions() as db:
        runs = memory_service.remembered_runs(db, principal=principal, kind=kind)
    for memory in runs:
        attributes = memory.attributes
        if attributes.get("succeeded") and attributes.get("feedback") != -1:
            remembered = [s for s in attributes.get("steps") or [] if s in PLANNABLE]
            return list(dict.fromkeys(["search_memories", *remembered]))
    return plan


def _planned_arguments(tool: str, question: str) -> dict[str, Any]:
    if tool == "search_memories":
        # A question may be longer than a search (4,000 against 2,000 characters): its start is searched.
        arguments: dict[str, Any] = {"query": question[:2000]}
        named = window(question, utcnow().date())
        if named is not None:
            arguments |= {"since": named[0].isoformat(), "until": named[1].isoformat()}
        return arguments
    if tool == "analytics_series":
        named = window(question, utcnow().date())
        if named is None:
            return {"days": 30}
        last = (named[1] - timedelta(days=1)).date()
        return {"days": min(366, max(1, (named[1] - named[0]).days)), "end": last.isoformat()}
    return {}


def _step_event(result: ToolResult) -> RunEvent:
    return {"event": "step", **result.step()}


def _citation(cited: Cited) -> dict[str, Any]:
    return {
        "memory_id": str(cited.id),
        "text": cited.text,
        "type": cited.type,
        "when": cited.when.isoformat(),
        "sources": cited.sources,
    }


assert TOOLS.keys() >= PLANNABLE
