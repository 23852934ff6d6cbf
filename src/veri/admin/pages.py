"""The admin page: users, feature flags (read-only for now), system health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from veri import __version__
from veri.accounts.csrf import verify_form_csrf
from veri.accounts.deps import AdminPrincipal
from veri.accounts.repository import AccountRepository
from veri.campaigns.repository import CampaignRepository
from veri.db.migrate import current_revision, head_revision
from veri.demo import WORLD_PROGRESS
from veri.dependencies import DbSession
from veri.events.lag import pipeline_status
from veri.flags import all_flags
from veri.models.accounts import Role
from veri.pagination import Page, Paging
from veri.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False, dependencies=[Depends(verify_form_csrf)])


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
    users, total = AccountRepository(db).list_users(
        role=role, query=q or None, limit=paging.limit, offset=paging.offset
    )
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
    return render(
        request,
        "admin.html",
        principal,
        pipeline=pipeline,
        world=WORLD_PROGRESS,
        users=users,
        page=Page[object](items=[], total=total, limit=paging.limit, offset=paging.offset),
        filters={"role": role.value if role else "", "q": q or ""},
        roles=[r.value for r in Role],
        flags=all_flags(),
        health=health,
        campaign_counts=CampaignRepository(db).count_by_status(None),
    )
