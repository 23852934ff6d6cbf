"""Memories in PostgreSQL: the consolidating writes of formation and reflection (the decisions
are `veri.memory.consolidation`'s), their embeddings, reflection's tallies, the reads formation,
reflection and the service need, and decay's UPDATE."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import structlog
from sqlalchemy import Boolean, ColumnElement, String, Uuid, any_, bindparam, func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from veri.db.paging import fetch_page
from veri.memory.consolidation import Action, Applied, Citation, Consolidator, latest_metrics
from veri.memory.decay import ARCHIVE_BELOW, HALF_LIFE_DAYS, STRENGTH_STEP, DecayResult
from veri.memory.drafts import EMBEDDED_KINDS, Draft, content_hash, embedding_text
from veri.memory.store.embeddings import vectors_enabled
from veri.models.brands import Brand
from veri.models.campaigns import Campaign
from veri.models.creators import Creator
from veri.models.events import OutboxEvent
from veri.models.memory import Memory, MemoryStatus, MemorySubjectState, MemoryType

if TYPE_CHECKING:
    from veri.memory.embeddings import CachedEmbedder

__all__ = [
    "REFLECTION_THRESHOLD",
    "MemoryRepository",
    "count_access",
    "creators_with_memories",
    "decay_memories",
    "display_names",
    "latest_turn",
    "memory_by_id",
    "reflection_material",
    "remembered_runs",
    "time_range",
    "timeline_page",
    "versions",
]

log = structlog.get_logger(__name__)

# Sum of new importance for a creator that triggers reflection (four or five meaningful memories).
REFLECTION_THRESHOLD = 3.0


class MemoryRepository:
    """The consuming worker's and reflection's writes, within the caller's transaction."""

    def __init__(self, db: Session):
        self.db = db

    # -- formation ------------------------------------------------------------------------

    def apply(self, drafts: Sequence[Draft]) -> Applied:
        """Consolidate the drafts of a batch into the store, in order. The memories they may join
        are read in one query; new ones are written in one flush (`embed_and_write`), so a batch
        costs a few round trips however many drafts it has. A creator's events are consumed by
        one worker at a time (their partition's lease), so no other writer consolidates them."""
        consolidator = Consolidator(self._joinable([d for d in drafts if d.kind != "metrics"]), self._citations(drafts))
        with self.db.no_autoflush:
            result = consolidator.consolidate(drafts)
            metrics = latest_metrics(drafts)
            missing = consolidator.unknown_posts(metrics)
            for decision in consolidator.apply_metrics(metrics, self._posts(missing) if missing else ()):
                if decision.action is Action.UPDATE:
                    result.count(decision)
        self.db.add_all(result.created)
        return result

    def _citations(self, drafts: Sequence[Draft]) -> list[Citation]:
        """The stored memories' citations of the events these drafts come from."""
        ids = list({s for d in drafts for s in d.sources})
        if not ids:
            return []
        rows = self.db.execute(
            text(
                "SELECT type, key, kind, unnest(source_event_ids) FROM memories "
                "WHERE source_event_ids && CAST(:ids AS uuid[])"
            ),
            {"ids": ids},
        ).all()
        wanted = set(ids)
        return [(t, k, kind, e) for t, k, kind, e in rows if e in wanted]

    def _joinable(self, drafts: Sequence[Draft]) -> list[Memory]:
        """The memories these drafts may merge into or supersede."""
        hashes = list({content_hash(d.embed_text) for d in drafts if d.kind == "observation"})
        keys = list({d.key for d in drafts if d.kind != "observation"})
        if not hashes and not keys:
            return []
        # Keys like "fact:location" are every creator's: only these drafts' creators matter.
        creators = {d.creator_id for d in drafts if d.kind != "observation"}
        of_these_creators: ColumnElement[bool] = Memory.creator_id.in_([c for c in creators if c is not None])
        if None in creators:
            of_these_creators = of_these_creators | Memory.creator_id.is_(None)
        return list(
            self.db.scalars(
                select(Memory).where(
                    (
                        Memory.content_hash.in_(hashes)
                        & (Memory.kind == "observation")
                        & (Memory.status == MemoryStatus.ACTIVE)
                    )
                    | (
                        Memory.key.in_(keys)
                        & of_these_creators
                        & (Memory.kind != "observation")
                        & Memory.valid_to.is_(None)
                        & (Memory.status != MemoryStatus.SUPERSEDED)
                    )
                )
            ).all()
        )

    def _posts(self, keys: Sequence[str]) -> list[Memory]:
        """Posts' state memories by key, whoever's they are."""
        return list(self.db.scalars(select(Memory).where(Memory.key.in_(keys), Memory.kind == "state")).all())

    # -- embeddings -----------------------------------------------------------------------

    def embed_and_write(self, memories: Sequence[Memory], embedder: CachedEmbedder | None) -> int:
        """Give memories their embeddings, then write them; on failure they are written without
        (full text still finds them) and `embed_pending` retries later. Returns how many were
        embedded."""
        embedded = 0
        memories = [m for m in memories if m.kind in EMBEDDED_KINDS]
        if embedder is not None and memories and vectors_enabled(self.db):
            try:
                vectors = embedder.embed_with(
                    self.db, [embedding_text(m.search_text, m.context_text) for m in memories]
                )
            except Exception as exc:  # the embedder is optional to memory: full text still finds it
                log.warning("embedding_failed", memories=len(memories), error=str(exc))
            else:
                for memory, vector in zip(memories, vectors, strict=True):
                    memory.embedding = vector
                embedded = len(memories)
        self.db.flush()
        return embedded

    def unembedded(self, limit: int) -> list[Memory]:
        return list(
            self.db.scalars(
                select(Memory)
                .where(Memory.embedding.is_(None), Memory.kind.in_(EMBEDDED_KINDS))
                .order_by(Memory.recorded_at)
                .limit(limit)
            ).all()
        )

    # -- reflection bookkeeping -----------------------------------------------------------

    def accumulate_importance(self, memories: Iterable[Memory]) -> list[uuid.UUID]:
        """Add new memories' importance to their creators' tallies; return the creators whose
        tally now calls for reflection."""
        totals: dict[uuid.UUID, float] = defaultdict(float)
        for memory in memories:
            if memory.creator_id is not None and memory.kind != "insight":
                totals[memory.creator_id] += memory.importance
        if not totals:
            return []
        insert = pg_insert(MemorySubjectState).values(
            [{"creator_id": c, "pending_importance": v} for c, v in totals.items()]
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[MemorySubjectState.creator_id],
            set_={"pending_importance": MemorySubjectState.pending_importance + insert.excluded.pending_importance},
        ).returning(MemorySubjectState.creator_id, MemorySubjectState.pending_importance)
        return [c for c, pending in self.db.execute(upsert) if pending >= REFLECTION_THRESHOLD]

    def reflected(self, creator_id: uuid.UUID, at: datetime) -> None:
        """The creator's tally starts again from zero (a row is made for a first reflection)."""
        statement = pg_insert(MemorySubjectState).values(creator_id=creator_id, pending_importance=0.0, reflected_at=at)
        self.db.execute(
            statement.on_conflict_do_update(
                index_elements=[MemorySubjectState.creator_id],
                set_={"pending_importance": 0.0, "reflected_at": at},
            )
        )

    def reset(self) -> None:
        self.db.execute(text("DELETE FROM memories"))
        self.db.execute(text("DELETE FROM memory_subject_state"))


