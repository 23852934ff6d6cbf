"""All SQL of identity: users, API keys, reset tokens, and which profile a user owns."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from veri.db.paging import fetch_page
from veri.models.accounts import ApiKey, PasswordResetToken, Role, User
from veri.models.brands import Brand
from veri.models.creators import Creator

__all__ = ["IdentityRepository"]


class IdentityRepository:
    def __init__(self, db: Session):
        self.db = db

    def user_by_email(self, email: str) -> User | None:
        return self.db.scalar(select(User).where(User.email == email.lower()))

    def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return self.db.get(User, user_id)

    def has_users(self) -> bool:
        return self.db.scalar(select(User.id).limit(1)) is not None

    def list_users(self, *, role: Role | None, query: str | None, limit: int, offset: int) -> tuple[list[User], int]:
        statement = select(User)
        if role is not None:
            statement = statement.where(User.role == role)
        if query:
            pattern = f"%{query.lower()}%"
            statement = statement.where(User.email.ilike(pattern) | User.display_name.ilike(pattern))
        return fetch_page(self.db, statement, order_by=(User.created_at.desc(), User.id), limit=limit, offset=offset)

    def add(self, obj: object) -> None:
        self.db.add(obj)
        self.db.flush()

    def reset_token(self, token_hash: str) -> PasswordResetToken | None:
        return self.db.get(PasswordResetToken, token_hash, with_for_update=True)

    def invalidate_reset_tokens(self, user_id: uuid.UUID, now: datetime) -> None:
        self.db.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )

    def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        return self.db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))

    def api_keys_of(self, user_id: uuid.UUID) -> list[ApiKey]:
        return list(
            self.db.scalars(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc())).all()
        )

    def revoke_api_keys_of(self, user_id: uuid.UUID, now: datetime) -> int:
        result = self.db.execute(
            update(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def api_key(self, key_id: uuid.UUID) -> ApiKey | None:
        return self.db.get(ApiKey, key_id)

    def creator_id_of(self, user_id: uuid.UUID) -> uuid.UUID | None:
        return self.db.scalar(select(Creator.id).where(Creator.user_id == user_id))

    def brand_id_of(self, user_id: uuid.UUID) -> uuid.UUID | None:
        return self.db.scalar(select(Brand.id).where(Brand.owner_id == user_id))
