"""Builders for event batches and a synchronous driver of consumer loops, for the event tests."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.events.envelope import new_event_id
from veri.events.runtime import ConsumerLoop
from veri.models.analytics import AnalyticsDaily


def envelope(
    type_: str, payload: dict[str, Any], *, subject: str, at: datetime, version: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(new_event_id()),
        "type": type_,
        "occurred_at": at.isoformat(),
        "subject": subject,
        "actor": "system:test",
        "payload": payload,
    }
    if version is not None:
        body["version"] = version
    return body


@dataclass
class MetricsWorld:
    """Creators with content whose cumulative views grow day by day; knows the expected rollups."""

    events: list[dict[str, Any]] = field(default_factory=list)
    expected_views: dict[tuple[str, date], int] = field(default_factory=dict)

    @classmethod
    def build(
        cls, *, creators: int = 3, posts: int = 4, days: int = 5, seed: int = 7, start: date | None = None
    ) -> MetricsWorld:
        rng = random.Random(seed)
        world = cls()
        first = start or (date.today() - timedelta(days=days + 1))
        for _ in range(creators):
            creator = str(uuid.uuid4())
            for _ in range(posts):
                content = str(uuid.uuid4())
                published = datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=rng.randint(1, 10))
                world.events.append(
                    envelope(
                        "content.published",
                        {
                            "content_id": content,
                            "creator_id": creator,
                            "platform": "tiktok",
                            "kind": "short",
                            "published_at": published.isoformat(),
                        },
                        subject=f"creator:{creator}",
                        at=published,
                    )
                )
                views = 0
                for d in range(days):
                    growth = rng.randint(100, 5000)
                    views += growth
                    captured = published + timedelta(days=d, hours=12)
                    world.events.append(
                        envelope(
                            "content.metrics_snapshot",
                            {
                                "content_id": content,
                                "creator_id": creator,
                                "platform": "tiktok",
                                "captured_at": captured.isoformat(),
                                "metrics": {
                                    "play_count": views,
                                    "digg_count": views // 20,
                                    "comment_count": views // 200,
                                },
                            },
                            subject=f"creator:{creator}",
                            at=captured,
                        )
                    )
                    # A creator's views on a day are the growth of each of their posts that day.
                    key = (creator, captured.date())
                    world.expected_views[key] = world.expected_views.get(key, 0) + growth
        return world

    def shuffled(self, seed: int = 3) -> list[dict[str, Any]]:
        events = list(self.events)
        random.Random(seed).shuffle(events)
        return events


def creator_views(db: Session) -> dict[tuple[str, date], int]:
    rows = db.execute(
        select(AnalyticsDaily.scope_id, AnalyticsDaily.day, AnalyticsDaily.views).where(
            AnalyticsDaily.scope == "creator", AnalyticsDaily.views != 0
        )
    ).all()
    return {(str(r[0]), r[1]): int(r[2]) for r in rows}


def drain(loops: Sequence[ConsumerLoop], *, until: Callable[[], bool] | None = None, timeout: float = 60.0) -> int:
    """Run loops until a full round applies nothing (and `until` holds)."""
    deadline = time.monotonic() + timeout
    applied = 0
    while time.monotonic() < deadline:
        round_applied = sum(loop.run_once() for loop in loops)
        applied += round_applied
        if round_applied == 0 and (until is None or until()):
            return applied
    raise AssertionError(f"consumers did not finish within {timeout}s (applied {applied})")


def count(database: Database, model: Any, *where: Any) -> int:
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def form_memories(database: Database, handler: Any = None, *, timeout: float = 120.0) -> int:
    """Run the `memory` consumer group over everything in the log, as the worker would."""
    from veri.config import get_settings
    from veri.events.bus.embedded import EmbeddedLog
    from veri.events.runtime import RetryPolicy
    from veri.memory.handlers import MemoryHandler

    handler = handler or MemoryHandler(None)
    consumer = EmbeddedLog(database, partitions=get_settings().events.event_partitions, lease_seconds=60).consumer(
        "memory", f"test-{uuid.uuid4().hex[:6]}"
    )
    loop = ConsumerLoop(database, consumer, handler, batch_size=handler.batch_size, retry=RetryPolicy(2, 0.0))
    try:
        return drain([loop], timeout=timeout)
    finally:
        consumer.close()