# -- formation's and reflection's reads -----------------------------------------------------


def lock_creators(db: Session, creator_ids: set[uuid.UUID]) -> None:
    """Hold each creator's formation lock until the transaction ends, taken in sorted order so
    two writers never wait on each other in a circle."""
    if creator_ids:
        db.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('memory:' || c)) FROM unnest(CAST(:ids AS text[])) c"),
            {"ids": sorted(str(c) for c in creator_ids)},
        )


def display_names(db: Session, ids: Iterable[uuid.UUID]) -> list[tuple[uuid.UUID, str, list[str]]]:
    """Creators', brands' and campaigns' names and niches, for those of `ids` the store knows."""
    wanted = list(ids)
    found: list[tuple[uuid.UUID, str, list[str]]] = []
    for cid, name, niches in db.execute(
        select(Creator.id, Creator.display_name, Creator.niches).where(Creator.id.in_(wanted))
    ):
        found.append((cid, name, list(niches or [])))
    for bid, name, category in db.execute(select(Brand.id, Brand.name, Brand.category).where(Brand.id.in_(wanted))):
        found.append((bid, name, [category] if category else []))
    for kid, title, niches in db.execute(
        select(Campaign.id, Campaign.title, Campaign.niches).where(Campaign.id.in_(wanted))
    ):
        found.append((kid, title, list(niches or [])))
    missing = set(wanted) - {some_id for some_id, _, _ in found}
    if missing:
        found.extend(_names_remembered(db, missing))
    return found


