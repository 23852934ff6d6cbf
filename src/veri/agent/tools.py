"""What the agent may call: thin wrappers over the services, each run with the asking person's
visibility and never more. A tool's arguments come from a model (or a planner) and are data:
they are validated like any request, and no argument widens what the person may see.

A tool that would change something (`propose_reply`) writes nothing: it returns a proposal the
person confirms in the page, where the deal's own form and checks do the writing.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from veri.campaigns import service as campaign_service
from veri.deals import service as deal_service
from veri.errors import NotFound, VeriError
from veri.fields import Moment
from veri.identity.principal import Principal
from veri.memory import service as memory_service
from veri.memory.embeddings import Embedder
from veri.memory.retrieval import SearchQuery
from veri.models.campaigns import CampaignStatus
from veri.models.deals import DealStatus
from veri.models.memory import Memory, MemoryType

__all__ = ["TOOLS", "Cited", "ToolResult", "Toolbox", "tool_definitions"]


@dataclass(frozen=True)
class Cited:
    """A memory an answer may cite, as the agent shows it to a model and to the person."""

    id: uuid.UUID
    text: str
    type: str
    when: datetime
    sources: list[str]
    # Days the memory's text names ("we go the 28th of July"), ISO, as formation read them.
    mentions: tuple[str, ...] = ()

    @classmethod
    def of(cls, memory: Memory) -> Cited:
        mentions = memory.attributes.get("mentions") or []
        return cls(
            memory.id,
            memory.text,
            memory.type.value,
            memory.valid_from,
            [str(s) for s in memory.source_event_ids],
            tuple(m for m in mentions if isinstance(m, str)),
        )


@dataclass
class ToolResult:
    name: str
    arguments: dict[str, Any]
    # What the model reads (JSON-able); memories found are also listed in `memories` for citing.
    content: Any
    memories: list[Cited] = field(default_factory=list)
    ms: float = 0.0
    error: str = ""

    @property
    def found(self) -> int:
        return len(self.memories) if self.memories else (len(self.content) if isinstance(self.content, list) else 1)

    def step(self) -> dict[str, Any]:
        """How the run records this call."""
        return {
            "name": self.name,
            "arguments": self.arguments,
            "ms": round(self.ms, 1),
            "found": 0 if self.error else self.found,
            "error": self.error,
        }


# -- arguments, validated like any request -------------------------------------------------------


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="What to look for, in plain words.")
    types: list[MemoryType] | None = Field(None, description="Only these memory types.")
    since: Moment | None = Field(None, description="Only memories of this time or later (ISO 8601).")
    until: Moment | None = Field(None, description="Only memories before this time (ISO 8601).")
    as_of: Moment | None = Field(None, description="What was known and held true at this time.")
    limit: int = Field(8, ge=1, le=20)


class FactsArgs(BaseModel):
    as_of: Moment | None = Field(None, description="The facts as they stood at this time (ISO 8601).")
    limit: int = Field(30, ge=1, le=100)


class DealsArgs(BaseModel):
    status: DealStatus | None = None
    limit: int = Field(20, ge=1, le=50)


class CampaignsArgs(BaseModel):
    status: CampaignStatus | None = None
    query: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=50)


class ProposeReplyArgs(BaseModel):
    deal_id: uuid.UUID
    body: str = Field(min_length=1, max_length=5000, description="The reply to propose, for the person to confirm.")


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    arguments: type[BaseModel]
    run: Callable[[Toolbox, Any], ToolResult]


# -- the toolbox: one person's visibility, one database session ------------------------------------


@dataclass
class Toolbox:
    db: Session
    principal: Principal
    embedder: Embedder | None

    def call(self, name: str, arguments: Any) -> ToolResult:
        """Run a tool by name; an unknown tool or invalid arguments is a result the model reads
        (and may correct), not an exception; nothing outside the person's visibility is found."""
        started = time.perf_counter()
        raw = arguments if isinstance(arguments, dict) else {}
        tool = TOOLS.get(name)
        if tool is None:
            result = ToolResult(name, raw, {"error": f"no tool named {name!r}"}, error="unknown tool")
        else:
            try:
                result = tool.run(self, tool.arguments.model_validate(raw))
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
                result = ToolResult(name, raw, {"error": problems}, error="invalid arguments")
            except VeriError as exc:  # not found, forbidden: said as "not found", never a hint
                result = ToolResult(name, raw, {"error": "not found"}, error=type(exc).__name__)
        result.ms = (time.perf_counter() - started) * 1000
        return result


