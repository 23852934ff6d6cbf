"""Live updates and notifications API: the person's own event stream (SSE) and their
notification centre (list, unread count, mark one or all read)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from veri.db.engine import Database
from veri.dependencies import DbSession
from veri.errors import Unauthorized
from veri.identity.deps import CurrentPrincipal, get_optional_principal, get_session_store
from veri.live import service
from veri.live.hub import DELIVERY, LiveHub, frame
from veri.live.schemas import NotificationOut, ReadAllOut, UnreadCountOut
from veri.pagination import Page, Paging

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["notifications"])

HEARTBEAT = b": keep-alive\n\n"
# The first event of every stream: it is open, and this many notifications are unread.
HELLO = "live.hello"
# How long a browser waits before it reconnects a stream that ended or broke.
RETRY = b"retry: 2000\n\n"


def _unread(database: Database, user_id: uuid.UUID) -> int:
    with database.sessions() as db:
        return service.unread_count(db, user_id=user_id)


def _who(request: Request) -> uuid.UUID:
    """The logged-in person, in a session of its own that is closed before the stream starts.

    Not the `CurrentPrincipal` dependency: its session is closed by another trip through the
    thread pool, and when a thousand pages reconnect at once (a restart) every pool thread can
    end up waiting for a database connection that only such a trip would give back."""
    with request.app.state.db.sessions() as db:
        principal = get_optional_principal(request, db, get_session_store(request, db))
    if principal is None:
        raise Unauthorized("log in first")
    return principal.user.id


async def _events(hub: LiveHub, database: Database, user_id: uuid.UUID) -> AsyncIterator[bytes]:
    subscription = await hub.subscribe(user_id)
    try:
        # Subscribed first, counted second: a notification between the two is not lost.
        unread = await run_in_threadpool(_unread, database, user_id)
        yield RETRY + frame(HELLO, {"unread": unread})
        loop = subscription.loop
        deadline = loop.time() + hub.stream_seconds
        while (left := deadline - loop.time()) > 0:
            chunk = await subscription.next(min(hub.heartbeat_seconds, left))
            if chunk is None:
                yield HEARTBEAT
            elif not chunk:
                return  # the hub is stopping
            else:
                yield chunk
                DELIVERY.observe(time.monotonic() - subscription.received_at)  # written: it is out
    finally:
        hub.unsubscribe(subscription)


# Not in the OpenAPI document: an endless stream is no operation a generated client (or the
# fuzzer) can call and validate. Documented in docs/live.md.
@router.get("/live", include_in_schema=False)
async def live_stream(request: Request) -> StreamingResponse:
    """The logged-in person's live updates, as server-sent events: each `data:` line is
    `{"kind": ..., "data": {...}}`; the first is `live.hello` with the unread count; a comment line every
    15 s keeps proxies from closing it; it ends after 5 minutes and the browser reconnects."""
    user_id = await run_in_threadpool(_who, request)
    hub: LiveHub = request.app.state.live
    return StreamingResponse(
        _events(hub, request.app.state.db, user_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/notifications", response_model=Page[NotificationOut])
def list_notifications(
    principal: CurrentPrincipal, db: DbSession, paging: Paging, unread: bool = False
) -> Page[NotificationOut]:
    rows, total = service.list_notifications(
        db, principal=principal, unread_only=unread, limit=paging.limit, offset=paging.offset
    )
    items = [NotificationOut.model_validate(n) for n in rows]
    return Page[NotificationOut](items=items, total=total, **paging.model_dump())


@router.get("/notifications/unread-count", response_model=UnreadCountOut)
def unread_count(principal: CurrentPrincipal, db: DbSession) -> UnreadCountOut:
    return UnreadCountOut(unread=service.unread_count(db, user_id=principal.user.id))


@router.post("/notifications/read-all", response_model=ReadAllOut)
def mark_all_read(principal: CurrentPrincipal, db: DbSession) -> ReadAllOut:
    marked = service.mark_all_read(db, principal=principal)
    return ReadAllOut(marked=marked, unread=service.unread_count(db, user_id=principal.user.id))


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
def mark_read(notification_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> NotificationOut:
    return NotificationOut.model_validate(service.mark_read(db, principal=principal, notification_id=notification_id))
