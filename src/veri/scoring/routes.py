"""The creator's loop over the API: their progress (points, level, streak, badges, quests,
VeriScore with its breakdown, history and ranks) and a creator's VeriScore for brands."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request

from veri.dependencies import DbSession
from veri.identity.deps import CurrentPrincipal
from veri.scoring import service

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["scores"])


@router.get("/me/progress")
def my_progress(request: Request, principal: CurrentPrincipal, db: DbSession) -> dict[str, Any]:
    """The asking creator's points, level, streak, badges, weekly quests, VeriScore and ranks."""
    return service.creator_progress(db, principal=principal, boards=getattr(request.app.state, "leaderboards", None))


@router.get("/creators/{creator_id}/veriscore")
def veriscore(creator_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> dict[str, Any]:
    """A creator's VeriScore and its breakdown (brands and admins; a creator sees their own)."""
    return service.veriscore_of(db, principal=principal, creator_id=creator_id)
