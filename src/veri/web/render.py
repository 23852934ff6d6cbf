"""Rendering pages: one Jinja2 environment, the layout's context, flash messages."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from veri.identity.principal import Principal

__all__ = ["redirect", "render", "render_error", "templates"]

FLASH_COOKIE = "veri_flash"

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _money(cents: int | None, currency: str = "USD") -> str:
    if cents is None:
        return "-"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{cents / 100:,.0f}" if cents % 100 == 0 else f"{symbol}{cents / 100:,.2f}"


def _compact(number: int | None) -> str:
    if number is None:
        return "-"
    for threshold, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(number) >= threshold:
            return f"{number / threshold:.1f}".rstrip("0").rstrip(".") + suffix
    return str(number)


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


templates.env.filters["money"] = _money
templates.env.filters["compact"] = _compact
templates.env.filters["when"] = _when


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    raw_flash = request.cookies.get(FLASH_COOKIE)
    flash = unquote(raw_flash)[:300] if raw_flash else None
    response = templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "csrf_token": request.state.csrf_token,
            "flash": flash,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, *, flash: str | None = None) -> RedirectResponse:
    """After a successful form post: see-other, with an optional one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash), max_age=60, httponly=True, samesite="lax", path="/")
    return response


def render_error(request: Request, status_code: int, message: str) -> HTMLResponse:
    """An error page that keeps the logged-in header: the person is still who they were."""
    if not hasattr(request.state, "csrf_token"):
        request.state.csrf_token = ""  # no token: the error page posts no form  # nosec B105
    # Resolved again in a session of its own: the request's session was rolled back by the error.
    principal = _principal_of(request)
    return render(request, "error.html", principal, status_code=status_code, status=status_code, message=message)


def _principal_of(request: Request) -> Principal | None:
    """Who the session cookie says this is; nobody when that cannot be told."""
    if request.app.state.settings.security.session_cookie not in request.cookies:
        return None
    from veri.identity.deps import get_optional_principal, get_session_store

    try:
        with request.app.state.db.sessions() as db:
            return get_optional_principal(request, db, get_session_store(request, db))
    except Exception:
        return None
