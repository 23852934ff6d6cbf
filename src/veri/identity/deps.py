"""Authentication dependencies: `CurrentPrincipal`, `OptionalPrincipal`, role guards."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated

from fastapi import Depends, Request

from veri.dependencies import DbSession
from veri.errors import Forbidden, Unauthorized
from veri.identity import service
from veri.identity.csrf import CSRF_HEADER, SAFE_METHODS, check_csrf
from veri.identity.principal import Principal
from veri.identity.ratelimit import RateLimiter
from veri.identity.security import tokens_equal
from veri.identity.sessions import PostgresSessionStore, RedisSessionStore, SessionStore
from veri.models.accounts import Role

__all__ = [
    "AdminPrincipal",
    "BrandPrincipal",
    "CreatorPrincipal",
    "CurrentPrincipal",
    "Limiter",
    "MetricsReader",
    "OptionalPrincipal",
    "Sessions",
    "require_role",
]


def get_session_store(request: Request, db: DbSession) -> SessionStore:
    settings = request.app.state.settings
    ttl = timedelta(seconds=settings.security.session_ttl_seconds)
    redis = request.app.state.redis
    if redis is not None:
        return RedisSessionStore(redis, ttl)
    return PostgresSessionStore(db, ttl)


def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


Sessions = Annotated[SessionStore, Depends(get_session_store)]
Limiter = Annotated[RateLimiter, Depends(get_rate_limiter)]


def get_optional_principal(request: Request, db: DbSession, sessions: Sessions) -> Principal | None:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        found = service.authenticate_api_key(db, secret=authorization[7:].strip())
        if found is None:
            raise Unauthorized("API key is invalid or revoked")
        key, user = found
        scopes = frozenset(key.scopes)
        needed = "read" if request.method in SAFE_METHODS else "write"
        if needed not in scopes and not (needed == "read" and "write" in scopes):
            raise Forbidden(f"this API key lacks the '{needed}' scope")
        return service.principal_for(db, user, via="api_key", scopes=scopes)

    token = request.cookies.get(request.app.state.settings.security.session_cookie)
    if not token:
        return None
    info = sessions.get(token)
    if info is None:
        return None
    session_user = service.user_by_id(db, user_id=info.user_id)
    if session_user is None or not session_user.is_active:
        return None
    if request.url.path.startswith("/api/") and request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    request.state.session_token = token
    return service.principal_for(db, session_user, via="session")


OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


def get_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise Unauthorized("log in first")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = ", ".join(role.value for role in roles)

    def guard(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"only for {allowed} accounts")
        return principal

    return guard


def require_metrics_reader(request: Request, db: DbSession, sessions: Sessions) -> None:
    """Who may read /metrics: a scraper with the configured bearer token or from a configured
    network, or an admin. The series name routes and groups, which are nobody else's business."""
    security = request.app.state.settings.security
    authorization = request.headers.get("authorization", "")
    token = security.metrics_token
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else ""
    if token is not None and bearer and tokens_equal(bearer, token.get_secret_value()):
        return  # another bearer may be an admin's API key: asked below
    host = request.client.host if request.client else ""
    if host and _in_networks(host, security.metrics_networks):
        return
    principal = get_optional_principal(request, db, sessions)
    if principal is None:
        raise Unauthorized("log in as an admin, or scrape with the metrics token")
    if principal.role is not Role.ADMIN:
        raise Forbidden("metrics are for operators")


def _in_networks(host: str, networks: list[IPv4Network | IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # not an address (a test client's made-up host)
        return False
    return any(address in network for network in networks)


MetricsReader = Depends(require_metrics_reader)

CreatorPrincipal = Annotated[Principal, Depends(require_role(Role.CREATOR))]
BrandPrincipal = Annotated[Principal, Depends(require_role(Role.BRAND))]
AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]
