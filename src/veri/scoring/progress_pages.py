"""The creator's progress page: points and level, streak, badges, quests, the VeriScore with its
breakdown, its history as a chart and what would raise it, and their ranks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from veri.dependencies import DbSession
from veri.identity.deps import CurrentPrincipal
from veri.models.accounts import Role
from veri.scoring import service
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/progress", response_class=HTMLResponse)
def progress_page(request: Request, principal: CurrentPrincipal, db: DbSession) -> Response:
    if principal.role is not Role.CREATOR:
        return redirect("/leaderboards")
    data = service.creator_progress(db, principal=principal, boards=getattr(request.app.state, "leaderboards", None))
    return render(request, "progress.html", principal, p=data)