def _names_remembered(db: Session, ids: set[uuid.UUID]) -> list[tuple[uuid.UUID, str, list[str]]]:
    """Campaigns, brands and creators that exist only in the event log (a simulated world,
    events imported from elsewhere): campaigns and brands as their `campaign.created` named them,
    creators by the name on their own messages. Read from the log, not from memories, because a
    deal's events are often formed before the memory of its campaign (another partition)."""
    keys = [str(some_id) for some_id in ids]
    named: dict[uuid.UUID, tuple[str, list[str]]] = {}
    for key, name, kinds_kept in (("campaign_id", "title", None), ("brand_id", "brand_name", 1)):
        for some_id, payload in _latest_in_log(db, "campaign.created", key, keys):
            niches = payload.get("niches")
            kinds = [str(n) for n in niches] if isinstance(niches, list) else []
            if isinstance(payload.get(name), str) and payload[name]:  # a brand's category: its first niche
                named.setdefault(uuid.UUID(some_id), (payload[name], kinds[:kinds_kept]))
    unnamed = [k for k in keys if uuid.UUID(k) not in named]
    for creator_id, payload in _latest_in_log(db, "message.sent", "creator_id", unnamed, role="creator"):
        if isinstance(payload.get("sender_name"), str) and payload["sender_name"]:
            named[uuid.UUID(creator_id)] = (payload["sender_name"], [])
    return [(some_id, name, kinds) for some_id, (name, kinds) in named.items()]


def _latest_in_log(
    db: Session, type_: str, key: str, values: list[str], *, role: str | None = None
) -> Sequence[tuple[str, dict[str, Any]]]:
    """For each of `values` of the payload's `key`, the payload of the latest `type_` event
    naming it (the partial indexes `ix_event_outbox_*_named` serve these reads)."""
    if not values:
        return []
    # Keys written as SQL literals, not parameters: a generic plan would not match the indexes'
    # expressions and predicates (`key` and `role` are this module's constants).
    keyed = literal_column(f"event_outbox.payload ->> '{key}'", String)
    statement = select(keyed, OutboxEvent.payload).where(OutboxEvent.type == type_, keyed.in_(values))
    if role is not None:
        statement = statement.where(literal_column(f"event_outbox.payload ->> 'sender_role' = '{role}'", Boolean))
    rows = db.execute(statement.order_by(keyed, OutboxEvent.position.desc()).ext(distinct_on(keyed))).all()
    return [(value, payload) for value, payload in rows]


def latest_turn(db: Session, creator_id: uuid.UUID, **attributes: str) -> Memory | None:
    """The creator's latest conversation turn (a message's memory), with these attributes."""
    statement = select(Memory).where(
        Memory.type == MemoryType.BRAND_INTERACTION,
        Memory.kind == "observation",
        Memory.creator_id == creator_id,
        Memory.attributes["thread"].is_not(None),
    )
    for name, value in attributes.items():
        statement = statement.where(Memory.attributes[name].astext == value)
    # Turns of one session may share a timestamp: the one recorded last is the latest.
    return db.scalars(statement.order_by(Memory.valid_from.desc(), Memory.recorded_at.desc()).limit(1)).first()


def reflection_material(db: Session, creator_id: uuid.UUID) -> list[Memory]:
    """What reflection reasons over: the creator's active campaign and content memories."""
    return list(
        db.scalars(
            select(Memory).where(
                Memory.creator_id == creator_id,
                Memory.status == MemoryStatus.ACTIVE,
                Memory.kind.in_(["observation", "state"]),
                Memory.type.in_([MemoryType.CAMPAIGN_EPISODIC, MemoryType.CONTENT_KNOWLEDGE]),
            )
        ).all()
    )


# -- the service's reads and writes --------------------------------------------------------


def count_access(db: Session, ids: Sequence[uuid.UUID], at: datetime) -> None:
    db.execute(
        update(Memory)
        .where(Memory.id.in_(list(ids)))
        .values(access_count=Memory.access_count + 1, last_accessed_at=at)
        .execution_options(synchronize_session=False)
    )


def memory_by_id(db: Session, memory_id: uuid.UUID) -> Memory | None:
    return db.get(Memory, memory_id)


