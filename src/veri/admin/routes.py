"""Admin API: the feature flags as read-only for now."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from veri.flags import all_flags
from veri.identity.deps import AdminPrincipal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class FlagOut(BaseModel):
    name: str
    enabled: bool
    source: str
    description: str


@router.get("/flags", response_model=list[FlagOut])
def list_flags(principal: AdminPrincipal) -> list[FlagOut]:
    return [
        FlagOut(name=f.flag.value, enabled=f.enabled, source=f.source, description=f.description) for f in all_flags()
    ]