def _search(box: Toolbox, args: SearchArgs) -> ToolResult:
    hits = memory_service.search_memories(
        box.db,
        SearchQuery(
            args.query,
            # The agent's own past runs (workflow memory) are for planning, not for answering:
            # otherwise a repeated question finds itself.
            types=args.types or [t for t in MemoryType if t is not MemoryType.WORKFLOW],
            since=args.since,
            until=args.until,
            as_of=args.as_of,
            limit=args.limit,
        ),
        principal=box.principal,
        embedder=box.embedder,
    )
    cited = [Cited.of(h.memory) for h in hits]
    return ToolResult("search_memories", args.model_dump(mode="json", exclude_none=True), _memories(cited), cited)


def _facts(box: Toolbox, args: FactsArgs) -> ToolResult:
    facts, _ = memory_service.timeline(
        box.db, principal=box.principal, types=[MemoryType.CREATOR_ENTITY], as_of=args.as_of, limit=args.limit
    )
    cited = [Cited.of(m) for m in facts]
    return ToolResult("creator_facts", args.model_dump(mode="json", exclude_none=True), _memories(cited), cited)


def _deals(box: Toolbox, args: DealsArgs) -> ToolResult:
    deals, _ = deal_service.list_deals(box.db, principal=box.principal, status=args.status, limit=args.limit)
    rows = [
        {
            "deal_id": str(d.id),
            "campaign": d.campaign.title,
            "brand": d.campaign.brand.name,
            "creator": d.creator.handle,
            "status": d.status.value,
            "fee": f"${d.fee_cents / 100:,.2f}",
            "accepted_fee": f"${d.accepted_fee_cents / 100:,.2f}" if d.accepted_fee_cents is not None else None,
            "updated": d.updated_at.date().isoformat(),
        }
        for d in deals
    ]
    return ToolResult("list_deals", args.model_dump(mode="json", exclude_none=True), rows)


def _campaigns(box: Toolbox, args: CampaignsArgs) -> ToolResult:
    campaigns, _ = campaign_service.list_campaigns(
        box.db, principal=box.principal, status=args.status, query=args.query, limit=args.limit
    )
    rows = [
        {
            "campaign_id": str(c.id),
            "title": c.title,
            "status": c.status.value,
            "budget": f"${c.budget_cents / 100:,.2f}",
            "niches": list(c.niches or []),
        }
        for c in campaigns
    ]
    return ToolResult("list_campaigns", args.model_dump(mode="json", exclude_none=True), rows)


def _propose_reply(box: Toolbox, args: ProposeReplyArgs) -> ToolResult:
    deal = deal_service.get_deal(box.db, principal=box.principal, deal_id=args.deal_id)  # NotFound if not theirs
    if deal_service.party_of(box.principal, deal) is None:
        raise NotFound("deal")
    proposal = {"proposal": "reply", "deal_id": str(deal.id), "body": args.body, "confirm_at": f"/deals/{deal.id}"}
    return ToolResult("propose_reply", args.model_dump(mode="json"), proposal)


def _memories(cited: list[Cited]) -> list[dict[str, Any]]:
    return [{"ref": c.id.hex[:8], "type": c.type, "when": c.when.date().isoformat(), "text": c.text} for c in cited]


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool(
            "search_memories",
            "Search what Veri remembers (messages, deals, campaigns, content, facts) for the asking person.",
            SearchArgs,
            _search,
        ),
        Tool("creator_facts", "The creator's current facts (rate, location, preferences...).", FactsArgs, _facts),
        Tool("list_deals", "The person's deals with their status and fees.", DealsArgs, _deals),
        Tool("list_campaigns", "Campaigns the person may see.", CampaignsArgs, _campaigns),
        Tool(
            "propose_reply",
            "Propose a reply in a deal's thread. Writes nothing: the person confirms it in the page.",
            ProposeReplyArgs,
            _propose_reply,
        ),
    )
}


def tool_definitions() -> list[dict[str, Any]]:
    """The tools as the Messages API declares them (JSON Schema from the argument models)."""
    return [
        {"name": t.name, "description": t.description, "input_schema": t.arguments.model_json_schema()}
        for t in TOOLS.values()
    ]
