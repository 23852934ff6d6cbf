"""Feature flags of the PostgreSQL -> MongoDB migration and the Signal Engine.

The seed names them `USE_MONGO`, `READ_FROM_MONGO`, `HYBRID_SEARCH` and `MEMORY_DECAY`; they are
read from the environment under exactly those names and default to off.

At runtime an admin overrides them (`flag_rules`: on, off, a percentage of creators, allow and
deny lists, a kill switch; every change audited in `flag_changes`, see `veri.admin.flags`). A
process that installed the runtime (`install(database)`: the app and the worker do) reads the
rules at most every `REFRESH_SECONDS`, so every process sees a change within a second; callers
only ever ask `is_enabled(flag, subject=creator_id)`.

A percentage is by stable hashing of (flag, creator): a creator in at 10% stays in at 20%.
"""

from __future__ import annotations

import enum
import hashlib
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from veri.db.engine import Database

__all__ = [
    "REFRESH_SECONDS",
    "Flag",
    "FlagState",
    "Rule",
    "all_flags",
    "bucket_of",
    "default_of",
    "evaluate",
    "install",
    "is_enabled",
    "rules_now",
    "uninstall",
]

REFRESH_SECONDS = 0.5

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
class Rule:
    """A flag's runtime rule (a `flag_rules` row)."""

    mode: str  # on | off | percent
    percent: float = 0.0
    allow: frozenset[uuid.UUID] = field(default_factory=frozenset)
    deny: frozenset[uuid.UUID] = field(default_factory=frozenset)
    kill: bool = False
    version: int = 0
    shadow: bool = False  # READ_FROM_MONGO: compare reads from both stores (veri.migration.shadow)


@dataclass(frozen=True)
class FlagState:
    flag: Flag
    enabled: bool
    source: str
    description: str
    rule: Rule | None = None


# The migration's flags share one order of creators: a creator reading from Mongo at 10% is among
# those writing to it at 10% (a cohort of READ_FROM_MONGO is always inside USE_MONGO's).
_SALT = {Flag.USE_MONGO: "migration", Flag.READ_FROM_MONGO: "migration"}


def bucket_of(flag: Flag, subject: uuid.UUID) -> float:
    """Where `subject` falls for `flag`, in [0, 100): the same in every process and every run."""
    digest = hashlib.sha256(f"{_SALT.get(flag, flag.value)}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10_000 / 100


def evaluate(flag: Flag, rule: Rule | None, default: bool, subject: uuid.UUID | None = None) -> bool:
    """The kill switch, then the deny and allow lists, then the mode; without a rule the
    environment's default. A percentage without a subject (a process-wide question) is off
    unless it is 100."""
    if rule is None:
        return default
    if rule.kill:
        return False
    if subject is not None and subject in rule.deny:
        return False
    if subject is not None and subject in rule.allow:
        return True
    if rule.mode == "on":
        return True
    if rule.mode == "percent":
        if subject is None:
            return rule.percent >= 100
        return bucket_of(flag, subject) < rule.percent
    return False


class _Runtime:
    """The rules of one process, read from the database at most every REFRESH_SECONDS."""

    def __init__(self, database: Database):
        self.database = database
        self._rules: dict[Flag, Rule] = {}
        self._read_at = 0.0
        self._lock = threading.Lock()

    def rules(self) -> dict[Flag, Rule]:
        if time.monotonic() - self._read_at < REFRESH_SECONDS:
            return self._rules
        with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_SECONDS:
                self._rules = self._load()
                self._read_at = time.monotonic()
        return self._rules

    def _load(self) -> dict[Flag, Rule]:
        from sqlalchemy import select

        from veri.models.flags import FlagRule

        try:
            with self.database.sessions() as db:
                rows = list(db.scalars(select(FlagRule)))
        except Exception:  # the database away: keep the last rules rather than fail every request
            return self._rules
        known = {f.value: f for f in Flag}
        return {
            known[r.flag]: Rule(
                r.mode, r.percent, frozenset(r.allow or ()), frozenset(r.deny or ()), r.kill, r.version, r.shadow
            )
            for r in rows
            if r.flag in known
        }


_runtime: _Runtime | None = None


def install(database: Database) -> None:
    """Let this process's flags follow the runtime rules in `database`."""
    global _runtime
    _runtime = _Runtime(database)


def uninstall(database: Database | None = None) -> None:
    """Back to the environment alone; with `database`, only if the runtime is that database's
    (an app stopping must not unhook another that started since)."""
    global _runtime
    if database is None or (_runtime is not None and _runtime.database is database):
        _runtime = None


def rules_now() -> dict[Flag, Rule]:
    return _runtime.rules() if _runtime is not None else {}


def _parse(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (use true/false)")


def default_of(flag: Flag, environ: Mapping[str, str] | None = None) -> bool:
    """The environment's value of `flag` (off when unset), whatever the runtime rules say."""
    env = os.environ if environ is None else environ
    return _parse(flag.value, env.get(flag.value, "false"))


def is_enabled(flag: Flag, environ: Mapping[str, str] | None = None, *, subject: uuid.UUID | None = None) -> bool:
    """Whether `flag` is on (for `subject`, a creator, when rolled out by percentage or list)."""
    env = os.environ if environ is None else environ
    return evaluate(flag, rules_now().get(flag), default_of(flag, env), subject)


def all_flags(environ: Mapping[str, str] | None = None) -> list[FlagState]:
    env = os.environ if environ is None else environ
    rules = rules_now()
    return [
        FlagState(
            flag=flag,
            enabled=is_enabled(flag, env),
            source="runtime" if flag in rules else "environment" if flag.value in env else "default",
            description=DESCRIPTIONS[flag],
            rule=rules.get(flag),
        )
        for flag in Flag
    ]
