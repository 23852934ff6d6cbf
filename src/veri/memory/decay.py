"""Decay (`MEMORY_DECAY`): a memory's strength falls with the time since it was last used and
rises with use and importance. It changes ranking, never deletes: below a threshold a memory is
archived, still retrievable when asked for.

    strength = exp(-age / half_life * ln 2) * (1 + ln(1 + uses) / 2) * (0.5 + importance)

capped at 1, where age runs from the last access (or, never used, from when it was recorded) and
the half-life grows with importance: what matters fades slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from veri.models.base import utcnow

__all__ = ["HALF_LIFE_DAYS", "DecayResult", "decay"]

HALF_LIFE_DAYS = 30.0
ARCHIVE_BELOW = 0.05

_DECAY = text(
    """
    WITH scored AS (
        SELECT id, LEAST(1.0,
            exp(-ln(2) * (extract(epoch FROM (:now - COALESCE(last_accessed_at, recorded_at))) / 86400.0)
                / (:half_life * (0.5 + importance)))
            * (1 + ln(1 + access_count) / 2)
            * (0.5 + importance)) AS strength
        FROM memories
        WHERE status <> 'superseded'
    )
    UPDATE memories m
    SET strength = scored.strength,
        status = CASE WHEN scored.strength < :archive_below THEN 'archived'
                      WHEN m.status = 'archived' THEN 'active' ELSE m.status END
    FROM scored
    WHERE m.id = scored.id
    RETURNING m.status
    """
)


@dataclass(frozen=True)
class DecayResult:
    updated: int
    archived: int


def decay(db: Session, *, now: datetime | None = None, half_life_days: float = HALF_LIFE_DAYS) -> DecayResult:
    """Recompute every current memory's strength; archive the weak, revive the used."""
    rows = db.execute(
        _DECAY, {"now": now or utcnow(), "half_life": half_life_days, "archive_below": ARCHIVE_BELOW}
    ).all()
    return DecayResult(updated=len(rows), archived=sum(1 for (status,) in rows if status == "archived"))
