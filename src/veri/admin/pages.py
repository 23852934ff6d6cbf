"""The admin page: users, feature flags (read-only for now), system health, the ROI model registry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from veri import __version__
from veri.admin import flags as flag_service
from veri.campaigns import service as campaign_service
from veri.db.migrate import current_revision, head_revision
from veri.demo import world_progress
from veri.dependencies import DbSession
from veri.errors import VeriError
from veri.events.service import pipeline_status
from veri.identity import service as identity_service
from veri.identity.csrf import verify_form_csrf
from veri.identity.deps import AdminPrincipal
from veri.models.accounts import Role
from veri.pagination import Page, Paging
from veri.recommend import registry
from veri.web.forms import form_values, parse_form
from veri.web.render import redirect, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])

CHARTED = ("accuracy", "spearman", "coverage")  # the ROI model's held-out scores, by version


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request,
    principal: AdminPrincipal,
    db: DbSession,
    paging: Paging,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    database = request.app.state.db
    users, total = identity_service.list_users(db, role=role, query=q or None, limit=paging.limit, offset=paging.offset)
    health = {
        "version": __version__,
        "database": "embedded PostgreSQL"
        if database.embedded
        else database.engine.url.render_as_string(hide_password=True),
        "schema": f"{current_revision(database.engine)} (head {head_revision()})",
        "pgvector": "available" if database.capabilities.get("pgvector") else "missing: vector search disabled",
        "sessions and rate limits": "Redis" if request.app.state.redis is not None else "PostgreSQL",
    }
    with database.sessions() as session:
        pipeline = pipeline_status(session)
    versions = registry.versions(db)
    serving = request.app.state.serving_model.get(db)
    return render(
        request,
        "admin.html",
        principal,
        pipeline=pipeline,
        world=world_progress(),
        model_versions=versions,
        serving=serving,
        models_json=[
            {"version": v.version, "status": v.status.value, **{k: v.metrics.get(k) for k in CHARTED}} for v in versions
        ],
        users=users,
        page=Page[object](items=[], total=total, limit=paging.limit, offset=paging.offset),
        filters={"role": role.value if role else "", "q": q or ""},
        roles=[r.value for r in Role],
        flags=flag_service.flags_out(db),
        flag_changes=flag_service.recent_changes(db, limit=10),
        health=health,
        campaign_counts=campaign_service.count_by_status(db, principal=principal),
    )


@router.post("/admin/flags/{name}", response_class=HTMLResponse)
async def set_flag(request: Request, name: str, principal: AdminPrincipal, db: DbSession) -> Response:
    """The flag form: a mode (and percentage), the kill switch, and the reason (required)."""
    values = form_values(await request.form())
    values["kill"] = "kill" in values
    if values.get("mode") != "percent":
        values.pop("percent", None)
    data, errors = parse_form(flag_service.FlagRuleIn, values)
    if data is None:
        return redirect("/admin#f-h", flash=f"{name} unchanged: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
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
        return redirect("/admin#f-h", flash=f"{name} unchanged: {exc.message}")
    return redirect("/admin#f-h", flash=f"{name} is now {data.mode}{' (killed)' if data.kill else ''}.")
