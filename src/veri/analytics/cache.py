"""A Redis read-through cache for analytics series. Keys carry a generation per scope; the
analytics consumer bumps the generation after it commits, so stale entries are never read and
simply expire. Without Redis there is no cache and every read goes to PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import Counter

if TYPE_CHECKING:
    from redis import Redis

__all__ = ["AnalyticsCache"]

log = structlog.get_logger(__name__)
LOOKUPS = Counter("veri_cache_lookups_total", "Analytics cache lookups", ["result"])


class AnalyticsCache:
    def __init__(self, redis: Redis, *, ttl_seconds: int = 300, prefix: str = "veri:analytics:"):
        self.redis = redis
        self.ttl = ttl_seconds
        self.prefix = prefix

    def _generation(self, scope: str, scope_id: uuid.UUID) -> int:
        value = self.redis.get(f"{self.prefix}gen:{scope}:{scope_id}")
        return int(value) if value is not None else 0

    def get_or_compute(self, scope: str, scope_id: uuid.UUID, variant: str, compute: Callable[[], Any]) -> Any:
        """The cached series, or computed (and cached). Redis down: computed from PostgreSQL, as
        without a cache; an outage of the cache must not fail the read."""
        import redis

        try:
            key = f"{self.prefix}{scope}:{scope_id}:{self._generation(scope, scope_id)}:{variant}"
            cached = self.redis.get(key)
        except redis.RedisError as exc:
            LOOKUPS.labels("unavailable").inc()
            log.warning("analytics_cache_unavailable", error=str(exc))
            return compute()
        if cached is not None:
            LOOKUPS.labels("hit").inc()
            return json.loads(cached)
        LOOKUPS.labels("miss").inc()
        value = compute()
        try:
            self.redis.set(key, json.dumps(value, default=str), ex=self.ttl)
        except redis.RedisError as exc:
            log.warning("analytics_cache_unavailable", error=str(exc))
        return value

    def invalidate(self, scopes: Iterable[tuple[str, uuid.UUID]]) -> None:
        pipe = self.redis.pipeline()
        for scope, scope_id in scopes:
            pipe.incr(f"{self.prefix}gen:{scope}:{scope_id}")
        pipe.execute()
