"""All SQL of the brands domain."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from veri.db.paging import fetch_page
from veri.models.brands import Brand

__all__ = ["BrandRepository"]


class BrandRepository:
    def __init__(self, db: Session):
        self.db = db

    def get(self, brand_id: uuid.UUID) -> Brand | None:
        return self.db.get(Brand, brand_id)

    def by_name(self, name: str) -> Brand | None:
        return self.db.scalar(select(Brand).where(func.lower(Brand.name) == name.lower()))

    def search(self, *, category: str | None, query: str | None, limit: int, offset: int) -> tuple[list[Brand], int]:
        statement = select(Brand)
        if category:
            statement = statement.where(func.lower(Brand.category) == category.lower())
        if query:
            statement = statement.where(Brand.name.ilike(f"%{query}%"))
        return fetch_page(self.db, statement, order_by=(Brand.name, Brand.id), limit=limit, offset=offset)
