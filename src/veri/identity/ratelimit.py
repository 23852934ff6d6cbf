"""Fixed-window rate limits (log-in attempts) in Redis, or in PostgreSQL without it.

The counters are written outside the request's transaction on purpose: a failed log-in rolls
its request back, and the failure must still count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from veri.models.accounts import RateLimitHit

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy import Engine

__all__ = ["PostgresRateLimiter", "RateLimiter", "RedisRateLimiter"]


def _window_start(window_seconds: int) -> datetime:
    now = int(datetime.now(UTC).timestamp())
    return datetime.fromtimestamp(now - now % window_seconds, UTC)


class RateLimiter(Protocol):
    def count(self, key: str, window_seconds: int) -> int: ...

    def hit(self, key: str, window_seconds: int) -> int: ...

    def reset(self, key: str) -> None: ...

    def reset_prefix(self, prefix: str) -> None:
        """Forget every key that starts with `prefix` (all of an account's pairs, say)."""
        ...


class PostgresRateLimiter:
    def __init__(self, engine: Engine):
        self._engine = engine

    def count(self, key: str, window_seconds: int) -> int:
        with self._engine.connect() as conn:
            value = conn.scalar(
                select(func.coalesce(func.sum(RateLimitHit.count), 0)).where(
                    RateLimitHit.key == key,
                    RateLimitHit.window_start == _window_start(window_seconds),
                )
            )
        return int(value or 0)

    def hit(self, key: str, window_seconds: int) -> int:
        window = _window_start(window_seconds)
        statement = (
            insert(RateLimitHit)
            .values(key=key, window_start=window, count=1)
            .on_conflict_do_update(
                index_elements=["key", "window_start"],
                set_={"count": RateLimitHit.count + 1},
            )
            .returning(RateLimitHit.count)
        )
        with self._engine.begin() as conn:
            value = conn.scalar(statement)
            # Old windows are useless; drop them as we go so the table stays small.
            conn.execute(delete(RateLimitHit).where(RateLimitHit.window_start < window, RateLimitHit.key == key))
        return int(value or 0)

    def reset(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(RateLimitHit).where(RateLimitHit.key == key))

    def reset_prefix(self, prefix: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(RateLimitHit).where(RateLimitHit.key.startswith(prefix, autoescape=True)))


class RedisRateLimiter:
    def __init__(self, redis: Redis, prefix: str = "veri:ratelimit:"):
        self._redis = redis
        self._prefix = prefix

    def _key(self, key: str, window_seconds: int) -> str:
        return f"{self._prefix}{key}:{int(_window_start(window_seconds).timestamp())}"

    def count(self, key: str, window_seconds: int) -> int:
        value = self._redis.get(self._key(key, window_seconds))
        return int(value) if value is not None else 0

    def hit(self, key: str, window_seconds: int) -> int:
        redis_key = self._key(key, window_seconds)
        pipe = self._redis.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds)
        count, _ = pipe.execute()
        return int(count)

    def reset(self, key: str) -> None:
        for redis_key in self._redis.scan_iter(f"{self._prefix}{_glob_escape(key)}:*"):
            self._redis.delete(redis_key)

    def reset_prefix(self, prefix: str) -> None:
        for redis_key in self._redis.scan_iter(f"{self._prefix}{_glob_escape(prefix)}*"):
            self._redis.delete(redis_key)


def _glob_escape(text: str) -> str:
    """Keys hold emails, which may hold Redis glob characters."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)
