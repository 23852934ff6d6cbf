"""The migration's own records: where a backfill got to, and what each verification found."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, utcnow

__all__ = ["BackfillCheckpoint", "Verification"]


class BackfillCheckpoint(Base):
    """The last id copied per aggregate and cohort: a backfill that died resumes after it."""

    __tablename__ = "migration_checkpoints"

    aggregate: Mapped[str] = mapped_column(String(40), primary_key=True)
    cohort: Mapped[float] = mapped_column(Float, primary_key=True)
    last_id: Mapped[str] = mapped_column(String(40), default="")
    copied: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Verification(Base):
    __tablename__ = "migration_verifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    aggregate: Mapped[str] = mapped_column(String(40), index=True)
    cohort: Mapped[float] = mapped_column(Float)
    checked: Mapped[int] = mapped_column(Integer)
    mismatches: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)  # ids by kind of mismatch (first 100)
    repaired: Mapped[int] = mapped_column(Integer, default=0)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
