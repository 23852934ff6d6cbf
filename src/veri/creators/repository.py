"""All SQL of the creators domain."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from veri.db.paging import fetch_page
from veri.models.creators import Creator, SocialAccount

__all__ = ["CreatorRepository"]


class CreatorRepository:
    def __init__(self, db: Session):
        self.db = db

    def get(self, creator_id: uuid.UUID) -> Creator | None:
        return self.db.get(Creator, creator_id)

    def by_user(self, user_id: uuid.UUID) -> Creator | None:
        return self.db.scalar(select(Creator).where(Creator.user_id == user_id))

    def by_handle(self, handle: str) -> Creator | None:
        return self.db.scalar(select(Creator).where(Creator.handle == handle))

    def search(
        self,
        *,
        only_id: uuid.UUID | None,
        niche: str | None,
        platform: str | None,
        min_audience: int | None,
        query: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Creator], int]:
        statement = select(Creator)
        if only_id is not None:
            statement = statement.where(Creator.id == only_id)
        if niche:
            statement = statement.where(Creator.niches.contains([niche.lower()]))
        if platform:
            statement = statement.where(Creator.platforms.contains([platform]))
        if min_audience is not None:
            statement = statement.where(Creator.audience_size >= min_audience)
        if query:
            pattern = f"%{query}%"
            statement = statement.where(Creator.handle.ilike(pattern) | Creator.display_name.ilike(pattern))
        order = (Creator.audience_size.desc(), Creator.id)
        return fetch_page(self.db, statement, order_by=order, limit=limit, offset=offset)

    def social_accounts(self, creator_id: uuid.UUID | None) -> list[SocialAccount]:
        statement = select(SocialAccount).order_by(SocialAccount.platform, SocialAccount.handle)
        if creator_id is not None:
            statement = statement.where(SocialAccount.creator_id == creator_id)
        return list(self.db.scalars(statement).all())

    def social_account(self, account_id: uuid.UUID) -> SocialAccount | None:
        return self.db.get(SocialAccount, account_id)

    def social_accounts_by_id(self, account_ids: list[uuid.UUID]) -> dict[uuid.UUID, SocialAccount]:
        if not account_ids:
            return {}
        rows = self.db.scalars(select(SocialAccount).where(SocialAccount.id.in_(account_ids))).all()
        return {row.id: row for row in rows}

    def social_account_by_handle(self, platform: str, handle: str) -> SocialAccount | None:
        return self.db.scalar(
            select(SocialAccount).where(SocialAccount.platform == platform, SocialAccount.handle == handle)
        )
