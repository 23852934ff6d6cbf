"""The creator's loop, derived from events by the `scoring` consumer group (and rebuilt by a
replay): the evidence it verifies tasks and scores creators on, the append-only points ledger,
each creator's standing (level, streak, badges, VeriScore) and the VeriScore's history."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base

__all__ = ["LoopContent", "PointsEntry", "ScoreHistory", "Standing"]


class LoopContent(Base):
    """What verification and scoring know of a post: from content.published and the largest
    views and likes its metrics snapshots showed, with when they were last measured."""

    __tablename__ = "loop_content"

    content_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    creator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    platform: Mapped[str] = mapped_column(String(20), default="")
    title: Mapped[str] = mapped_column(String(300), default="")
    published_at: Mapped[datetime | None]
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    measured_at: Mapped[datetime | None]
    # The views measured over time, [[iso time, views], ...] (the latest 60): what a views task
    # had reached by its due date, whatever order the snapshots arrived in.
    history: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")


class PointsEntry(Base):
    """Append-only: one row per award, keyed by what earned it so a replay cannot award twice."""

    __tablename__ = "points_ledger"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # task:<id> | deal:<id> | quest:<week>:<id>
    creator_id: Mapped[uuid.UUID] = mapped_column(index=True)
    reason: Mapped[str] = mapped_column(String(200))
    points: Mapped[int] = mapped_column(Integer)
    asked: Mapped[int] = mapped_column(Integer)  # before caps and cool-downs
    earned_at: Mapped[datetime]


class Standing(Base):
    """A creator's loop as of the last event about them."""

    __tablename__ = "creator_standings"

    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    timezone: Mapped[str] = mapped_column(String(60), default="UTC")
    niches: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    platforms: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    points: Mapped[int] = mapped_column(Integer, default=0)
    streak: Mapped[int] = mapped_column(Integer, default=0)
    best_streak: Mapped[int] = mapped_column(Integer, default=0)
    last_active_on: Mapped[date | None]
    grace_used_on: Mapped[date | None]
    # Counters the badges and quests read, and the badges earned (key -> when).
    counters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    badges: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Decayed evidence of the VeriScore's components (sums and weights, as of `evidence_at`).
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    evidence_at: Mapped[datetime | None]
    veriscore: Mapped[float | None] = mapped_column(Float)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    updated_at: Mapped[datetime | None]


class ScoreHistory(Base):
    """The VeriScore at the end of each day it changed."""

    __tablename__ = "veriscore_history"

    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    veriscore: Mapped[float] = mapped_column(Float)
