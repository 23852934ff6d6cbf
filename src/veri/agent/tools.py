"""What the agent may call: thin wrappers over the services, each run with the asking person's
visibility and never more. A tool's arguments come from a model (or a planner) and are data:
they are validated like any request, and no argument widens what the person may see.

A tool that would change something (`propose_reply`, `propose_offer`) writes nothing: it returns
a proposal (the request the person's page would send) that the person confirms in the page; the
API's own checks then do the writing, as for any request of theirs.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from veri.analytics import service as analytics_service
from veri.analytics.schemas import Scope
from veri.campaigns import service as campaign_service
from veri.creators import service as creator_service
from veri.deals import service as deal_service
from veri.deals.schemas import DealCreate, MessageIn
from veri.errors import Invalid, NotFound, VeriError
from veri.fields import Moment
from veri.identity.principal import Principal
from veri.memory import service as memory_service
from veri.memory.embeddings import Embedder
from veri.memory.retrieval import SearchQuery
from veri.models.accounts import Role
from veri.models.campaigns import CampaignStatus
from veri.models.deals import DealStatus
from veri.models.memory import Memory, MemoryType
from veri.recommend import service as recommend_service
from veri.recommend.registry import ServingModel

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
    # A change the person may confirm: {"summary", "method", "endpoint", "payload"}.
    proposal: dict[str, Any] | None = None

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
            **({"proposal": self.proposal} if self.proposal else {}),
        }


# -- arguments, validated like any request -------------------------------------------------------


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="What to look for, in plain words.")
    types: list[MemoryType] | None = Field(None, description="Only these memory types.")
    since: Moment | None = Field(None, description="Only memories of this time or later (ISO 8601).")
    until: Moment | None = Field(None, description="Only memories before this time (ISO 8601).")
    as_of: Moment | None = Field(None, description="What was known and held true at this time.")
    limit: int = Field(8, ge=1, le=20)


# The creator facts memory keeps as the creator's own (formation's creator-entity facts).
CreatorFact = Literal["rate", "location", "preference", "posting_rhythm", "audience"]


class FactHistoryArgs(BaseModel):
    fact: CreatorFact = Field(description="Which fact: its every version, oldest first, with when each held.")
    limit: int = Field(20, ge=1, le=50)


class AnalyticsArgs(BaseModel):
    campaign_id: uuid.UUID | None = Field(None, description="A campaign's series; else the person's own.")
    creator_id: uuid.UUID | None = Field(None, description="A creator's series (admins).")
    days: int = Field(30, ge=1, le=analytics_service.MAX_DAYS, description="How many days up to `end`.")
    end: date | None = Field(None, description="The last day (ISO 8601); today when left out.")


class DealMessagesArgs(BaseModel):
    deal_id: uuid.UUID
    limit: int = Field(20, ge=1, le=100, description="The latest messages, oldest first.")


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


class RecommendCreatorsArgs(BaseModel):
    campaign_id: uuid.UUID
    fee_dollars: float | None = Field(None, gt=0, le=10_000_000, description="Default: a quarter of the budget.")
    limit: int = Field(5, ge=1, le=20)


class CampaignsForMeArgs(BaseModel):
    limit: int = Field(5, ge=1, le=20)


class PredictRoiArgs(BaseModel):
    creator_id: uuid.UUID
    campaign_id: uuid.UUID
    fee_dollars: float = Field(gt=0, le=10_000_000)


class ProposeReplyArgs(BaseModel):
    deal_id: uuid.UUID
    body: str = Field(min_length=1, max_length=2000, description="The reply to propose, for the person to confirm.")


class ProposeOfferArgs(BaseModel):
    campaign_id: uuid.UUID
    creator_id: uuid.UUID | None = Field(None, description="Whom a brand invites; left out when a creator applies.")
    fee_dollars: float = Field(gt=0, le=10_000_000, description="The fee offered, in dollars.")
    message: str = Field("", max_length=2000)


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
    serving: ServingModel = field(default_factory=ServingModel)

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


def _fact_history(box: Toolbox, args: FactHistoryArgs) -> ToolResult:
    versions = memory_service.fact_history(box.db, principal=box.principal, name=args.fact, limit=args.limit)
    cited = [Cited.of(m) for m in versions]
    rows = [
        {**row, "until": m.valid_to.date().isoformat() if m.valid_to else "still holds"}
        for row, m in zip(_memories(cited), versions, strict=True)
    ]
    return ToolResult("fact_history", args.model_dump(mode="json"), rows, cited)


def _analytics(box: Toolbox, args: AnalyticsArgs) -> ToolResult:
    principal = box.principal
    if args.campaign_id is not None:
        scope, scope_id = Scope.CAMPAIGN, args.campaign_id
    elif args.creator_id is not None:
        scope, scope_id = Scope.CREATOR, args.creator_id
    elif principal.creator_id is not None:
        scope, scope_id = Scope.CREATOR, principal.creator_id
    elif principal.brand_id is not None:
        scope, scope_id = Scope.BRAND, principal.brand_id
    else:
        raise Invalid("campaign_id", "name a campaign or a creator")
    start, end = analytics_service.resolve_range(None, args.end, days=args.days)
    series = analytics_service.series(box.db, principal=principal, scope=scope, scope_id=scope_id, start=start, end=end)
    active = [d for d in series.days if d.views or d.posts or d.deals_accepted or d.deals_completed or d.earnings_cents]
    content = {
        "scope": scope.value,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "totals": _day_row(series.totals, with_day=False),
        # Only days with something in them (a model reads the whole of it).
        "active_days": [_day_row(d) for d in active[-60:]],
    }
    return ToolResult("analytics_series", args.model_dump(mode="json", exclude_none=True), content)


def _day_row(day: Any, *, with_day: bool = True) -> dict[str, Any]:
    row = {
        "views": day.views,
        "engagements": day.engagements,
        "engagement_rate": round(day.engagement_rate, 4),
        "posts": day.posts,
        "deals_accepted": day.deals_accepted,
        "deals_completed": day.deals_completed,
        "earnings": f"${day.earnings_cents / 100:,.2f}",
    }
    return {"day": day.day.isoformat(), **row} if with_day else row


def _deal_messages(box: Toolbox, args: DealMessagesArgs) -> ToolResult:
    messages = deal_service.list_messages(box.db, principal=box.principal, deal_id=args.deal_id)
    rows = [
        {"from": m.sender.value, "when": m.created_at.isoformat(timespec="minutes"), "text": m.body}
        for m in messages[-args.limit :]
    ]
    return ToolResult("deal_messages", args.model_dump(mode="json"), rows)


def _recommend_creators(box: Toolbox, args: RecommendCreatorsArgs) -> ToolResult:
    fee = round(args.fee_dollars * 100) if args.fee_dollars else None
    ranked = recommend_service.recommend_creators(
        box.db,
        principal=box.principal,
        serving=box.serving,
        campaign_id=args.campaign_id,
        fee_cents=fee,
        limit=args.limit,
    )
    rows = [_ranked_row(r) for r in ranked.items] or [{"none": ranked.reason}]
    return ToolResult("recommend_creators", args.model_dump(mode="json", exclude_none=True), rows)


def _campaigns_for_me(box: Toolbox, args: CampaignsForMeArgs) -> ToolResult:
    ranked = recommend_service.recommend_campaigns(
        box.db, principal=box.principal, serving=box.serving, limit=args.limit
    )
    rows = [_ranked_row(r) for r in ranked.items] or [{"none": ranked.reason}]
    return ToolResult("campaigns_for_me", args.model_dump(mode="json"), rows)


def _predict_roi(box: Toolbox, args: PredictRoiArgs) -> ToolResult:
    found = recommend_service.predict_roi(
        box.db,
        principal=box.principal,
        serving=box.serving,
        creator_id=args.creator_id,
        campaign_id=args.campaign_id,
        fee_cents=round(args.fee_dollars * 100),
    )
    return ToolResult("predict_roi", args.model_dump(mode="json"), [_ranked_row(found)])


def _ranked_row(r: recommend_service.Recommended) -> dict[str, Any]:
    return {
        "creator": r.creator.handle if r.creator else None,
        "campaign": r.campaign.title if r.campaign else None,
        "fee": f"${r.fee_cents / 100:,.2f}",
        "expected_return": f"{r.prediction.roi:.2f}x",
        "range_80_percent": f"{r.prediction.low:.2f}x to {r.prediction.high:.2f}x",
        "why": r.why,
    }


def _propose_reply(box: Toolbox, args: ProposeReplyArgs) -> ToolResult:
    deal = deal_service.get_deal(box.db, principal=box.principal, deal_id=args.deal_id)  # NotFound if not theirs
    if deal_service.party_of(box.principal, deal) is None:
        raise NotFound("deal")
    proposal = _proposal(
        f'Reply in the thread of "{deal.campaign.title}"',
        f"/api/v1/deals/{deal.id}/messages",
        MessageIn(body=args.body),
    )
    return ToolResult("propose_reply", args.model_dump(mode="json"), proposal, proposal=proposal)


def _propose_offer(box: Toolbox, args: ProposeOfferArgs) -> ToolResult:
    """A brand's invitation to a creator, or a creator's application, to confirm; the deals API
    decides on confirming whether it may be made (open campaign, no deal there yet)."""
    principal = box.principal
    campaign = campaign_service.get_campaign(box.db, principal=principal, campaign_id=args.campaign_id)
    if principal.role is Role.BRAND:
        if args.creator_id is None:
            raise Invalid("creator_id", "a brand's offer names the creator it invites")
        who = creator_service.get_creator(box.db, principal=principal, creator_id=args.creator_id).handle
    elif principal.role is Role.CREATOR and principal.creator_id is not None:
        who, args.creator_id = "you", None
    else:
        raise NotFound("campaign")  # admins act as a party in the deal pages, not through the agent
    offer = DealCreate(
        campaign_id=campaign.id,
        creator_id=args.creator_id,
        fee_cents=round(args.fee_dollars * 100),
        message=args.message,
    )
    proposal = _proposal(
        f'Offer on "{campaign.title}" for {who}: ${offer.fee_cents / 100:,.2f}', "/api/v1/deals", offer
    )
    return ToolResult("propose_offer", args.model_dump(mode="json"), proposal, proposal=proposal)


def _proposal(summary: str, endpoint: str, payload: BaseModel) -> dict[str, Any]:
    """The request the person's page sends if they confirm: validated now as the API will."""
    return {"summary": summary, "method": "POST", "endpoint": endpoint, "payload": payload.model_dump(mode="json")}


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
        Tool(
            "fact_history",
            "How one creator fact (a rate, a location...) changed: every version with when it held.",
            FactHistoryArgs,
            _fact_history,
        ),
        Tool(
            "analytics_series",
            "Daily views, engagement, posts, deals and earnings: the person's own, or a campaign's.",
            AnalyticsArgs,
            _analytics,
        ),
        Tool("list_deals", "The person's deals with their status and fees.", DealsArgs, _deals),
        Tool("deal_messages", "The messages in one of the person's deal threads.", DealMessagesArgs, _deal_messages),
        Tool("list_campaigns", "Campaigns the person may see.", CampaignsArgs, _campaigns),
        Tool(
            "recommend_creators",
            "Creators recommended for one of the brand's campaigns, with expected return, range and why.",
            RecommendCreatorsArgs,
            _recommend_creators,
        ),
        Tool(
            "campaigns_for_me",
            "Open campaigns recommended for the asking creator, with expected return and why.",
            CampaignsForMeArgs,
            _campaigns_for_me,
        ),
        Tool(
            "predict_roi",
            "The expected return (revenue / fee) of a creator on a campaign at a fee, with its 80% range.",
            PredictRoiArgs,
            _predict_roi,
        ),
        Tool(
            "propose_reply",
            "Propose a reply in a deal's thread. Writes nothing: the person confirms it in the page.",
            ProposeReplyArgs,
            _propose_reply,
        ),
        Tool(
            "propose_offer",
            "Propose an offer on a campaign (a brand inviting a creator, or a creator applying). "
            "Writes nothing: the person confirms it in the page.",
            ProposeOfferArgs,
            _propose_offer,
        ),
    )
}


def tool_definitions() -> list[dict[str, Any]]:
    """The tools as the Messages API declares them (JSON Schema from the argument models)."""
    return [
        {"name": t.name, "description": t.description, "input_schema": t.arguments.model_json_schema()}
        for t in TOOLS.values()
    ]
