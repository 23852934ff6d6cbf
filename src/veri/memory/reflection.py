"""Reflection: higher-level insights about a creator, written when enough new importance has
accumulated, each citing the memories (and through them the events) it summarises.

"Fitness campaigns returned 3.1x over 5 campaigns", "delivered 4 of 5 campaigns on time", "on
TikTok, posts average 6.2% engagement; the best ones go out on Sundays around 18:00".
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from statistics import mean

from sqlalchemy.orm import Session

from veri.memory import store
from veri.memory.drafts import Draft
from veri.memory.embeddings import CachedEmbedder
from veri.memory.formation import Names
from veri.models.base import utcnow
from veri.models.memory import Memory, MemoryType

__all__ = ["insights", "insights_for", "reflect"]

# An insight cites at most this many sources: the strongest evidence first.
MAX_SOURCES = 50


def _sources(memories: Sequence[Memory]) -> list[uuid.UUID]:
    ranked = sorted(memories, key=lambda m: m.importance, reverse=True)
    return list(dict.fromkeys(s for m in ranked for s in m.source_event_ids))[:MAX_SOURCES]


def _insight(
    memory_type: MemoryType, key: str, text: str, creator_id: uuid.UUID, cited: Sequence[Memory], **attributes: object
) -> Draft:
    return Draft(
        memory_type,
        key=key,
        text=text,
        valid_from=max(m.valid_from for m in cited),
        sources=_sources(cited),
        creator_id=creator_id,
        kind="insight",
        importance=0.8,
        attributes={"derived_from": [str(m.id) for m in cited], **attributes},
    )


def insights_for(db: Session, creator_id: uuid.UUID) -> list[Draft]:
    """The insights a creator's memories support now, read from the store."""
    name = Names(db)
    name.load([creator_id])
    return insights(name.of(creator_id, "This creator"), creator_id, store.reflection_material(db, creator_id))


def insights(who: str, creator_id: uuid.UUID, memories: Sequence[Memory]) -> list[Draft]:
    """The insights these memories of a creator (`who`, by name) support: outcomes by niche,
    reliability, what engages on each platform."""
    drafts: list[Draft] = []
    outcomes = [m for m in memories if m.type is MemoryType.CAMPAIGN_EPISODIC and "roi" in m.attributes]
    by_niche: dict[str, list[Memory]] = defaultdict(list)
    for outcome in outcomes:
        by_niche[outcome.attributes.get("niche") or "all"].append(outcome)
    for niche, group in sorted(by_niche.items()):
        if len(group) < 2:
            continue
        roi = mean(float(m.attributes["roi"]) for m in group)
        label = "Campaigns" if niche == "all" else f"{niche.capitalize()} campaigns"
        drafts.append(
            _insight(
                MemoryType.CAMPAIGN_EPISODIC,
                f"insight:roi:{niche}",
                f"{label} with {who} returned {roi:.1f}x on average over {len(group)} campaigns",
                creator_id,
                group,
                niche=niche,
                mean_roi=round(roi, 3),
                campaigns=len(group),
            )
        )
    if len(outcomes) >= 2:
        on_time = sum(bool(m.attributes.get("on_time")) for m in outcomes)
        drafts.append(
            _insight(
                MemoryType.CREATOR_ENTITY,
                "insight:reliability",
                f"{who} delivered {on_time} of {len(outcomes)} campaigns on time",
                creator_id,
                outcomes,
                on_time=on_time,
                campaigns=len(outcomes),
            )
        )
    posts = [m for m in memories if m.type is MemoryType.CONTENT_KNOWLEDGE and "engagement_rate" in m.attributes]
    by_platform: dict[str, list[Memory]] = defaultdict(list)
    for post in posts:
        by_platform[post.attributes.get("platform", "?")].append(post)
    for platform, group in sorted(by_platform.items()):
        if len(group) < 3:
            continue
        rate = mean(float(m.attributes["engagement_rate"]) for m in group)
        best = sorted(group, key=lambda m: float(m.attributes["engagement_rate"]), reverse=True)[
            : max(3, len(group) // 4)
        ]
        weekday = Counter(m.attributes.get("weekday") for m in best).most_common(1)[0][0]
        hour = Counter(m.attributes.get("hour") for m in best).most_common(1)[0][0]
        formats = Counter(m.attributes.get("format") for m in best).most_common(1)[0][0]
        drafts.append(
            _insight(
                MemoryType.CONTENT_KNOWLEDGE,
                f"insight:content:{platform}",
                f"On {platform}, {who}'s posts average {rate:.1%} engagement over {len(group)} posts; "
                f"the best are {formats}s posted on {weekday}s around {hour}:00",
                creator_id,
                best,
                platform=platform,
                mean_engagement_rate=round(rate, 5),
                posts=len(group),
            )
        )
    return drafts


def reflect(db: Session, creator_id: uuid.UUID, *, embedder: CachedEmbedder | None) -> int:
    """Write a creator's insights now; returns how many changed."""
    repo = store.MemoryRepository(db)
    applied = repo.apply(insights_for(db, creator_id))
    repo.embed_and_write(applied.created, embedder)
    repo.reflected(creator_id, utcnow())
    return len(applied.created)
