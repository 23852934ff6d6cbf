"""From events to memory drafts: one small function per event type, over the signals that
veri.signals extracts. Pure but for `Surroundings`: who and what an id is (`Names`), and what was
said before a message in its conversation (`Threads`)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from veri.analytics.enrichment import enrich_snapshot
from veri.events.envelope import Event
from veri.events.registry import REGISTRY
from veri.events.types import (
    AgentRunCompleted,
    CampaignCreated,
    CampaignOutcomeReported,
    ContentMetricsSnapshot,
    ContentPublished,
    DealCreated,
    DealOfferMade,
    DealStatusChanged,
    MessageSent,
)
from veri.memory import store
from veri.memory.drafts import Draft
from veri.models.memory import MemoryType
from veri.signals.llm import MessageExtractor
from veri.signals.messages import extract_message, topics_of

__all__ = ["MEMORY_EVENT_TYPES", "Names", "Surroundings", "Threads", "drafts_for"]

# Messages closer than this in one conversation belong to the same session.
SESSION_GAP = timedelta(hours=4)
CONTEXT_CHARS = 300


@dataclass
class Names:
    """Display names of creators, brands and campaigns, read once per id. Ids the store does not
    know (events imported from elsewhere) read as a neutral noun."""

    db: Session
    _known: dict[uuid.UUID, str] = field(default_factory=dict)
    _niches: dict[uuid.UUID, list[str]] = field(default_factory=dict)

    def load(self, ids: Iterable[uuid.UUID | None]) -> None:
        wanted = {i for i in ids if i is not None and i not in self._known}
        if not wanted:
            return
        for some_id, name, niches in store.display_names(self.db, wanted):
            self._known[some_id], self._niches[some_id] = name, niches
        for missing in wanted - self._known.keys():
            self._known[missing] = ""

    def of(self, some_id: uuid.UUID | None, default: str) -> str:
        return (self._known.get(some_id) if some_id else None) or default

    def niches(self, *ids: uuid.UUID | None) -> list[str]:
        for some_id in ids:
            if some_id is not None and self._niches.get(some_id):
                return self._niches[some_id]
        return []


@dataclass
class Turn:
    thread: str
    # The session's first message, and the first message of the session before it with the
    # same partner: what the conversation is about (the brand, the product).
    opener: str
    earlier: str
    partner: str
    speaker: str
    text: str
    at: datetime


@dataclass
class Threads:
    """Which conversation session a message continues, and what surrounds it: a reply ("let's do
    150") is only understood with the message that opened the session and the one it answers,
    and a later session ("the video drove 12 sales") with the session before it."""

    db: Session
    _last: dict[tuple[uuid.UUID, uuid.UUID | None], Turn] = field(default_factory=dict)
    _openers: dict[tuple[uuid.UUID, str], str] = field(default_factory=dict)

    def _latest(self, creator_id: uuid.UUID, **where: str) -> Turn | None:
        latest = store.latest_turn(self.db, creator_id, **where)
        if latest is None:
            return None
        a = latest.attributes
        return Turn(
            a["thread"],
            a.get("opener", ""),
            a.get("earlier", ""),
            a.get("partner", ""),
            a.get("speaker", ""),
            a.get("said", ""),
            latest.valid_from,
        )

    def _earlier_opener(self, creator_id: uuid.UUID, partner: str) -> str:
        key = (creator_id, partner)
        if key not in self._openers:
            stored = self._latest(creator_id, partner=partner)
            self._openers[key] = stored.opener if stored else ""
        return self._openers[key]

    def follow(self, event: Event, p: MessageSent) -> tuple[Turn, Turn | None]:
        """This message as a turn of its session, and the turn before it in the session."""
        key = (p.creator_id, p.deal_id or p.brand_id)
        if key not in self._last:
            where = {"deal_id": str(p.deal_id)} if p.deal_id else {}
            stored = self._latest(p.creator_id, **where)
            if stored is not None:
                self._last[key] = stored
        last = self._last.get(key)
        said = p.text[:CONTEXT_CHARS]
        partner = p.sender_name if p.sender_role != "creator" else ""
        if last is not None and timedelta(0) <= event.occurred_at - last.at <= SESSION_GAP:
            turn = Turn(
                last.thread, last.opener, last.earlier, last.partner or partner, p.sender_name, said, event.occurred_at
            )
            if partner and not last.partner:
                turn.earlier = self._earlier_opener(p.creator_id, partner)
        else:
            opener = f"{p.sender_name}: {said}"
            earlier = self._earlier_opener(p.creator_id, partner) if partner else ""
            turn = Turn(str(event.id), opener, earlier, partner, p.sender_name, said, event.occurred_at)
        if turn.partner:
            self._openers[(p.creator_id, turn.partner)] = turn.opener
        self._last[key] = turn
        return turn, last if last is not None and last.thread == turn.thread else None

    @staticmethod
    def surroundings(turn: Turn, previous: Turn | None) -> str:
        """The words around a turn, for the index and the embedding (without the turn itself)."""
        parts = [turn.earlier] if turn.earlier and turn.earlier != turn.opener else []
        own = f"{turn.speaker}: {turn.text}"
        if turn.opener != own:
            parts.append(turn.opener)
        if previous is not None and f"{previous.speaker}: {previous.text}" not in {turn.opener, own}:
            parts.append(f"{previous.speaker}: {previous.text}")
        return " | ".join(parts)


@dataclass
class Surroundings:
    """What formation may look up besides the event: names, conversation threads, and the
    extractor that reads messages (the rules, or an LLM behind the same signature)."""

    db: Session
    extract: MessageExtractor = extract_message
    names: Names = field(init=False)
    threads: Threads = field(init=False)

    def __post_init__(self) -> None:
        self.names = Names(self.db)
        self.threads = Threads(self.db)


def _money(cents: int) -> str:
    return f"${cents / 100:,.0f}"


def _when(moment: datetime) -> str:
    """Words for the full-text index: the day, the month and the year the memory is about."""
    return f"{moment:%B} {moment.day} {moment.year}"


def _draft(memory_type: MemoryType, event: Event, *, key: str, text: str, **fields: Any) -> Draft:
    """A draft of one event: it happened when the event did (unless `valid_from` says), cites
    the event, and concerns the creator, brand and campaign its payload names."""
    p = event.payload
    valid_from = fields.pop("valid_from", event.occurred_at)
    return Draft(
        memory_type,
        key=key,
        text=text,
        valid_from=valid_from,
        sources=[event.id],
        creator_id=getattr(p, "creator_id", None),
        brand_id=getattr(p, "brand_id", None),
        campaign_id=getattr(p, "campaign_id", None),
        when=fields.pop("when", _when(valid_from)),
        **fields,
    )


def _message(event: Event, p: MessageSent, around: Surroundings) -> list[Draft]:
    names = around.names
    turn, previous = around.threads.follow(event, p)
    surroundings = Threads.surroundings(turn, previous)
    by_creator = p.sender_role == "creator"
    signals = around.extract(p.text, written_on=event.occurred_at.date(), by_creator=by_creator)
    attributes = {
        "speaker": p.sender_name,
        "speaker_role": p.sender_role,
        "sentiment": signals.sentiment,
        "topics": signals.topics,
        "platforms": signals.platforms,
        "amounts_cents": signals.amounts_cents,
        "deliverables": signals.deliverables,
        "mentions": [d.day.isoformat() for d in signals.dates],
        "facts": {f.name: f.value for f in signals.facts},
        "deal_id": str(p.deal_id) if p.deal_id else None,
        "thread": turn.thread,
        "opener": turn.opener,
        "earlier": turn.earlier,
        "partner": turn.partner,
        "said": turn.text,
    }
    text = f"{p.sender_name}: {p.text}" if p.text.strip() else f"{p.sender_name} sent an empty message"
    drafts = [
        _draft(
            MemoryType.BRAND_INTERACTION,
            event,
            key=f"message:{p.message_id}",
            text=text,
            importance=signals.importance,
            attributes=attributes,
            surroundings=surroundings,
        )
    ]
    creator = names.of(p.creator_id, "The creator")
    for fact in signals.facts:
        if fact.name in {"budget", "fee", "deadline", "draft_date", "publish_date"}:
            continue  # about one deal: they stay on the message's memory (attributes.facts)
        valid_from = event.occurred_at
        if fact.valid_from is not None:
            valid_from = max(
                valid_from, datetime(fact.valid_from.year, fact.valid_from.month, fact.valid_from.day, tzinfo=UTC)
            )
        drafts.append(
            _draft(
                MemoryType.CREATOR_ENTITY,
                event,
                key=_fact_key(fact.name, fact.value),
                text=f"{creator} {_FACT_PHRASES.get(fact.name, fact.name + ':')} {fact.value}",
                valid_from=valid_from,
                kind="fact",
                value=fact.value.casefold(),
                importance=min(1.0, signals.importance + 0.2),
                attributes={"fact": fact.name, "value": fact.value, "said_on": event.occurred_at.date().isoformat()},
            )
        )
    return drafts


# Facts a creator has several of at once: each value is its own fact, none supersedes another.
MANY_VALUED = frozenset({"preference"})


def _fact_key(name: str, value: str) -> str:
    if name in MANY_VALUED:
        return f"fact:{name}:{hashlib.sha256(value.casefold().encode()).hexdigest()[:16]}"
    return f"fact:{name}"


_FACT_PHRASES = {
    "rate": "quoted a rate of",
    "location": "lives in",
    "preference": "said:",
    "posting_rhythm": "posts",
    "audience": "described the audience:",
}


def _sentence(text: str) -> str:
    """A text that starts with one of formation's own nouns ("the creator") starts with a capital;
    one that starts with a name keeps it as written ("iPhone Studio", "iris.talks")."""
    for noun in ("the creator", "a brand"):
        if text.startswith(noun):
            return noun.capitalize() + text[len(noun) :]
    return text


def _parties(
    names: Names, creator_id: uuid.UUID, brand_id: uuid.UUID | None, campaign_id: uuid.UUID | None
) -> tuple[str, str, str]:
    """The creator, the brand and "on <campaign>" as a sentence can hold them, named where the
    store knows them and otherwise plain nouns that still read ("on a campaign")."""
    campaign = names.of(campaign_id, "")
    return (
        names.of(creator_id, "the creator"),
        names.of(brand_id, "a brand"),
        f'on "{campaign}"' if campaign else "on a campaign",
    )


def _deal(event: Event, p: DealCreated | DealOfferMade | DealStatusChanged, around: Surroundings) -> list[Draft]:
    creator, brand, on_campaign = _parties(around.names, p.creator_id, p.brand_id, p.campaign_id)
    if isinstance(p, DealCreated):
        who = creator if p.by == "creator" else brand
        text, stage = (
            f"{who} proposed a deal between {creator} and {brand} {on_campaign} at {_money(p.fee_cents)}",
            "proposed",
        )
    elif isinstance(p, DealOfferMade):
        who = creator if p.by == "creator" else brand
        text, stage = (
            f"{who} countered {on_campaign} with {_money(p.fee_cents)}. {p.message}".strip(),
            f"offer:{event.id}",
        )
    else:
        fee = p.accepted_fee_cents if p.accepted_fee_cents is not None else p.fee_cents
        text, stage = (
            f"The deal between {creator} and {brand} {on_campaign} was {p.to_status} at {_money(fee)}",
            p.to_status,
        )
    text = _sentence(text)
    return [
        _draft(
            MemoryType.CAMPAIGN_EPISODIC,
            event,
            key=f"deal:{p.deal_id}:{stage}",
            text=text,
            importance=0.7 if stage in {"accepted", "completed", "declined"} else 0.5,
            attributes={"deal_id": str(p.deal_id), "stage": stage.split(":")[0], "fee_cents": p.fee_cents},
        )
    ]


def _campaign(event: Event, p: CampaignCreated, around: Surroundings) -> list[Draft]:
    """What a campaign is, remembered under its id: later memories of its deals can name it and
    its brand even when the campaign lives only in the event log (an import, the demo world)."""
    brand = p.brand_name or around.names.of(p.brand_id, "a brand")
    niches = f" for {', '.join(p.niches)}" if p.niches else ""
    return [
        _draft(
            MemoryType.CAMPAIGN_EPISODIC,
            event,
            key=f"campaign:{p.campaign_id}",
            text=_sentence(
                f'{brand} opened the campaign "{p.title}"{niches}, with a budget of {_money(p.budget_cents)}'
            ),
            kind="fact",
            value=p.title.casefold(),
            importance=0.4,
            attributes={
                "title": p.title,
                "brand_name": p.brand_name,
                "budget_cents": p.budget_cents,
                "niches": list(p.niches),
            },
        )
    ]


def _outcome(event: Event, p: CampaignOutcomeReported, around: Surroundings) -> list[Draft]:
    names = around.names
    creator, brand, on_campaign = _parties(names, p.creator_id, p.brand_id, p.campaign_id)
    niches = names.niches(p.campaign_id, p.brand_id)
    timing = "on time" if p.delivered_on_time else "late"
    text = _sentence(
        f"{creator}'s work for {brand} {on_campaign} returned {p.roi:.1f}x: {p.sales} sales, "
        f"{_money(p.revenue_cents)} revenue for a {_money(p.fee_cents)} fee, delivered {timing}"
    )
    return [
        _draft(
            MemoryType.CAMPAIGN_EPISODIC,
            event,
            key=f"outcome:{p.campaign_id}:{p.creator_id}",
            text=text,
            importance=min(1.0, 0.6 + 0.05 * p.roi),
            attributes={
                "roi": p.roi,
                "sales": p.sales,
                "revenue_cents": p.revenue_cents,
                "fee_cents": p.fee_cents,
                "on_time": p.delivered_on_time,
                "niche": niches[0] if niches else None,
            },
        )
    ]


def _published(event: Event, p: ContentPublished, around: Surroundings) -> list[Draft]:
    names = around.names
    creator = names.of(p.creator_id, "The creator")
    title = f' "{p.title}"' if p.title else ""
    when = p.published_at
    topics = topics_of(p.title) or names.niches(p.campaign_id, p.brand_id, p.creator_id)[:1]
    return [
        _draft(
            MemoryType.CONTENT_KNOWLEDGE,
            event,
            key=f"content:{p.content_id}",
            text=f"{creator} published a {p.platform} {p.kind}{title} on a {when:%A} at {when:%H}:00",
            valid_from=when,
            kind="state",
            importance=0.3,
            attributes={
                "content_id": str(p.content_id),
                "platform": p.platform.lower(),
                "format": p.kind,
                "weekday": when.strftime("%A"),
                "hour": when.hour,
                "topics": topics,
                "sponsored": p.brand_id is not None,
            },
        )
    ]


def _snapshot(event: Event, p: ContentMetricsSnapshot, around: Surroundings) -> list[Draft]:
    enriched = enrich_snapshot(p)
    # Only the latest metrics matter: the content's memory is updated in place by consolidation.
    return [
        _draft(
            MemoryType.CONTENT_KNOWLEDGE,
            event,
            key=f"content:{p.content_id}",
            text="",
            valid_from=p.captured_at,
            kind="metrics",
            attributes={
                "views": enriched.metrics.views,
                "engagement_rate": round(enriched.engagement_rate, 5),
                "captured_at": p.captured_at.isoformat(),
            },
        )
    ]


def _agent_run(event: Event, p: AgentRunCompleted, around: Surroundings) -> list[Draft]:
    result = "succeeded" if p.succeeded else "failed"
    steps = " -> ".join(p.steps) if p.steps else "no tools"
    return [
        _draft(
            MemoryType.WORKFLOW,
            event,
            key=f"run:{p.run_id}",
            text=f"Agent run {result}: {p.goal}. Steps: {steps}. {p.outcome}".strip(),
            # A fact of the run: the person's thumbs, given later, supersede the first version.
            kind="fact",
            value=f"{p.succeeded}:{p.feedback}",
            importance=0.4 if p.succeeded else 0.6,
            attributes={
                "steps": p.steps,
                "succeeded": p.succeeded,
                "duration_ms": p.duration_ms,
                "kind": p.kind,
                "step_ms": p.step_ms,
                "cited": [str(c) for c in p.cited],
                "provider": p.provider,
                "feedback": p.feedback,
            },
        )
    ]


_BUILDERS: dict[type, Callable[..., list[Draft]]] = {
    MessageSent: _message,
    CampaignCreated: _campaign,
    DealCreated: _deal,
    DealOfferMade: _deal,
    DealStatusChanged: _deal,
    CampaignOutcomeReported: _outcome,
    ContentPublished: _published,
    ContentMetricsSnapshot: _snapshot,
    AgentRunCompleted: _agent_run,
}

# What the memory group consumes is what it has a builder for.
MEMORY_EVENT_TYPES = REGISTRY.names_of(*_BUILDERS)


def drafts_for(event: Event, around: Surroundings) -> list[Draft]:
    builder = _BUILDERS.get(type(event.payload))
    return builder(event, event.payload, around) if builder else []
