"""Changing the feature flags at runtime: a rule per flag (on, off, a percentage of creators,
allow and deny lists, a kill switch), its prerequisites, and the audit of every change."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from veri.config import get_settings
from veri.errors import Conflict, Forbidden, Invalid
from veri.flags import Flag, Rule, all_flags, default_of
from veri.identity.principal import Principal
from veri.migration.service import verified_cohort
from veri.migration.shadow import path_readiness
from veri.models.base import utcnow
from veri.models.flags import FlagChange, FlagRule

__all__ = ["FlagRuleIn", "flag_history", "flags_out", "recent_changes", "set_flag"]

Ids = Annotated[list[uuid.UUID], Field(max_length=1000)]


class FlagRuleIn(BaseModel):
    """`default` removes the runtime rule (the environment decides again)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["on", "off", "percent", "default"]
    percent: Annotated[float, Field(ge=0, le=100)] = 0.0
    allow: Ids = Field(default_factory=list)
    deny: Ids = Field(default_factory=list)
    kill: bool = False
    shadow: bool = False  # READ_FROM_MONGO only: compare reads from both stores
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]

    @model_validator(mode="after")
    def _consistent(self) -> FlagRuleIn:
        if set(self.allow) & set(self.deny):
            raise ValueError("allow and deny: a creator cannot be in both")
        if self.mode != "percent" and self.percent:
            raise ValueError("percent: only with mode 'percent'")
        return self


def _as_dict(rule: FlagRule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "mode": rule.mode,
        "percent": rule.percent,
        "allow": [str(x) for x in rule.allow or []],
        "deny": [str(x) for x in rule.deny or []],
        "kill": rule.kill,
        "shadow": rule.shadow,
        "version": rule.version,
    }


def _rule(row: FlagRule | None) -> Rule | None:
    if row is None:
        return None
    return Rule(
        row.mode, row.percent, frozenset(row.allow or ()), frozenset(row.deny or ()), row.kill, row.version, row.shadow
    )


def _reach(rule: Rule | None, default: bool) -> tuple[float, frozenset[uuid.UUID]]:
    """How much of the creators a rule turns on: (percent of everyone, creators listed in)."""
    if rule is None:
        return (100.0 if default else 0.0), frozenset()
    if rule.kill:
        return 0.0, frozenset()
    share = {"on": 100.0, "off": 0.0}.get(rule.mode, rule.percent)
    return share, rule.allow


def _check_prerequisites(
    db: Session, flag: Flag, new: Rule | None, rules: dict[Flag, Rule | None], *, cutover_reads: int
) -> None:
    """READ_FROM_MONGO never reaches a creator USE_MONGO does not, nor one the backfill did not
    verify; USE_MONGO cannot shrink under READ_FROM_MONGO."""
    after = {**rules, flag: new}
    read_share, read_listed = _reach(after[Flag.READ_FROM_MONGO], default_of(Flag.READ_FROM_MONGO))
    write_share, write_listed = _reach(after[Flag.USE_MONGO], default_of(Flag.USE_MONGO))
    read_rule = after[Flag.READ_FROM_MONGO]
    if read_rule is not None and read_rule.shadow and write_share == 0 and not write_listed:
        raise Conflict(
            "shadow reads compare the creators USE_MONGO writes for, and it writes for none",
            detail=[{"field": "shadow", "reason": "turn USE_MONGO on for a cohort first"}],
        )
    if read_share == 0 and not read_listed:
        return
    outside = read_listed - write_listed if write_share < 100 else frozenset()
    # A creator USE_MONGO denies must be denied reads too (or not be in the read cohort at all).
    write_rule, read_rule = after[Flag.USE_MONGO], after[Flag.READ_FROM_MONGO]
    unwritten = (write_rule.deny if write_rule else frozenset()) - (read_rule.deny if read_rule else frozenset())
    if read_share > write_share or outside or unwritten:
        raise Conflict(
            "READ_FROM_MONGO would reach creators USE_MONGO does not write for: "
            f"reads {read_share:g}% (+{len(read_listed)} listed), "
            f"writes {write_share:g}% (+{len(write_listed)} listed)",
            detail=[{"field": "mode", "reason": "USE_MONGO must cover READ_FROM_MONGO's cohort first"}],
        )
    if read_share > verified_cohort(db) or read_listed:
        raise Conflict(
            f"READ_FROM_MONGO at {read_share:g}%: the backfill is verified for {verified_cohort(db):g}% of creators "
            "(run `veri migrate verify`)",
            detail=[{"field": "mode", "reason": "the backfill must be verified for this cohort first"}],
        )
    needed = cutover_reads
    pending = {path: streak for path, (streak, ready) in path_readiness(db, needed).items() if not ready}
    if pending:
        raise Conflict(
            "READ_FROM_MONGO cannot serve reads yet: "
            + "; ".join(
                f"{path} has {streak} of {needed} shadow reads in a row without a mismatch"
                for path, streak in pending.items()
            ),
            detail=[{"field": "mode", "reason": "shadow-read every path without mismatches first"}],
        )


