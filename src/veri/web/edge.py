"""What every request passes before a route, decided once for the whole app: an empty query value
means "no filter", no text may carry a NUL character (PostgreSQL refuses it in text and JSONB, so
it is a 422 naming the field, never a 500), and every response carries the security headers.
(The body size limit is FastAPI's own `max_body_size`, set in `veri.app`: a 413.)"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlencode

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from veri.errors import Invalid
from veri.fields import UNSTORABLE_REASON, unstorable, unstorable_paths

__all__ = ["EmptyQueryValuesMeanNoFilter", "SecurityHeaders", "policy_with_form_targets", "reject_nul_characters"]

# Scripts only from this origin (the pages have no inline script or handler); inline styles are
# allowed because Plotly and htmx set element styles. The API docs page (Swagger UI) needs its
# own inline start-up script, allowed there alone.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
_CACHEABLE_PREFIXES = ("/static/", "/vendor/")


def policy_with_form_targets(origins: list[str]) -> str:
    """The policy of a page whose forms may lead elsewhere (the connect buttons post to Veri,
    which redirects to a platform's consent page: `form-action` covers that redirect too)."""
    allowed = " ".join(o for o in origins if o.startswith(("https://", "http://")) and " " not in o and ";" not in o)
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {allowed}".rstrip())


class EmptyQueryValuesMeanNoFilter:
    """Filter forms send `status=` for "any": drop empty query values before the route reads
    them, so every optional filter treats them as absent instead of failing to parse ''."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw: bytes = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if raw and (b"=&" in raw or raw.endswith(b"=") or b"&&" in raw):
            pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
            kept = [(key, value) for key, value in pairs if value != ""]
            scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
        await self.app(scope, receive, send)


# A cheap look at the raw body before parsing it: a NUL byte, or an escaped NUL or surrogate.
_MAYBE_UNSTORABLE = re.compile(rb"\x00|\\u0000|\\u[dD][89a-fA-F]")


async def reject_nul_characters(request: Request) -> None:
    """A dependency of every route: a NUL in a query value, a form field or a JSON string is a
    422 naming the field (the first one found)."""
    for key, value in request.query_params.multi_items():
        if unstorable(key) or unstorable(value):
            raise Invalid(key.replace("\x00", ""), UNSTORABLE_REASON)
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        for key, entry in form.multi_items():
            if isinstance(entry, str) and (unstorable(key) or unstorable(entry)):
                raise Invalid(key.replace("\x00", ""), UNSTORABLE_REASON)
        return
    # Whatever the body claims to be (application/json, +json, any case): a NUL in it, escaped
    # or raw, is found and named before a route hands it to PostgreSQL.
    body = await request.body()
    if not _MAYBE_UNSTORABLE.search(body):
        return
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        parsed = body.decode("utf-8", "replace")  # not JSON (or absurdly deep): the body as text
    try:
        found = next(unstorable_paths(parsed), None)
    except RecursionError:
        raise Invalid("body", "is nested too deeply") from None
    if found is not None:
        raise Invalid(found, UNSTORABLE_REASON)


class SecurityHeaders:
    """Headers every response carries: what the browser may load and run, no framing, no MIME
    sniffing, a strict referrer; with `production`, HSTS too (the cookies are Secure there)."""

    def __init__(self, app: ASGIApp, *, production: bool, docs_path: str = "/api/docs"):
        self.app = app
        self.docs_path = docs_path
        self.common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
        ]
        if production:
            self.common.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CONTENT_SECURITY_POLICY if scope["path"] == self.docs_path else CONTENT_SECURITY_POLICY
        # Pages and API answers are someone's data (a new API key shown once, a deal): no shared
        # or back-button cache keeps them. Static assets and the docs' bundle may be cached.
        cacheable = scope["path"].startswith(_CACHEABLE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.common if k not in present]
                if b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", policy.encode()))
                if b"cache-control" not in present and not cacheable:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
