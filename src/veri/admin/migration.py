"""The operator's migration page (`/admin/migration`) and its JSON twin: where the PostgreSQL ->
MongoDB migration stands, and the buttons that move it forward or roll it back. Every flag change
goes through `set_flag`, so a refusal shows its reason; backfills and verifications run as jobs
(`veri.migration.jobs`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import HTMLResponse, Response

from veri.admin import flags as flag_service
from veri.dependencies import DbSession
from veri.errors import VeriError
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import AdminPrincipal
from veri.migration import jobs
from veri.migration.documents import AGGREGATES
from veri.migration.jobs import JobIn, JobOut
from veri.migration.status import PHASES, MigrationStatus, migration_status, rollout
from veri.web.forms import form_values, parse_form
from veri.web.render import redirect, render

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from veri.identity.principal import Principal
    from veri.migration.store import DocumentStore

__all__ = ["router"]

PAGE = "/admin/migration"

pages = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])
api = APIRouter(prefix="/api/v1/admin/migration", tags=["admin"])
router = APIRouter()


def _store(request: Request) -> DocumentStore | None:
    store: DocumentStore | None = request.app.state.reads.store
    return store


def _status(request: Request, db: Session) -> MigrationStatus:
    mongo = request.app.state.settings.mongo
    return migration_status(db, _store(request), mongo_db=mongo.mongo_db, cutover_reads=mongo.mongo_cutover_reads)


# -- the JSON API ---------------------------------------------------------------------------------


@api.get("", response_model=MigrationStatus)
def get_migration(request: Request, principal: AdminPrincipal, db: DbSession) -> MigrationStatus:
    """The migration's state: phase per aggregate and cohort, backfill progress, the `mongo`
    group's lag, verifications, shadow reads per path (with a per-minute series), the two flags
    and their history, recent jobs, and whether vector search can move."""
    return _status(request, db)


@api.post("/jobs", response_model=JobOut, status_code=status.HTTP_202_ACCEPTED)
def start_job(request: Request, data: JobIn, principal: AdminPrincipal) -> JobOut:
    """Start a backfill (resumes after its checkpoints) or a verification in the background; its
    progress shows in `GET /api/v1/admin/migration`. 409 without a MongoDB, or while one of the
    same kind runs."""
    return jobs.start_job(request.app.state.db, _store(request), principal=principal, data=data)


# -- the page -------------------------------------------------------------------------------------


@pages.get(PAGE, response_class=HTMLResponse)
def migration_page(request: Request, principal: AdminPrincipal, db: DbSession) -> Response:
    state = _status(request, db)
    return render(
        request,
        "admin_migration.html",
        principal,
        m=state,
        steps=[label for _, label in PHASES],
        aggregates=[a.name for a in AGGREGATES],
        running=any(j.status == "running" for j in state.jobs),
        charts={
            "paths": [
                {"path": p.path, "minutes": [m.model_dump(mode="json") for m in p.minutes]} for p in state.shadow_paths
            ]
        },
    )


def _set(db: Session, request: Request, principal: Principal, name: str, values: dict[str, Any], done: str) -> Response:
    """One flag change from a form: validated like the API, refused with the reason."""
    data, errors = parse_form(flag_service.FlagRuleIn, values)
    if data is None:
        return redirect(PAGE, flash=f"{name} unchanged: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    try:
        flag_service.set_flag(
            db,
            principal=principal,
            name=name,
            data=data,
            cutover_reads=request.app.state.settings.mongo.mongo_cutover_reads,
        )
    except VeriError as exc:
        if exc.status_code >= 500:
            raise
        return redirect(PAGE, flash=f"Refused: {name} unchanged: {exc.message}")
    return redirect(PAGE, flash=done)


def _mode(percent: str) -> dict[str, Any]:
    """A share of creators as a rule: off at 0, on at 100, else a percentage (a value that is not
    a number is passed on, so validation names the field)."""
    if not percent:
        return {"mode": "percent", "percent": None}  # "percent: Input should be a valid number"
    try:
        share = float(percent)
    except ValueError:
        return {"mode": "percent", "percent": percent}
    if share == 0:
        return {"mode": "off"}
    if share == 100:
        return {"mode": "on"}
    return {"mode": "percent", "percent": percent}


@pages.post(f"{PAGE}/dual-write", response_class=HTMLResponse)
async def dual_write(request: Request, principal: AdminPrincipal, db: DbSession) -> Response:
    """USE_MONGO for a share of creators (0 turns dual-write off, which reads must allow)."""
    values = form_values(await request.form())
    rule = _mode(values.get("percent", "").strip() or "100") | {"reason": values.get("reason", "")}
    share = rule.get("percent", 100 if rule["mode"] == "on" else 0)
    return _set(db, request, principal, "USE_MONGO", rule, f"Dual-write (USE_MONGO) now covers {share}% of creators.")


@pages.post(f"{PAGE}/shadow", response_class=HTMLResponse)
async def shadow_reads(request: Request, principal: AdminPrincipal, db: DbSession) -> Response:
    """READ_FROM_MONGO's shadow on or off, its share unchanged."""
    values = form_values(await request.form())
    on = values.get("shadow") == "on"
    current = rollout(db).rules.get("READ_FROM_MONGO")
    keep: dict[str, Any] = {"mode": "off"}
    if current is not None and not current.kill:
        keep = {"mode": current.mode} | ({"percent": current.percent} if current.mode == "percent" else {})
        keep |= {"allow": [str(x) for x in current.allow or []], "deny": [str(x) for x in current.deny or []]}
    rule = keep | {"shadow": on, "reason": values.get("reason", "")}
    return _set(db, request, principal, "READ_FROM_MONGO", rule, f"Shadow reads {'on' if on else 'off'}.")


