"""Leaderboard entries: the system of record of every board (Redis sorted sets, when Redis is
configured, mirror these rows). One row per (board, creator); the board key names the metric,
the scope and the period (`points:niche:fitness:week:2026-W49`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base

__all__ = ["LeaderboardEntry"]


class LeaderboardEntry(Base):
    __tablename__ = "leaderboard_entries"
    # Serves both the top N (scanned backwards: score DESC, creator_id DESC) and a rank, which
    # counts the board's entries with a higher score (an index-only range count).
    __table_args__ = (Index("ix_leaderboard_entries_board_score", "board", "score", "creator_id"),)

    board: Mapped[str] = mapped_column(String(120), primary_key=True)
    # No foreign key: boards store ids only and are rebuilt from events.
    creator_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