def versions(db: Session, memory: Memory) -> list[Memory]:
    """Every version of a memory's fact or insight (its key, type and creator), oldest first."""
    statement = select(Memory).where(Memory.key == memory.key, Memory.type == memory.type)
    statement = statement.where(
        Memory.creator_id == memory.creator_id if memory.creator_id else Memory.creator_id.is_(None)
    )
    return list(db.scalars(statement.order_by(Memory.valid_from, Memory.recorded_at)).all())


class OutcomeRow(NamedTuple):
    """A remembered campaign outcome, without the text, vectors and search columns it carries."""

    id: uuid.UUID
    creator_id: uuid.UUID | None
    brand_id: uuid.UUID | None
    campaign_id: uuid.UUID | None
    valid_from: datetime
    attributes: dict[str, Any]


def outcome_memories(
    db: Session,
    *,
    creator_ids: Sequence[uuid.UUID] | None,
    brand_ids: Sequence[uuid.UUID] | None,
    before: datetime | None,
) -> list[OutcomeRow]:
    """Campaign outcomes remembered (`outcome:<campaign>:<creator>`), oldest first (world time),
    of these creators or these brands (all when neither is given); archived ones too: decay fades
    them, it does not unlearn them. One statement per side, each on its partial index."""
    found: dict[uuid.UUID, OutcomeRow] = {}
    # `= ANY(array)`: one parameter however many ids (an IN list of 1,000 is a new statement each time).
    sides: list[ColumnElement[bool] | None] = [
        column == any_(bindparam(name, list(ids), type_=ARRAY(Uuid())))
        for name, column, ids in (("creators", Memory.creator_id, creator_ids), ("brands", Memory.brand_id, brand_ids))
        if ids
    ]
    if creator_ids is None and brand_ids is None:
        sides = [None]
    columns = (Memory.id, Memory.creator_id, Memory.brand_id, Memory.campaign_id, Memory.valid_from, Memory.attributes)
    for side in sides:
        statement = select(*columns).where(
            Memory.type == MemoryType.CAMPAIGN_EPISODIC,
            Memory.key.like("outcome:%"),
            Memory.status != MemoryStatus.SUPERSEDED,
        )
        if side is not None:
            statement = statement.where(side)
        if before is not None:
            statement = statement.where(Memory.valid_from < before)
        found.update((row.id, OutcomeRow(*row)) for row in db.execute(statement))
    return sorted(found.values(), key=lambda m: (m.valid_from, m.id))


def deal_stage_memories(db: Session, *, stage: str, before: datetime | None) -> list[Memory]:
    """Every remembered deal at one stage (`deal:<id>:<stage>`, "accepted" say), oldest first."""
    statement = select(Memory).where(
        Memory.type == MemoryType.CAMPAIGN_EPISODIC,
        Memory.key.startswith("deal:"),
        Memory.key.endswith(f":{stage}", autoescape=True),
    )
    if before is not None:
        statement = statement.where(Memory.valid_from < before)
    return list(db.scalars(statement.order_by(Memory.valid_from)))


def fact_versions(
    db: Session,
    *,
    visible: tuple[uuid.UUID | None, uuid.UUID | None],
    creator_id: uuid.UUID | None,
    name: str,
    limit: int,
) -> list[Memory]:
    """Every version of one kind of creator fact ("rate"), current and superseded, oldest first:
    how it changed over time. A many-valued fact (preferences) has one key per value."""
    statement = select(Memory).where(
        *_of(*visible, creator_id),
        Memory.type == MemoryType.CREATOR_ENTITY,
        Memory.kind == "fact",
        (Memory.key == f"fact:{name}") | Memory.key.startswith(f"fact:{name}:", autoescape=True),
    )
    return list(db.scalars(statement.order_by(Memory.valid_from.desc(), Memory.recorded_at.desc()).limit(limit)))[::-1]


