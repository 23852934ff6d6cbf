"""CSRF protection by double submit: a random token in a cookie that a cross-site page can
neither read nor set, echoed by every unsafe request in a form field or the X-CSRF-Token header.

Forms always need it. JSON API calls need it only when they authenticate with the session
cookie; API-key clients send no cookie and are not exposed to CSRF.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from veri.errors import Forbidden
from veri.identity.security import new_token, tokens_equal

__all__ = ["CSRF_FIELD", "CSRF_HEADER", "check_csrf", "csrf_cookie_middleware", "verify_form_csrf"]

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


async def csrf_cookie_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    settings = request.app.state.settings.security
    existing = request.cookies.get(settings.csrf_cookie)
    request.state.csrf_token = existing or new_token(24)
    response = await call_next(request)
    rotated = getattr(request.state, "csrf_rotated", None)
    if existing is None or rotated:
        response.set_cookie(
            settings.csrf_cookie,
            rotated or request.state.csrf_token,
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
        )
    return response


def rotate_csrf(request: Request) -> str:
    """Called on log-in and log-out, so a token planted before log-in is useless after it."""
    token = new_token(24)
    request.state.csrf_rotated = token
    request.state.csrf_token = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(request.app.state.settings.security.csrf_cookie)
    if not cookie or not submitted or not tokens_equal(cookie, submitted):
        raise Forbidden("CSRF token missing or wrong: reload the page and try again")


async def verify_form_csrf(request: Request) -> None:
    """Router dependency for HTML pages: every unsafe request carries the token."""
    if request.method in SAFE_METHODS:
        return
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    check_csrf(request, submitted)
