"""Connector pages: the profile's connect / reconnect / disconnect / sync-now buttons, the address
the platforms send people back to, and the operators' connectors page."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from veri.connectors import service
from veri.connectors.deps import Runtime, binding_of, redirect_uri
from veri.connectors.schemas import PLATFORM_NAMES, ConnectablePlatform
from veri.dependencies import DbSession
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import AdminPrincipal, CreatorPrincipal
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])

OAuthParam = Annotated[str | None, Query(max_length=2048)]


@router.post("/creator/connections/{platform}/connect")
def connect(
    platform: ConnectablePlatform, request: Request, principal: CreatorPrincipal, db: DbSession, runtime: Runtime
) -> Response:
    """Off to the platform's consent page (connect, or reconnect: the same flow)."""
    url, _ = service.start_connection(
        db,
        principal=principal,
        platform=platform.platform,
        binding=binding_of(request),
        redirect_uri=redirect_uri(request, platform.value),
        runtime=runtime,
    )
    return RedirectResponse(url, status_code=303)


@router.get("/connectors/{platform}/callback")
def callback(
    platform: ConnectablePlatform,
    request: Request,
    principal: CreatorPrincipal,
    db: DbSession,
    runtime: Runtime,
    state: OAuthParam = None,
    code: OAuthParam = None,
    error: OAuthParam = None,
) -> Response:
    """Where the platform sends the creator back after the consent page."""
    claim = service.claim_state(
        db,
        principal=principal,
        platform=platform.platform,
        state=state or "",
        binding=binding_of(request),
        runtime=runtime,
    )
    db.commit()  # the state is used up whatever the platform answers next
    account = service.finish_connection(db, principal=principal, claim=claim, code=code, error=error, runtime=runtime)
    name = PLATFORM_NAMES[platform.value]
    return redirect("/creator/profile", flash=f"{name} account {account.handle} connected: its posts are syncing.")


@router.post("/creator/connections/{account_id}/disconnect")
def disconnect(account_id: uuid.UUID, principal: CreatorPrincipal, db: DbSession, runtime: Runtime) -> Response:
    service.disconnect(db, principal=principal, account_id=account_id, runtime=runtime)
    return redirect("/creator/profile", flash="Disconnected: Veri's access was revoked and syncing stopped.")


@router.post("/creator/connections/{account_id}/sync")
def sync_now(account_id: uuid.UUID, principal: CreatorPrincipal, db: DbSession) -> Response:
    service.request_sync(db, principal=principal, account_id=account_id)
    return redirect("/creator/profile", flash="Syncing now: new posts and numbers appear in a few seconds.")


@router.get("/admin/connectors", response_class=HTMLResponse)
def admin_page(request: Request, principal: AdminPrincipal, db: DbSession, runtime: Runtime) -> Response:
    webhooks, failing = service.recent_activity(db)
    return render(
        request,
        "admin_connectors.html",
        principal,
        overview=service.overview(db, runtime=runtime).platforms,
        configured=[p.value for p in runtime.connectors.platforms],
        webhooks=webhooks,
        failing=failing,
        names=PLATFORM_NAMES,
    )
