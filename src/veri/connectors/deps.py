"""Request dependencies of the connectors' routes and pages: the process's runtime, what binds a
connection's `state` to the session that started it, and the callback address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from veri.connectors.service import ConnectorRuntime

__all__ = ["Runtime", "binding_of", "raw_body", "redirect_uri"]


def get_runtime(request: Request) -> ConnectorRuntime:
    runtime: ConnectorRuntime = request.app.state.connectors
    return runtime


Runtime = Annotated[ConnectorRuntime, Depends(get_runtime)]


def binding_of(request: Request) -> str:
    """The session (its cookie) or the API key (its bearer) the request came with; the service
    keeps only a hash of it with the person's id."""
    token = getattr(request.state, "session_token", None)
    if token:
        return f"session:{token}"
    authorization = request.headers.get("authorization", "")
    return f"key:{authorization[7:].strip()}" if authorization.lower().startswith("bearer ") else "none"


def redirect_uri(request: Request, platform: str) -> str:
    """Where the platform sends the person back: the configured public address of Veri, else the
    address this request reached."""
    base = request.app.state.settings.connectors.connector_public_url or str(request.base_url)
    return f"{base.rstrip('/')}/connectors/{platform}/callback"


async def raw_body(request: Request) -> bytes:
    """The body exactly as sent (a webhook's signature covers these bytes)."""
    return await request.body()
