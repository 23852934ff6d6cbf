"""Enrichment, as pure functions: platform metrics in one vocabulary, engagement, day buckets.

Platforms name the same counts differently; connectors and clients send what the platform
said, and this is the one place that knows the names."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from veri.events.types import ContentMetricsSnapshot

__all__ = [
    "EnrichedSnapshot",
    "engagement_rate",
    "enrich_snapshot",
    "latest_per_day",
    "normalise_metrics",
]

# Our name -> the names platforms use for it (first match wins).
_ALIASES: dict[str, tuple[str, ...]] = {
    "views": (
        "views",
        "view_count",
        "viewCount",
        "play_count",
        "plays",
        "video_views",
        "impressions",
    ),
    "likes": ("likes", "like_count", "likeCount", "digg_count", "favorites"),
    "comments": ("comments", "comment_count", "commentCount", "replies"),
    "shares": ("shares", "share_count", "shareCount", "reposts", "retweets"),
    "saves": ("saves", "saved", "collect_count", "bookmarks"),
}


@dataclass(frozen=True)
class Metrics:
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    saves: int = 0

    @property
    def engagements(self) -> int:
        return self.likes + self.comments + self.shares + self.saves


# alias -> (our name, preference): the earlier an alias is listed, the more it is trusted.
_BY_ALIAS = {alias: (name, rank) for name, aliases in _ALIASES.items() for rank, alias in enumerate(aliases)}


def _plan(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """Which platform name each of our names is read from, for a set of names."""
    chosen: dict[str, tuple[int, str]] = {}
    for key in keys:
        found = _BY_ALIAS.get(key)
        if found is not None and found[1] < chosen.get(found[0], (len(_BY_ALIAS), ""))[0]:
            chosen[found[0]] = (found[1], key)
    return tuple((name, key) for name, (_, key) in chosen.items())


# A platform sends the same names every time: the choice is made once per set of names, not
# once per snapshot (it was most of enrichment's time). Bounded: names come from clients.
_PLANS: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}
_MAX_PLANS = 1024


def normalise_metrics(raw: Mapping[str, int]) -> Metrics:
    keys = tuple(raw)
    plan = _PLANS.get(keys)
    if plan is None:
        plan = _plan(keys)
        if len(_PLANS) < _MAX_PLANS:
            _PLANS[keys] = plan
    return Metrics(**{name: int(raw[key]) for name, key in plan})


def engagement_rate(metrics: Metrics) -> float:
    return metrics.engagements / metrics.views if metrics.views else 0.0


@dataclass(frozen=True)
class EnrichedSnapshot:
    content_id: uuid.UUID
    creator_id: uuid.UUID
    campaign_id: uuid.UUID | None
    brand_id: uuid.UUID | None
    platform: str
    captured_at: datetime
    day: date
    metrics: Metrics
    engagement_rate: float


def enrich_snapshot(snapshot: ContentMetricsSnapshot) -> EnrichedSnapshot:
    metrics = normalise_metrics(snapshot.metrics)
    captured = snapshot.captured_at.astimezone(UTC)
    return EnrichedSnapshot(
        content_id=snapshot.content_id,
        creator_id=snapshot.creator_id,
        campaign_id=snapshot.campaign_id,
        brand_id=snapshot.brand_id,
        platform=snapshot.platform.lower(),
        captured_at=captured,
        day=captured.date(),
        metrics=metrics,
        engagement_rate=engagement_rate(metrics),
    )


def latest_per_day(snapshots: list[EnrichedSnapshot]) -> list[EnrichedSnapshot]:
    """A content-day keeps its latest snapshot: a day's numbers are where it ended."""
    latest: dict[tuple[uuid.UUID, date], EnrichedSnapshot] = {}
    for snapshot in snapshots:
        key = (snapshot.content_id, snapshot.day)
        if key not in latest or snapshot.captured_at >= latest[key].captured_at:
            latest[key] = snapshot
    return list(latest.values())
