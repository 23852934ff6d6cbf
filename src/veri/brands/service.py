"""Brands. Their public facts (name, category, site) are visible to every signed-in user;
only the owner and admins change them."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from veri.brands.repository import BrandRepository
from veri.brands.schemas import BrandUpdate
from veri.errors import Conflict, Forbidden, NotFound
from veri.identity.principal import Principal
from veri.models.brands import Brand

__all__ = [
    "create_brand",
    "get_brand",
    "list_brands",
    "own_brand",
    "update_brand",
]


def create_brand(db: Session, *, owner_id: uuid.UUID, name: str, **fields: str) -> Brand:
    repo = BrandRepository(db)
    if repo.by_name(name) is not None:
        raise Conflict(
            "a brand with this name exists",
            detail=[{"field": "brand_name", "reason": "already taken"}],
        )
    brand = Brand(owner_id=owner_id, name=name, **fields)
    db.add(brand)
    db.flush()
    return brand


def get_brand(db: Session, *, brand_id: uuid.UUID) -> Brand:
    brand = BrandRepository(db).get(brand_id)
    if brand is None:
        raise NotFound("no such brand")
    return brand


def own_brand(db: Session, *, principal: Principal) -> Brand:
    if principal.brand_id is None:
        raise Forbidden("only for brand accounts")
    return get_brand(db, brand_id=principal.brand_id)


def list_brands(
    db: Session,
    *,
    category: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Brand], int]:
    return BrandRepository(db).search(category=category, query=query, limit=limit, offset=offset)


def update_brand(db: Session, *, principal: Principal, changes: BrandUpdate) -> Brand:
    brand = own_brand(db, principal=principal)
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(brand, field, value)
    db.flush()
    return brand
