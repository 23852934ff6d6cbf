"""Connectors API: start a connection (the consent URL), finish it (code and state), list the
connections with their sync progress, sync now, disconnect, the platforms' webhooks, and the
operators' overview. No response carries a token."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from veri.connectors import service
from veri.connectors.deps import Runtime, binding_of, raw_body, redirect_uri
from veri.connectors.schemas import (
    CallbackIn,
    ConnectablePlatform,
    ConnectionOut,
    ConnectorsOverviewOut,
    StartOut,
    WebhookOut,
)
from veri.dependencies import DbSession
from veri.identity.deps import AdminPrincipal, CreatorPrincipal, CurrentPrincipal

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["connectors"])


@router.get("/connectors/accounts", response_model=list[ConnectionOut])
def list_connections(principal: CurrentPrincipal, db: DbSession) -> list[ConnectionOut]:
    """The creator's social accounts with their connection and sync progress (an admin: all)."""
    return service.connections(db, principal=principal)


@router.post("/connectors/{platform}/start", response_model=StartOut)
def start(
    platform: ConnectablePlatform, request: Request, principal: CreatorPrincipal, db: DbSession, runtime: Runtime
) -> StartOut:
    """The platform's consent page to send the creator to; its `state` works once, for this
    session, for a few minutes."""
    url, expires_at = service.start_connection(
        db,
        principal=principal,
        platform=platform.platform,
        binding=binding_of(request),
        redirect_uri=redirect_uri(request, platform.value),
        runtime=runtime,
    )
    return StartOut(authorize_url=url, expires_at=expires_at)


@router.post("/connectors/{platform}/callback", response_model=ConnectionOut)
def callback(
    platform: ConnectablePlatform,
    data: CallbackIn,
    request: Request,
    principal: CreatorPrincipal,
    db: DbSession,
    runtime: Runtime,
) -> ConnectionOut:
    """Finish a connection with what the platform put on the redirect (`code`, `state`, or `error`)."""
    claim = service.claim_state(
        db,
        principal=principal,
        platform=platform.platform,
        state=data.state,
        binding=binding_of(request),
        runtime=runtime,
    )
    db.commit()  # the state is used up whatever the platform answers next
    account = service.finish_connection(
        db, principal=principal, claim=claim, code=data.code, error=data.error, runtime=runtime
    )
    return service.connection_of(db, account)


@router.post(
    "/connectors/accounts/{account_id}/sync", status_code=status.HTTP_202_ACCEPTED, response_model=ConnectionOut
)
def sync_now(account_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> ConnectionOut:
    """Ask the worker to sync this account now (it answers within seconds)."""
    return service.request_sync(db, principal=principal, account_id=account_id)


@router.delete("/connectors/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def disconnect(account_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, runtime: Runtime) -> None:
    """Revoke Veri's access at the platform and stop syncing; the account stays, disconnected."""
    service.disconnect(db, principal=principal, account_id=account_id, runtime=runtime)


@router.post("/connectors/{platform}/webhook", response_model=WebhookOut)
def webhook(
    platform: ConnectablePlatform,
    request: Request,
    body: Annotated[bytes, Depends(raw_body)],
    db: DbSession,
    runtime: Runtime,
) -> WebhookOut:
    """A platform's notice that accounts have something new. Signed: `Webhook-Signature:
    sha256=<HMAC-SHA256(secret, "<Webhook-Timestamp>." + body)>`; a bad signature is 403, a stale
    timestamp 400, a repeated `Webhook-Id` changes nothing."""
    return service.receive_webhook(db, platform=platform.platform, headers=request.headers, body=body, runtime=runtime)


@router.get("/admin/connectors", response_model=ConnectorsOverviewOut)
def admin_overview(principal: AdminPrincipal, db: DbSession, runtime: Runtime) -> ConnectorsOverviewOut:
    """Per platform: accounts connected and revoked, due, failing, posts and snapshots synced."""
    return service.overview(db, runtime=runtime)