@pages.post(f"{PAGE}/cutover", response_class=HTMLResponse)
async def cut_over(request: Request, principal: AdminPrincipal, db: DbSession) -> Response:
    """READ_FROM_MONGO for a share of creators, shadow reads kept as they are."""
    values = form_values(await request.form())
    rule = _mode(values.get("percent", "").strip()) | {"shadow": rollout(db).shadow, "reason": values.get("reason", "")}
    return _set(
        db, request, principal, "READ_FROM_MONGO", rule, f"Reads cut over: {values.get('percent')}% served from Mongo."
    )


@pages.post(f"{PAGE}/rollback", response_class=HTMLResponse)
async def roll_back(request: Request, principal: AdminPrincipal, db: DbSession) -> Response:
    """READ_FROM_MONGO back to 0%: PostgreSQL answers every read again; shadow reads stay on
    (while dual-write runs) so the paths keep being compared."""
    values = form_values(await request.form())
    shadow = rollout(db).write_share > 0
    rule = {"mode": "off", "shadow": shadow, "reason": values.get("reason", "")}
    return _set(
        db,
        request,
        principal,
        "READ_FROM_MONGO",
        rule,
        "Rolled back: PostgreSQL serves every read" + (" (shadow reads stay on)." if shadow else "."),
    )


@pages.post(f"{PAGE}/jobs", response_class=HTMLResponse)
async def start_job_form(request: Request, principal: AdminPrincipal) -> Response:
    values = form_values(await request.form())
    values["repair"] = "repair" in values
    if values.get("aggregate") in ("", "all"):
        values.pop("aggregate", None)
    data, errors = parse_form(JobIn, values)
    if data is None:
        return redirect(PAGE, flash="Not started: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    try:
        job = jobs.start_job(request.app.state.db, _store(request), principal=principal, data=data)
    except VeriError as exc:
        if exc.status_code >= 500:
            raise
        return redirect(PAGE, flash=f"Refused: {exc.message}")
    what = job.aggregate or "every aggregate"
    return redirect(PAGE, flash=f"{job.kind.capitalize()} of {what} ({job.cohort:g}% cohort) started.")


router.include_router(api)
router.include_router(pages)
