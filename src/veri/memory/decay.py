"""Decay (`MEMORY_DECAY`): a memory's strength falls with the time since it was last used and
rises with use and importance. It changes ranking, never deletes: below a threshold a memory is
archived, still retrievable when asked for. The curve is here, as a function of values; the store
applies it to every memory in one UPDATE (`veri.memory.store.decay_memories`), writing only
the rows it moves by a step.

    strength = exp(-age / half_life * ln 2) * (1 + ln(1 + uses) / 2) * (0.5 + importance)

capped at 1, where age runs from the last access (or, never used, from when it was recorded) and
the half-life grows with importance: what matters fades slower.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from veri.models.memory import MemoryStatus

__all__ = ["ARCHIVE_BELOW", "HALF_LIFE_DAYS", "STRENGTH_STEP", "DecayResult", "status_after", "strength"]

HALF_LIFE_DAYS = 30.0
ARCHIVE_BELOW = 0.05
# A stored strength is rewritten when the curve has moved it this much: ranking cannot tell a
# smaller step, and a memory at full strength takes hours to fall by it.
STRENGTH_STEP = 0.005


def strength(age_days: float, uses: int, importance: float, half_life_days: float = HALF_LIFE_DAYS) -> float:
    """A memory's strength `age_days` after its last use (or its recording), used `uses` times."""
    half_life = half_life_days * (0.5 + importance)
    return min(1.0, math.exp(-math.log(2) * age_days / half_life) * (1 + math.log(1 + uses) / 2) * (0.5 + importance))


def status_after(new_strength: float, status: MemoryStatus) -> MemoryStatus:
    """Archive the weak, revive an archived memory use has made strong again."""
    if new_strength < ARCHIVE_BELOW:
        return MemoryStatus.ARCHIVED
    return MemoryStatus.ACTIVE if status == MemoryStatus.ARCHIVED else status


@dataclass(frozen=True)
class DecayResult:
    updated: int  # rows written (strength moved by a step, or status changed)
    archived: int  # of those, archived now

    @classmethod
    def of(cls, statuses: Iterable[str]) -> DecayResult:
        """From the statuses the memories were left in."""
        left = list(statuses)
        return cls(updated=len(left), archived=sum(1 for s in left if s == MemoryStatus.ARCHIVED))
