"""The migration's own records: where a backfill got to, what each verification found, what the
shadow reads compared, and the backfills and verifications started from the admin page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, utcnow

__all__ = ["BackfillCheckpoint", "MigrationJob", "ShadowMinute", "ShadowPath", "Verification"]


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
    # A sampled verification finds drift; only a full one clears a cohort for reads.
    sampled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowPath(Base):
    """A read path's shadow record: its reads compared, and how many in a row matched (the
    cutover asks for a configured number of those)."""

    __tablename__ = "shadow_paths"

    path: Mapped[str] = mapped_column(String(40), primary_key=True)
    reads: Mapped[int] = mapped_column(Integer, default=0)
    mismatches: Mapped[int] = mapped_column(Integer, default=0)
    lagged: Mapped[int] = mapped_column(Integer, default=0)  # differed, then matched once dual-write caught up
    clean_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_mismatch_key: Mapped[str | None] = mapped_column(String(40))
    last_mismatch_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowMinute(Base):
    """A read path's comparisons in one minute, for the admin page's charts."""

    __tablename__ = "shadow_minutes"

    path: Mapped[str] = mapped_column(String(40), primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    reads: Mapped[int] = mapped_column(Integer, default=0)
    mismatches: Mapped[int] = mapped_column(Integer, default=0)
    lagged: Mapped[int] = mapped_column(Integer, default=0)
    postgres_ms: Mapped[float] = mapped_column(Float, default=0.0)  # sums: divide by reads
    mongo_ms: Mapped[float] = mapped_column(Float, default=0.0)
    postgres_max_ms: Mapped[float] = mapped_column(Float, default=0.0)
    mongo_max_ms: Mapped[float] = mapped_column(Float, default=0.0)


class MigrationJob(Base):
    """A backfill or verification started from the admin page, run beside the API; its progress
    and result are here for every process to show."""

    __tablename__ = "migration_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))  # backfill | verify
    aggregate: Mapped[str | None] = mapped_column(String(40))  # None: every aggregate
    cohort: Mapped[float] = mapped_column(Float)
    repair: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done | failed | interrupted
    progress: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    started_by: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
