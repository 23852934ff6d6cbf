"""Structured logs (structlog, JSON lines) and Prometheus metrics for HTTP requests."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from veri.db.engine import Database

__all__ = ["configure_logging", "loggable_path", "metrics_response", "record_request"]

# Keys never written to a log line, whatever a caller passes.
_SECRET_KEYS = {
    "password",
    "new_password",
    "current_password",
    "token",
    "api_key",
    "secret",
    "access_token",
    "refresh_token",
    "code_verifier",
    "client_secret",
}

# HTTP client libraries log every request's full URL (at INFO: httpx; at DEBUG: urllib3), and some
# platforms take credentials in the query string: Instagram's token exchange and refresh carry the
# access token and the client secret there. Veri logs its outbound calls itself (connector_round,
# token_refreshed, payout_sent ...): these loggers keep to warnings whatever the root level is.
_URL_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "urllib3")

REQUESTS = Counter("veri_http_requests_total", "HTTP requests handled", ["method", "route", "status"])
LATENCY = Histogram(
    "veri_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in _SECRET_KEYS & event.keys():
        event[key] = "[redacted]"
    return event


class _CurrentStderr:
    """Resolve sys.stderr at every write, so redirected streams (tests, daemons) get the logs."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    for name in _URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def _route_template(request: Request) -> str:
    """Label metrics by route template, not by raw path, so ids neither leak into the series nor
    grow them without bound. The router leaves the matched route (or mount) in the scope."""
    template = getattr(request.scope.get("route"), "path", None)
    return str(template) if template else "unmatched"


# Path parameters that are credentials (a password-reset link's token): a log line shows the
# route template instead of the path that carries them.
_SECRET_PATH_PARAMS = {"token"}


# ...and paths that look like one whether or not a route matched them (a mistyped link, a
# trailing slash redirected) show only their start.
_SECRET_PATH_PREFIXES = ("/password/reset/",)


def loggable_path(request: Request) -> str:
    """The request's path as a log line may show it."""
    path = request.url.path
    if _SECRET_PATH_PARAMS & request.scope.get("path_params", {}).keys():
        return _route_template(request)
    for prefix in _SECRET_PATH_PREFIXES:
        if path.startswith(prefix):
            return prefix + "{token}"
    return path


# Asset and probe requests are counted in /metrics but not logged one by one.
_UNLOGGED = {"/metrics", "/healthz", "/static", "/vendor/swagger", "/vendor/plotly.min.js"}


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_of(request: Request) -> str:
    """The caller's X-Request-ID when it is a sane token (a proxy's trace id), else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


async def record_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Time and count the request, and give it an id that every log line of it carries and the
    response returns (X-Request-ID)."""
    request_id = request_id_of(request)
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    response.headers["X-Request-ID"] = request_id
    elapsed = time.perf_counter() - started
    route = _route_template(request)
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(elapsed)
    if route not in _UNLOGGED:
        structlog.get_logger("veri.http").info(
            "request",
            method=request.method,
            path=loggable_path(request),
            status=response.status_code,
            ms=round(elapsed * 1000, 1),
            request_id=request_id,
        )
    return response


CONSUMER_LAG = Gauge("veri_consumer_lag", "Events not yet consumed, per group and partition", ["group", "partition"])
OUTBOX_EVENTS = Gauge("veri_outbox_events", "Events in the log (the outbox)")
DEAD_LETTERS = Gauge("veri_dead_letters_open", "Dead letters not yet replayed, per group", ["group"])


def _refresh_pipeline_gauges(database: Database) -> None:
    """Workers write their lag to the database; every API process exports what they wrote."""
    from veri.events.service import pipeline_status

    with database.sessions() as db:
        status = pipeline_status(db)
    for row in status.lag:
        CONSUMER_LAG.labels(row.group, str(row.partition)).set(row.lag)
    OUTBOX_EVENTS.set(status.events)
    DEAD_LETTERS.clear()
    for group, count in status.dead_letters_by_group.items():
        DEAD_LETTERS.labels(group).set(count)


def metrics_response(database: Database | None = None) -> Response:
    if database is not None:
        try:
            _refresh_pipeline_gauges(database)
        except Exception as exc:  # metrics must answer even when the database does not
            structlog.get_logger(__name__).warning("pipeline_gauges_failed", error=str(exc))
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
