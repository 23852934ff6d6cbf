"""The notification centre: the person's notifications, newest first, to open or mark read."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from veri.dependencies import DbSession
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import CurrentPrincipal
from veri.live import service
from veri.pagination import Page, Paging
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request, principal: CurrentPrincipal, db: DbSession, paging: Paging, unread: bool = False
) -> Response:
    rows, total = service.list_notifications(
        db, principal=principal, unread_only=unread, limit=paging.limit, offset=paging.offset
    )
    return render(
        request,
        "notifications.html",
        principal,
        notifications=rows,
        unread=unread,
        unread_count=service.unread_count(db, user_id=principal.user.id),
        page=Page[object](items=[], total=total, limit=paging.limit, offset=paging.offset),
    )


@router.post("/notifications/read-all", response_class=HTMLResponse)
def read_all(principal: CurrentPrincipal, db: DbSession) -> Response:
    marked = service.mark_all_read(db, principal=principal)
    return redirect("/notifications", flash=f"Marked {marked} read." if marked else "Nothing was unread.")


@router.post("/notifications/{notification_id}/read", response_class=HTMLResponse)
def read_one(notification_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    service.mark_read(db, principal=principal, notification_id=notification_id)
    return redirect("/notifications")


@router.post("/notifications/{notification_id}/open", response_class=HTMLResponse)
def open_one(notification_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    """Mark it read and go where it points (its link is always a path of this site)."""
    notification = service.mark_read(db, principal=principal, notification_id=notification_id)
    return redirect(notification.link or "/notifications")
