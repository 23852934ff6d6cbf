"""Feature flags of the PostgreSQL -> MongoDB migration and the Signal Engine.

The seed names them `USE_MONGO`, `READ_FROM_MONGO`, `HYBRID_SEARCH` and `MEMORY_DECAY`; they are
read from the environment under exactly those names and default to off. Later work adds runtime
overrides (cohorts, kill switch, audit) behind `is_enabled`, so callers never read the
environment themselves.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Flag", "FlagState", "all_flags", "is_enabled"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Flag(enum.StrEnum):
    USE_MONGO = "USE_MONGO"
    READ_FROM_MONGO = "READ_FROM_MONGO"
    HYBRID_SEARCH = "HYBRID_SEARCH"
    MEMORY_DECAY = "MEMORY_DECAY"


DESCRIPTIONS: dict[Flag, str] = {
    Flag.USE_MONGO: "Dual-write every change to MongoDB (migration phase 2).",
    Flag.READ_FROM_MONGO: "Serve reads from MongoDB instead of PostgreSQL (phase 3).",
    Flag.HYBRID_SEARCH: "Fuse full-text and vector candidates in memory retrieval.",
    Flag.MEMORY_DECAY: "Lower the strength of unused memories and archive weak ones.",
}


@dataclass(frozen=True)
class FlagState:
    flag: Flag
    enabled: bool
    source: str
    description: str


def _parse(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (use true/false)")


def is_enabled(flag: Flag, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return _parse(flag.value, env.get(flag.value, "false"))


def all_flags(environ: Mapping[str, str] | None = None) -> list[FlagState]:
    env = os.environ if environ is None else environ
    return [
        FlagState(
            flag=flag,
            enabled=is_enabled(flag, env),
            source="environment" if flag.value in env else "default",
            description=DESCRIPTIONS[flag],
        )
        for flag in Flag
    ]
