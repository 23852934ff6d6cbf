"""The log-in session's cookie: open a fresh session on a response, close it, and the client's
address (as the rate limits and the session record see it)."""

from __future__ import annotations

from fastapi import Request, Response

from veri.config import Settings
from veri.identity.csrf import rotate_csrf
from veri.identity.deps import Sessions
from veri.models.accounts import User

__all__ = ["client_ip", "end_session", "start_session"]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def start_session(request: Request, response: Response, sessions: Sessions, settings: Settings, user: User) -> None:
    """Log in: a brand-new session token (never reuse one from before log-in) and CSRF token."""
    old = request.cookies.get(settings.security.session_cookie)
    if old:
        sessions.delete(old)
    token = sessions.create(user.id, ip=client_ip(request), user_agent=request.headers.get("user-agent"))
    response.set_cookie(
        settings.security.session_cookie,
        token,
        max_age=settings.security.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.security.cookie_secure,
        path="/",
    )
    rotate_csrf(request)


def end_session(request: Request, response: Response, sessions: Sessions, settings: Settings) -> None:
    token = request.cookies.get(settings.security.session_cookie)
    if token:
        sessions.delete(token)
    response.delete_cookie(settings.security.session_cookie, path="/")
    rotate_csrf(request)