def set_flag(
    db: Session, *, principal: Principal, name: str, data: FlagRuleIn, cutover_reads: int | None = None
) -> FlagRule | None:
    """Set `name`'s rule, audited; refused (409) when it breaks a prerequisite. A cutover needs
    every read path's shadow reads `cutover_reads` in a row without a mismatch (the settings'
    `mongo_cutover_reads` by default)."""
    if not principal.is_admin:
        raise Forbidden("only an admin changes flags")
    try:
        flag = Flag(name)
    except ValueError:
        raise Invalid("name", f"{name!r} is not a flag ({', '.join(f.value for f in Flag)})") from None
    rows = {r.flag: r for r in db.scalars(select(FlagRule).with_for_update())}
    current = rows.get(flag.value)
    old = _as_dict(current)
    if data.mode == "default":
        new_rule = None
    else:
        if data.shadow and flag is not Flag.READ_FROM_MONGO:
            raise Invalid("shadow", "only READ_FROM_MONGO has a shadow mode")
        new_rule = Rule(
            data.mode, data.percent, frozenset(data.allow), frozenset(data.deny), data.kill, shadow=data.shadow
        )
    if not data.kill:  # the kill switch is always allowed: it only turns things off
        _check_prerequisites(
            db,
            flag,
            new_rule,
            {f: _rule(rows.get(f.value)) for f in Flag},
            cutover_reads=cutover_reads or get_settings().mongo.mongo_cutover_reads,
        )
    if new_rule is None:
        if current is not None:
            db.delete(current)
        row = None
    else:
        row = current or FlagRule(flag=flag.value, version=0)
        row.mode, row.percent = data.mode, data.percent
        row.allow, row.deny, row.kill, row.shadow = list(data.allow), list(data.deny), data.kill, data.shadow
        row.version = (row.version or 0) + 1
        row.updated_by, row.updated_at = principal.actor, utcnow()
        db.add(row)
    db.flush()
    db.add(
        FlagChange(
            flag=flag.value,
            actor=principal.actor,
            reason=data.reason,
            old=old,
            new=_as_dict(row) or {"mode": "default"},
        )
    )
    db.flush()
    return row


def flag_history(db: Session, *, principal: Principal, name: str, limit: int = 100) -> list[FlagChange]:
    if not principal.is_admin:
        raise Forbidden("only an admin reads the flags' history")
    try:
        flag = Flag(name)
    except ValueError:
        raise Invalid("name", f"{name!r} is not a flag") from None
    return list(
        db.scalars(
            select(FlagChange).where(FlagChange.flag == flag.value).order_by(FlagChange.changed_at.desc()).limit(limit)
        )
    )


def recent_changes(db: Session, limit: int = 10) -> list[FlagChange]:
    return list(db.scalars(select(FlagChange).order_by(FlagChange.changed_at.desc()).limit(limit)))


def flags_out(db: Session) -> list[dict[str, Any]]:
    """Every flag with its effective state in this process, its source and its runtime rule."""
    rows = {r.flag: r for r in db.scalars(select(FlagRule))}
    return [
        {
            "name": f.flag.value,
            "enabled": f.enabled,
            "source": "runtime" if f.flag.value in rows else f.source,
            "description": f.description,
            "rule": _as_dict(rows.get(f.flag.value)),
        }
        for f in all_flags()
    ]
