"""Runtime overrides of the feature flags, and every change to them (who, when, old -> new, why)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, utcnow

__all__ = ["FlagChange", "FlagRule"]


class FlagRule(Base):
    """A flag's runtime rule; without a row the environment's default holds."""

    __tablename__ = "flag_rules"

    flag: Mapped[str] = mapped_column(String(40), primary_key=True)
    mode: Mapped[str] = mapped_column(String(10))  # on | off | percent
    percent: Mapped[float] = mapped_column(Float, default=0.0)
    allow: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()), default=list)  # always on for these
    deny: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()), default=list)  # always off for these
    kill: Mapped[bool] = mapped_column(Boolean, default=False)  # off for everyone, whatever else says
    # READ_FROM_MONGO only: the creators it does not serve from Mongo are read from both and
    # compared (shadow reads); those it serves are compared too.
    shadow: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlagChange(Base):
    __tablename__ = "flag_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flag: Mapped[str] = mapped_column(String(40), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    new: Mapped[dict[str, Any]] = mapped_column(JSONB)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
