"""The FastAPI application factory: routers, error mapping, health, metrics, static files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fastapi_offline
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from veri import __version__, flags, wiring
from veri.config import Settings, get_settings
from veri.db.engine import Database, open_database
from veri.errors import Conflict, Unauthorized, VeriError
from veri.identity.csrf import csrf_cookie_middleware
from veri.identity.deps import MetricsReader
from veri.identity.ratelimit import PostgresRateLimiter, RedisRateLimiter
from veri.observability import configure_logging, loggable_path, metrics_response, record_request
from veri.web.edge import EmptyQueryValuesMeanNoFilter, SecurityHeaders, reject_nul_characters

__all__ = ["create_app"]

log = structlog.get_logger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"
# Swagger UI's bundle as the fastapi-offline wheel ships it: the docs page needs no CDN.
SWAGGER_DIR = Path(fastapi_offline.__file__).parent / "static"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", "")


def _error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if detail is not None:
        body["detail"] = detail
    return body


# A body with a hundred thousand unknown keys has as many errors: the answer names the first
# ones and counts the rest, so it stays small whatever was sent.
MAX_FIELD_ERRORS = 20


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    errors = exc.errors()
    out = []
    for error in errors[:MAX_FIELD_ERRORS]:
        location = [str(part)[:100] for part in error.get("loc", ())]
        if location and location[0] in {"body", "query", "path"} and len(location) > 1:
            location = location[1:]
        out.append({"field": ".".join(location) or "body", "reason": str(error.get("msg", "invalid"))})
    if len(errors) > MAX_FIELD_ERRORS:
        out.append({"field": "body", "reason": f"and {len(errors) - MAX_FIELD_ERRORS} more errors"})
    return out


_UNIQUE_VIOLATION, _FOREIGN_KEY_VIOLATION = "23505", "23503"


def _constraint_of(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def _conflict_of(exc: IntegrityError) -> Conflict | None:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate == _UNIQUE_VIOLATION:
        return Conflict("this already exists (another request just created it): reload and try again")
    if sqlstate == _FOREIGN_KEY_VIOLATION:
        return Conflict("this refers to something that no longer exists: reload and try again")
    return None


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _install_error_handlers(app: FastAPI) -> None:
    from veri.web.render import render_error

    @app.exception_handler(VeriError)
    async def veri_error(request: Request, exc: VeriError) -> Response:
        if _wants_json(request):
            return JSONResponse(
                _error_body(exc.code, exc.message, exc.detail),
                status_code=exc.status_code,
                headers=exc.headers,
            )
        if isinstance(exc, Unauthorized):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return render_error(request, exc.status_code, exc.message)

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # Services check before they write, but two requests can pass the check together (two
        # sign-ups with one email, two applications to one campaign): the database's constraint
        # decides, and the loser is told the truth, a conflict. Other violations are our bugs.
        conflict = _conflict_of(exc)
        if conflict is None:
            raise exc
        log.info("write_conflict", path=loggable_path(request), constraint=_constraint_of(exc))
        return await veri_error(request, conflict)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = _field_errors(exc)
        message = "; ".join(f"{f['field']}: {f['reason']}" for f in fields[:5])
        if _wants_json(request):
            return JSONResponse(_error_body("invalid", message, fields), status_code=422)
        return render_error(request, 422, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 413:
            message = f"the request body is larger than {request.app.state.settings.max_body_bytes} bytes"
        if _wants_json(request):
            code = _HTTP_CODES.get(exc.status_code, "http_error")
            return JSONResponse(_error_body(code, message), status_code=exc.status_code, headers=exc.headers)
        return render_error(request, exc.status_code, message)


# While a store is down (PostgreSQL restarting, Redis stopped) the client is told to come back:
# a 503 with Retry-After, not a 500 that reads as a bug nor a request left hanging.
RETRY_AFTER_SECONDS = 5


def _dependency_down(exc: BaseException) -> str | None:
    """The store an exception says is unreachable (its connection refused, lost or timed out), or None."""
    import psycopg
    import redis.exceptions
    from sqlalchemy.exc import DBAPIError

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and (
            current.connection_invalidated or isinstance(current.orig, psycopg.OperationalError)
        ):
            return "database"
        if isinstance(current, psycopg.OperationalError):
            return "database"
        if isinstance(current, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
            return "redis"
        current = current.__cause__ or current.__context__
    return None


async def _catch_unexpected(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """A bug answers a clean 500 with the request id, logged once here; the exception is not
    re-raised to the server, which would drop the client's keep-alive connection. A store that
    is down answers 503 with Retry-After."""
    try:
        return await call_next(request)
    except Exception as exc:
        down = _dependency_down(exc)
        if down is not None:
            log.warning("dependency_down", dependency=down, path=loggable_path(request), error=type(exc).__name__)
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            message = f"the {down} is unavailable; try again in a few seconds"
            if _wants_json(request):
                return JSONResponse(_error_body("unavailable", message), status_code=503, headers=headers)
            from veri.web.render import render_error

            page = render_error(request, 503, message[0].upper() + message[1:] + ".")
            page.headers.update(headers)
            return page
        request_id = structlog.contextvars.get_contextvars().get("request_id", "")
        log.exception("unhandled_error", method=request.method, path=loggable_path(request))
        message = f"something went wrong on our side (request id {request_id})"
        if _wants_json(request):
            return JSONResponse(_error_body("internal", message, {"request_id": request_id}), status_code=500)
        from veri.web.render import render_error

        return render_error(request, 500, message[0].upper() + message[1:] + ".")


def _bus_status(settings: Settings) -> str:
    """The broker answers on its port (Kafka bus), or the log is the database's (embedded)."""
    if settings.events.event_bus != "kafka":
        return "ok: embedded log"
    import socket

    for address in settings.events.kafka_bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.5):
                return "ok"
        except (OSError, ValueError):
            continue
    return "degraded: broker unreachable (events wait in the outbox)"


