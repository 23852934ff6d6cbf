"""Admin API: the feature flags, their runtime rules and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from veri.admin import flags as flag_service
from veri.dependencies import DbSession, SettingsDep
from veri.identity.deps import AdminPrincipal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class FlagOut(BaseModel):
    name: str
    enabled: bool
    source: str  # runtime | environment | default
    description: str
    rule: dict[str, Any] | None = None


class FlagChangeOut(BaseModel):
    flag: str
    actor: str
    reason: str
    old: dict[str, Any] | None
    new: dict[str, Any]
    changed_at: datetime


@router.get("/flags", response_model=list[FlagOut])
def list_flags(principal: AdminPrincipal, db: DbSession) -> list[FlagOut]:
    """Every flag: its state in this process (for no particular creator), its source, its rule."""
    return [FlagOut(**f) for f in flag_service.flags_out(db)]


@router.put("/flags/{name}", response_model=FlagOut)
def set_flag(
    name: str, data: flag_service.FlagRuleIn, principal: AdminPrincipal, db: DbSession, settings: SettingsDep
) -> FlagOut:
    """Set a flag's runtime rule (every process follows within a second), audited with the reason;
    `mode: default` hands the flag back to the environment. A change that breaks a prerequisite
    is refused (409) with the reason."""
    flag_service.set_flag(
        db, principal=principal, name=name, data=data, cutover_reads=settings.mongo.mongo_cutover_reads
    )
    return next(FlagOut(**f) for f in flag_service.flags_out(db) if f["name"] == name)


@router.get("/flags/{name}/history", response_model=list[FlagChangeOut])
def flag_history(name: str, principal: AdminPrincipal, db: DbSession) -> list[FlagChangeOut]:
    return [
        FlagChangeOut(flag=c.flag, actor=c.actor, reason=c.reason, old=c.old, new=c.new, changed_at=c.changed_at)
        for c in flag_service.flag_history(db, principal=principal, name=name)
    ]
