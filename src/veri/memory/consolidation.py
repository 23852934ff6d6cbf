"""Consolidation: how a batch's drafts join the memories they may merge into or supersede. Pure:
it decides over Memory objects held in memory; the store loads them and writes what changed.

The rules, by the draft's kind:
- observation: an identical text about the same subjects merges into the existing memory
  (provenance is the union); otherwise a new memory.
- fact: one current value per (creator, key). The same value merges; a new value closes the old
  version's validity (`valid_to`, `superseded_at`, `superseded_by`) and opens its own. Nothing is
  overwritten, so every version stays queryable "as of" its time.
- state: a summary of one thing (a post), created once and updated in place by `metrics`.
- insight: reflection's conclusion for a key; a newer one supersedes the older.
Every write is idempotent: an event already cited under a key is not applied again.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from veri.memory.drafts import Draft, content_hash
from veri.models.base import utcnow
from veri.models.memory import Memory, MemoryStatus

__all__ = [
    "Action",
    "Applied",
    "Citation",
    "Consolidator",
    "Decision",
    "engagement_importance",
    "latest_metrics",
    "twin_key",
]

# (memory type, key, kind, event id): an event a stored memory already cites.
Citation = tuple[str, str, str, uuid.UUID]


class Action(enum.StrEnum):
    CREATE = "create"
    MERGE = "merge"
    SUPERSEDE = "supersede"  # create the new version and close the current one
    UPDATE = "update"
    SKIP = "skip"


@dataclass(frozen=True)
class Decision:
    action: Action
    # The memory created (CREATE, SUPERSEDE) or joined (MERGE, UPDATE); None when skipped.
    memory: Memory | None = None


@dataclass
class Applied:
    created: list[Memory] = field(default_factory=list)
    merged: int = 0
    superseded: int = 0
    updated: int = 0
    skipped: int = 0

    def count(self, decision: Decision) -> None:
        if decision.action in {Action.CREATE, Action.SUPERSEDE}:
            assert decision.memory is not None
            self.created.append(decision.memory)
        self.superseded += decision.action is Action.SUPERSEDE
        self.merged += decision.action is Action.MERGE
        self.updated += decision.action is Action.UPDATE
        self.skipped += decision.action is Action.SKIP


def twin_key(*parts: object) -> tuple[object, ...]:
    """What makes two observations the same memory: kind, words, and whom they concern."""
    return tuple(bytes(p) if isinstance(p, bytes | memoryview) else p for p in parts)


def latest_metrics(drafts: Iterable[Draft]) -> list[Draft]:
    """Only the latest metrics snapshot of each post in a batch matters."""
    latest: dict[str, Draft] = {}
    for draft in drafts:
        if draft.kind != "metrics":
            continue
        current = latest.get(draft.key)
        if current is None or draft.valid_from >= current.valid_from:
            latest[draft.key] = draft
    return list(latest.values())


def engagement_importance(engagement_rate: float) -> float:
    """A post that engages well is worth remembering."""
    return round(min(1.0, 0.3 + 5 * engagement_rate), 3)


class Consolidator:
    """Decides, draft by draft, how a batch joins the store. It starts from the memories the
    drafts may join (`joinable`) and the events already cited (`cited`), and remembers what it
    creates, so a later draft of the same batch joins an earlier one."""

    def __init__(
        self,
        joinable: Iterable[Memory] = (),
        cited: Iterable[Citation] = (),
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        # Per memory, not per batch: the latest of equal-time turns is the one recorded last.
        self.clock = clock
        # Active observations by what they say and whom about (`twin_key`).
        self.twins: dict[tuple[object, ...], Memory] = {}
        # The current fact, state or insight by (kind, key, creator).
        self.current: dict[tuple[object, ...], Memory] = {}
        # Events already applied under (type, key), and under an observation of a type.
        self.cited_under_key: set[tuple[str, str, uuid.UUID]] = set()
        self.cited_by_observation: set[tuple[str, uuid.UUID]] = set()
        for memory in joinable:
            self.remember(memory)
        for memory_type, key, kind, event_id in cited:
            self.cited_under_key.add((memory_type, key, event_id))
            if kind == "observation":
                self.cited_by_observation.add((memory_type, event_id))

    def remember(self, memory: Memory) -> None:
        if memory.kind == "observation":
            self.twins[
                twin_key(memory.type, memory.content_hash, memory.creator_id, memory.brand_id, memory.campaign_id)
            ] = memory
        else:
            self.current[(memory.kind, memory.key, memory.creator_id)] = memory

    def consolidate(self, drafts: Sequence[Draft]) -> Applied:
        """Every draft but metrics (see `apply_metrics`), in order."""
        result = Applied()
        for draft in drafts:
            if draft.kind != "metrics":
                result.count(self.decide(draft))
        return result

    def decide(self, draft: Draft) -> Decision:
        """Join one draft: the memories it creates or changes are changed here, in memory."""
        kind = draft.type.value
        if self._applied(draft):
            return Decision(Action.SKIP)
        decide = {
            "observation": self._observe,
            "fact": self._fact,
            "state": self._state,
            "insight": self._insight,
        }[draft.kind]
        decision = decide(draft)
        for source in draft.sources:
            self.cited_under_key.add((kind, draft.key, source))
        return decision

    def _applied(self, draft: Draft) -> bool:
        kind = draft.type.value
        return all((kind, draft.key, s) in self.cited_under_key for s in draft.sources) or (
            draft.kind == "observation" and all((kind, s) in self.cited_by_observation for s in draft.sources)
        )

    def unknown_posts(self, metrics: Iterable[Draft]) -> list[str]:
        """Keys of the posts these metrics are about that this batch neither loaded nor created."""
        known = self._posts()
        return [d.key for d in metrics if d.key not in known]

    def apply_metrics(self, metrics: Iterable[Draft], posts: Iterable[Memory] = ()) -> list[Decision]:
        """Update the posts' state memories with their latest metrics; `posts` are the ones
        `unknown_posts` named, read from the store. Metrics about no known post, or older than
        what the post has, are skipped."""
        by_key = self._posts() | {m.key: m for m in posts}
        decisions: list[Decision] = []
        for draft in metrics:
            memory = by_key.get(draft.key)
            seen = memory.attributes.get("captured_at") if memory is not None else None
            if memory is None or (seen is not None and seen >= draft.attributes["captured_at"]):
                decisions.append(Decision(Action.SKIP))
                continue
            memory.attributes = {**memory.attributes, **draft.attributes}
            memory.importance = engagement_importance(float(draft.attributes["engagement_rate"]))
            decisions.append(Decision(Action.UPDATE, memory))
        return decisions

    def _posts(self) -> dict[str, Memory]:
        # Posts published in this batch are not written yet: they are in the batch's index.
        return {m.key: m for (kind, _, _), m in self.current.items() if kind == "state"}

    def _new(self, draft: Draft, **overrides: object) -> Memory:
        memory = Memory(
            id=uuid.uuid4(),
            type=draft.type,
            kind=draft.kind,
            key=draft.key,
            text=draft.text,
            search_text=draft.search_text,
            context_text=draft.context_text,
            attributes=draft.attributes,
            content_hash=content_hash(draft.embed_text),
            importance=draft.importance,
            strength=1.0,
            creator_id=draft.creator_id,
            brand_id=draft.brand_id,
            campaign_id=draft.campaign_id,
            source_event_ids=list(dict.fromkeys(draft.sources)),
            valid_from=draft.valid_from,
            recorded_at=self.clock(),
            status=MemoryStatus.ACTIVE,
            access_count=0,
        )
        for name, value in overrides.items():
            setattr(memory, name, value)
        if memory.status is MemoryStatus.ACTIVE:
            self.remember(memory)
        return memory

    @staticmethod
    def _merge(memory: Memory, draft: Draft) -> Decision:
        memory.source_event_ids = list(dict.fromkeys([*memory.source_event_ids, *draft.sources]))
        memory.importance = max(memory.importance, draft.importance)
        return Decision(Action.MERGE, memory)

    def _close(self, old: Memory, new: Memory) -> Decision:
        old.valid_to = new.valid_from
        old.superseded_at = self.clock()
        old.superseded_by = new.id
        old.status = MemoryStatus.SUPERSEDED
        return Decision(Action.SUPERSEDE, new)

    def _observe(self, draft: Draft) -> Decision:
        twin = self.twins.get(
            twin_key(draft.type, content_hash(draft.embed_text), draft.creator_id, draft.brand_id, draft.campaign_id)
        )
        return self._merge(twin, draft) if twin is not None else Decision(Action.CREATE, self._new(draft))

    def _fact(self, draft: Draft) -> Decision:
        current = self.current.get(("fact", draft.key, draft.creator_id))
        if current is None:
            return Decision(Action.CREATE, self._new(draft))
        if current.attributes.get("value", "").casefold() == draft.value:
            return self._merge(current, draft)
        if draft.valid_from < current.valid_from:
            # An older statement arriving late: it held until the current one began.
            return Decision(
                Action.CREATE,
                self._new(
                    draft, valid_to=current.valid_from, status=MemoryStatus.SUPERSEDED, superseded_at=self.clock()
                ),
            )
        return self._close(current, self._new(draft))

    def _state(self, draft: Draft) -> Decision:
        existing = self.current.get(("state", draft.key, draft.creator_id))
        if existing is None:
            return Decision(Action.CREATE, self._new(draft))
        existing.attributes = {**draft.attributes, **existing.attributes}
        self._merge(existing, draft)
        return Decision(Action.UPDATE, existing)

    def _insight(self, draft: Draft) -> Decision:
        current = self.current.get(("insight", draft.key, draft.creator_id))
        if current is not None and current.text == draft.text:
            return self._merge(current, draft)
        fresh = self._new(draft)
        return self._close(current, fresh) if current is not None else Decision(Action.CREATE, fresh)