def _llm_status(agent: Any) -> str:
    """The agent's provider: offline, or Claude and its circuit breaker's state."""
    breaker = getattr(getattr(agent, "provider", None), "breaker", None)
    if breaker is None:
        return "ok: offline answers"
    state = str(breaker.state)
    return "ok" if state == "closed" else f"degraded: circuit {state} (answering offline)"


class ErrorOut(BaseModel):
    """Every error Veri answers: a code, a sentence, and (for invalid input) each field with why."""

    error: str
    message: str
    detail: list[dict[str, Any]] | dict[str, Any] | None = None


def _document_errors(app: FastAPI) -> None:
    """FastAPI documents its own 422 body; Veri's handler answers `ErrorOut` instead, so the
    OpenAPI document says so (clients and the fuzzer validate against it)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["HTTPValidationError"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
            components["HTTPValidationError"]["title"] = "ErrorOut"
            components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the app. Tests pass their own `database`; otherwise it is opened at start-up
    (the embedded server when `VERI_DATABASE_URL` is unset) and migrated to head."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        db = database or open_database(settings)
        if owned:
            from veri.db.migrate import upgrade

            upgrade(db.engine)
        db.detect_capabilities()
        app.state.db = db
        app.state.redis = wiring.redis_client(settings)
        from veri.analytics.cache import AnalyticsCache

        app.state.analytics_cache = AnalyticsCache(app.state.redis) if app.state.redis is not None else None
        app.state.handlers = wiring.handlers(settings, app.state.redis)
        app.state.live = live = wiring.live(settings, db, app.state.redis)
        flags.install(db)  # runtime rules of the feature flags, read at most every half second
        from veri.scoring.boards import Leaderboards

        app.state.leaderboards = Leaderboards(app.state.redis)  # reads: Redis when healthy, else Postgres
        from veri.memory.embeddings import warm_up
        from veri.memory.service import hybrid_search_enabled

        app.state.embedder = wiring.embedder(settings)
        if hybrid_search_enabled(app.state.embedder):
            warm_up(app.state.embedder)  # the first search should not wait for the model to load
        app.state.rate_limiter = (
            RedisRateLimiter(app.state.redis) if app.state.redis is not None else PostgresRateLimiter(db.engine)
        )
        app.state.agent = wiring.agent(settings, db, app.state.embedder)
        app.state.payouts = wiring.payout_provider(settings)  # Stripe Connect, or offline
        from veri.recommend.registry import ServingModel

        app.state.serving_model = ServingModel()  # the ROI model, loaded on first use
        from veri.migration.shadow import DocumentReads

        # The read paths that may move to Mongo: Postgres answers unless READ_FROM_MONGO says otherwise.
        app.state.reads = reads = DocumentReads(
            db, wiring.document_store(settings), cutover_reads=settings.mongo.mongo_cutover_reads
        )
        log.info(
            "app_started",
            version=__version__,
            database=db.engine.url.render_as_string(),
            redis=bool(app.state.redis),
        )
        try:
            yield
        finally:
            flags.uninstall(db)
            reads.close()
            live.close()  # this start's own (a test may start the app twice at once)
            if app.state.redis is not None:
                app.state.redis.close()
            if owned:
                db.dispose()

    app = FastAPI(
        title="Veri",
        version=__version__,
        description=("Memory-driven creator monetization: accounts, creators, brands, campaigns, deals and content."),
        lifespan=lifespan,
        dependencies=[Depends(reject_nul_characters)],
        # Larger bodies are a 413 before they are read, announced or streamed.
        max_body_size=settings.max_body_bytes,
        docs_url=None,  # served below with Swagger UI's assets from this origin
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.settings = settings
    # The social platforms' adapters and the token cipher (no connection is opened until used).
    app.state.connectors = wiring.connectors(settings)
    # Outermost last: headers on every response, then the edge's limits, then the request's log
    # line and id, then the guard that turns a bug into a clean 500.
    app.middleware("http")(csrf_cookie_middleware)
    app.middleware("http")(_catch_unexpected)
    app.middleware("http")(record_request)
    app.add_middleware(EmptyQueryValuesMeanNoFilter)
    app.add_middleware(SecurityHeaders, production=settings.env == "production")
    _install_error_handlers(app)

    from veri.accounts import pages as account_pages
    from veri.accounts import routes as account_routes
    from veri.admin import event_routes
    from veri.admin import migration as migration_routes
    from veri.admin import pages as admin_pages
    from veri.admin import routes as admin_routes
    from veri.agent import pages as agent_pages
    from veri.agent import routes as agent_routes
    from veri.analytics import pages as analytics_pages
    from veri.analytics import routes as analytics_routes
    from veri.brands import routes as brand_routes
    from veri.campaigns import pages as campaign_pages
    from veri.campaigns import routes as campaign_routes
    from veri.connectors import pages as connector_pages
    from veri.connectors import routes as connector_routes
    from veri.content import routes as content_routes
    from veri.creators import pages as creator_pages
    from veri.creators import routes as creator_routes
    from veri.deals import pages as deal_pages
    from veri.deals import routes as deal_routes
    from veri.ledger import pages as ledger_pages
    from veri.ledger import routes as ledger_routes
    from veri.live import pages as live_pages
    from veri.live import routes as live_routes
    from veri.memory import pages as memory_pages
    from veri.memory import routes as memory_routes
    from veri.recommend import routes as recommend_routes
    from veri.scoring import board_routes, progress_pages
    from veri.scoring import pages as scoring_pages
    from veri.scoring import routes as scoring_routes
    from veri.tasks import pages as task_pages
    from veri.tasks import routes as task_routes

    for module in (
        account_routes,
        creator_routes,
        brand_routes,
        campaign_routes,
        deal_routes,
        content_routes,
        connector_routes,
        event_routes,
        analytics_routes,
        memory_routes,
        agent_routes,
        recommend_routes,
        live_routes,
        board_routes,
        task_routes,
        scoring_routes,
        ledger_routes,
        admin_routes,
        migration_routes,
        account_pages,
        creator_pages,
        connector_pages,
        campaign_pages,
        deal_pages,
        analytics_pages,
        memory_pages,
        agent_pages,
        live_pages,
        scoring_pages,
        task_pages,
        progress_pages,
        ledger_pages,
        admin_pages,
    ):
        app.include_router(module.router)

    @app.get("/healthz", tags=["operations"], include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], include_in_schema=False)
    def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            request.app.state.db.ping()
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports any failure instead of raising
            checks["database"] = f"error: {type(exc).__name__}"
        if request.app.state.redis is not None:
            try:
                request.app.state.redis.ping()
                checks["redis"] = "ok"
            except Exception as exc:
                checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        # Without these the API still serves (events wait in the outbox, the agent answers
        # offline): reported, but they do not take the process out of the load balancer.
        degraded = {"bus": _bus_status(settings), "llm": _llm_status(request.app.state.agent)}
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks | degraded},
            status_code=200 if ready else 503,
            headers={} if ready else {"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.get("/metrics", include_in_schema=False, dependencies=[MetricsReader])
    def metrics(request: Request) -> Response:
        return metrics_response(request.app.state.db)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount("/vendor/swagger", StaticFiles(directory=SWAGGER_DIR), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="Veri API",
            swagger_js_url="/vendor/swagger/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    _document_errors(app)
    return app