def _of(creator: uuid.UUID | None, brand: uuid.UUID | None, creator_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    """Conditions for memories about `creator` and `brand` (either may be None: any), and only
    `creator_id`'s when given."""
    conditions: list[ColumnElement[bool]] = []
    for column, value in ((Memory.creator_id, creator), (Memory.brand_id, brand), (Memory.creator_id, creator_id)):
        if value is not None:
            conditions.append(column == value)
    return conditions


def timeline_page(
    db: Session,
    *,
    visible: tuple[uuid.UUID | None, uuid.UUID | None],
    creator_id: uuid.UUID | None,
    types: Sequence[MemoryType] | None,
    as_of: datetime | None,
    include_archived: bool,
    limit: int,
    offset: int,
) -> tuple[list[Memory], int]:
    """Memories newest first (world time) within `visible` (creator, brand), as they stood at
    `as_of` when given; and how many there are in all."""
    statement = select(Memory).where(Memory.kind != "metrics", *_of(*visible, creator_id))
    if types:
        statement = statement.where(Memory.type.in_(types))
    if as_of is not None:
        # World time, as in retrieval: what held then.
        statement = statement.where(
            Memory.valid_from <= as_of,
            (Memory.valid_to.is_(None)) | (Memory.valid_to > as_of),
            Memory.status != MemoryStatus.ARCHIVED if not include_archived else Memory.status.is_not(None),
        )
    else:
        statuses = [MemoryStatus.ACTIVE, MemoryStatus.ARCHIVED] if include_archived else [MemoryStatus.ACTIVE]
        statement = statement.where(Memory.status.in_(statuses))
    return fetch_page(db, statement, order_by=(Memory.valid_from.desc(), Memory.id), limit=limit, offset=offset)


def remembered_runs(
    db: Session, *, visible: tuple[uuid.UUID | None, uuid.UUID | None], kind: str, limit: int
) -> list[Memory]:
    """The latest current workflow memories of agent runs of one kind of question, newest first
    (what the agent reuses a plan from; no count, it is on every question's path)."""
    statement = select(Memory).where(
        *_of(*visible, None),
        Memory.type == MemoryType.WORKFLOW,
        Memory.status == MemoryStatus.ACTIVE,
        Memory.valid_to.is_(None),
        Memory.attributes["kind"].astext == kind,
    )
    return list(db.scalars(statement.order_by(Memory.valid_from.desc()).limit(limit)))


def time_range(
    db: Session, *, visible: tuple[uuid.UUID | None, uuid.UUID | None], creator_id: uuid.UUID | None
) -> tuple[datetime | None, datetime | None]:
    statement = select(func.min(Memory.valid_from), func.max(Memory.valid_from))
    first, last = db.execute(statement.where(*_of(*visible, creator_id))).one()
    return first, last


def creators_with_memories(db: Session) -> list[uuid.UUID]:
    return [c for c in db.scalars(select(Memory.creator_id).where(Memory.creator_id.is_not(None)).distinct()) if c]


# `veri.memory.decay.strength` and `status_after` in SQL: tests/memory/test_decay.py checks they agree.
_DECAY = text(
    """
    WITH computed AS (
        SELECT id, status AS was, LEAST(1.0,
            exp(-ln(2) * (extract(epoch FROM (:now - COALESCE(last_accessed_at, recorded_at))) / 86400.0)
                / (:half_life * (0.5 + importance)))
            * (1 + ln(1 + access_count) / 2)
            * (0.5 + importance)) AS strength
        FROM memories
        WHERE status <> 'superseded'
    ),
    scored AS (
        SELECT id, was, strength,
               CASE WHEN strength < :archive_below THEN 'archived'
                    WHEN was = 'archived' THEN 'active' ELSE was END AS status
        FROM computed
    )
    UPDATE memories m
    SET strength = scored.strength, status = scored.status
    FROM scored
    WHERE m.id = scored.id AND (abs(scored.strength - m.strength) >= :step OR scored.status <> m.status)
    RETURNING m.id, m.creator_id, m.status, scored.was
    """
)


def decay_memories(
    db: Session, *, now: datetime, half_life_days: float = HALF_LIFE_DAYS
) -> tuple[DecayResult, list[tuple[uuid.UUID, uuid.UUID | None]]]:
    """Recompute every current memory's strength; archive the weak, revive the used. Only rows
    whose strength moved by `STRENGTH_STEP` or more, or whose status changes, are written: run
    every few minutes, rewriting every memory (and its index entries) cost more than the rest of
    the pipeline. Returns the result and the (memory, creator) pairs whose status moved."""
    rows = db.execute(
        _DECAY, {"now": now, "half_life": half_life_days, "archive_below": ARCHIVE_BELOW, "step": STRENGTH_STEP}
    ).all()
    moved = [(memory_id, creator_id) for memory_id, creator_id, status, was in rows if status != was]
    return DecayResult.of(status for _, _, status, _ in rows), moved
