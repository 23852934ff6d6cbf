"""One page of a filtered query and the number of rows in all pages, for every list endpoint."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

__all__ = ["fetch_page"]

T = TypeVar("T")


def fetch_page(
    db: Session, statement: Select[T], *, order_by: tuple[Any, ...], limit: int, offset: int
) -> tuple[list[T], int]:
    """Count the filtered rows, then fetch `limit` of them from `offset`, in a stable order
    (end `order_by` with a unique column)."""
    total = db.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = db.scalars(statement.order_by(*order_by).limit(limit).offset(offset)).unique().all()
    return list(rows), int(total)
