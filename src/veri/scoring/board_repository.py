"""All SQL of the leaderboards: `PostgresBoards`, the boards' system of record and their store
on the embedded default, and the names of the creators a board lists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from veri.models.creators import Creator
from veri.models.scoring_boards import LeaderboardEntry as E
from veri.scoring.boards import Board, Entry, Standing, ranked, totals_of

__all__ = ["PostgresBoards", "creator_names"]

# Set-based upserts of a batch: one statement, rows in key order (concurrent batches lock rows
# in the same order, so they wait for each other instead of deadlocking).
_UPSERT = """
INSERT INTO leaderboard_entries AS e (board, creator_id, score, updated_at)
SELECT u.board, u.creator_id, u.score, clock_timestamp()
FROM unnest(CAST(:boards AS varchar[]), CAST(:creators AS uuid[]), CAST(:scores AS float8[]))
     AS u(board, creator_id, score)
ON CONFLICT (board, creator_id) DO UPDATE SET score = {new_score}, updated_at = excluded.updated_at
RETURNING e.board, e.creator_id, e.score
"""
_INCREMENT = text(_UPSERT.format(new_score="e.score + excluded.score"))
_SET = text(_UPSERT.format(new_score="excluded.score"))


class PostgresBoards:
    """The boards in `leaderboard_entries`, within the caller's transaction (only flushes)."""

    def __init__(self, db: Session):
        self.db = db

    def _upsert(self, statement: object, totals: dict[tuple[str, uuid.UUID], float]) -> list[Entry]:
        if not totals:
            return []
        keys = sorted(totals)
        rows = self.db.execute(
            statement,  # type: ignore[call-overload]
            {
                "boards": [b for b, _ in keys],
                "creators": [c for _, c in keys],
                "scores": [totals[k] for k in keys],
            },
        )
        return [Entry(r.board, r.creator_id, r.score) for r in rows]

    def increment(self, entries: Sequence[Entry]) -> list[Entry]:
        return self._upsert(_INCREMENT, totals_of(entries))

    def set(self, entries: Sequence[Entry]) -> list[Entry]:
        return self._upsert(_SET, {(e.board, e.creator_id): e.score for e in entries})

    def top(self, board: Board, limit: int, offset: int = 0) -> list[Standing]:
        rows = self.db.execute(
            select(E.creator_id, E.score)
            .where(E.board == board.key)
            .order_by(E.score.desc(), E.creator_id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        if not rows:
            return []
        first_rank = 1 + (self._higher(board.key, rows[0].score) if offset else 0)
        return ranked(((r.creator_id, r.score) for r in rows), offset=offset, first_rank=first_rank)

    def _higher(self, key: str, score: float) -> int:
        return int(self.db.scalar(select(func.count()).where(E.board == key, E.score > score)) or 0)

    def standing(self, board: Board, creator_id: uuid.UUID) -> Standing | None:
        higher = E.__table__.alias("higher")
        above = (
            select(func.count())
            .where(higher.c.board == E.board, higher.c.score > E.score)
            .correlate(E)
            .scalar_subquery()
        )
        row = self.db.execute(
            select(E.score, above.label("above")).where(E.board == board.key, E.creator_id == creator_id)
        ).first()
        return None if row is None else Standing(creator_id, row.score, int(row.above) + 1)

    def size(self, board: Board) -> int:
        return int(self.db.scalar(select(func.count()).where(E.board == board.key)) or 0)

    def clear(self) -> None:
        self.db.execute(delete(E))

    # -- for rebuilding Redis ------------------------------------------------------------------

    def clock(self) -> datetime:
        """The server's clock, which stamps the rows."""
        now: datetime | None = self.db.scalar(select(func.clock_timestamp()))
        assert now is not None
        return now

    def entries(self, batch: int) -> Iterator[list[Entry]]:
        """Every entry, streamed in batches."""
        result = self.db.execute(select(E.board, E.creator_id, E.score).execution_options(yield_per=batch))
        for rows in result.partitions():
            yield [Entry(r.board, r.creator_id, r.score) for r in rows]

    def changed_since(self, since: datetime) -> list[Entry]:
        rows = self.db.execute(select(E.board, E.creator_id, E.score).where(E.updated_at >= since)).all()
        return [Entry(r.board, r.creator_id, r.score) for r in rows]


def creator_names(db: Session, creator_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """(handle, display name) of each creator that still exists."""
    if not creator_ids:
        return {}
    rows = db.execute(
        select(Creator.id, Creator.handle, Creator.display_name).where(Creator.id.in_(set(creator_ids)))
    ).all()
    return {r.id: (r.handle, r.display_name) for r in rows}
