"""Server-side sessions behind one small interface: in PostgreSQL by default, in Redis when
`VERI_REDIS_URL` is set. The cookie carries a random token; stores keep only its hash."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import delete

from veri.identity.security import hash_token, new_token
from veri.models.accounts import UserSession
from veri.models.base import utcnow

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy.orm import Session

__all__ = ["PostgresSessionStore", "RedisSessionStore", "SessionInfo", "SessionStore"]


@dataclass(frozen=True)
class SessionInfo:
    user_id: uuid.UUID
    expires_at: datetime


class SessionStore(Protocol):
    def create(self, user_id: uuid.UUID, *, ip: str | None, user_agent: str | None) -> str: ...

    def get(self, token: str) -> SessionInfo | None: ...

    def delete(self, token: str) -> None: ...

    def delete_all_for_user(self, user_id: uuid.UUID) -> None: ...


class PostgresSessionStore:
    """Works inside the request's transaction: a session exists once the request commits."""

    def __init__(self, db: Session, ttl: timedelta):
        self._db = db
        self._ttl = ttl

    def create(self, user_id: uuid.UUID, *, ip: str | None, user_agent: str | None) -> str:
        token = new_token()
        now = utcnow()
        self._db.add(
            UserSession(
                token_hash=hash_token(token),
                user_id=user_id,
                created_at=now,
                expires_at=now + self._ttl,
                ip=ip,
                user_agent=(user_agent or "")[:255] or None,
            )
        )
        self._db.flush()
        return token

    def get(self, token: str) -> SessionInfo | None:
        row = self._db.get(UserSession, hash_token(token))
        if row is None or row.expires_at <= utcnow():
            return None
        return SessionInfo(user_id=row.user_id, expires_at=row.expires_at)

    def delete(self, token: str) -> None:
        self._db.execute(delete(UserSession).where(UserSession.token_hash == hash_token(token)))

    def delete_all_for_user(self, user_id: uuid.UUID) -> None:
        self._db.execute(delete(UserSession).where(UserSession.user_id == user_id))


class RedisSessionStore:
    """Sessions as keys with a TTL, plus a set per user so that all can be revoked at once."""

    def __init__(self, redis: Redis, ttl: timedelta, prefix: str = "veri:session:"):
        self._redis = redis
        self._ttl = ttl
        self._prefix = prefix

    def _user_key(self, user_id: uuid.UUID) -> str:
        return f"{self._prefix}user:{user_id}"

    def create(self, user_id: uuid.UUID, *, ip: str | None, user_agent: str | None) -> str:
        token = new_token()
        key = self._prefix + hash_token(token)
        expires_at = utcnow() + self._ttl
        value = json.dumps({"user_id": str(user_id), "expires_at": expires_at.isoformat(), "ip": ip})
        seconds = int(self._ttl.total_seconds())
        pipe = self._redis.pipeline()
        pipe.set(key, value, ex=seconds)
        pipe.sadd(self._user_key(user_id), key)
        pipe.expire(self._user_key(user_id), seconds)
        pipe.execute()
        return token

    def get(self, token: str) -> SessionInfo | None:
        raw = self._redis.get(self._prefix + hash_token(token))
        if raw is None:
            return None
        data = json.loads(raw)
        return SessionInfo(
            user_id=uuid.UUID(data["user_id"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
        )

    def delete(self, token: str) -> None:
        self._redis.delete(self._prefix + hash_token(token))

    def delete_all_for_user(self, user_id: uuid.UUID) -> None:
        user_key = self._user_key(user_id)
        keys = [k.decode() if isinstance(k, bytes) else str(k) for k in self._redis.smembers(user_key)]
        if keys:
            self._redis.delete(*keys)
        self._redis.delete(user_key)
