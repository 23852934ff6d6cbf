"""The leaderboards page: choose a board (metric, scope, period), see its top 100 and, as a
creator, your own rank highlighted even far below them. The table is also served alone, for the
live updates to refetch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from veri.dependencies import DbSession
from veri.errors import Invalid
from veri.identity.deps import CurrentPrincipal
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.scoring.board_routes import Boards
from veri.scoring.board_schemas import MetricParam, PeriodParam, ScopeParam
from veri.scoring.boards import (
    Board,
    BoardPage,
    Leaderboards,
    board_page,
    niche_scope,
    parse_scope,
    resolve_board,
    scope_choices,
)
from veri.web.render import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

TOP = 100
METRIC_LABELS = {"points": "Points", "veriscore": "VeriScore"}
PERIOD_LABELS = {"all": "All time", "week": "This week", "month": "This month"}


def _board(metric: str, scope: str, period: str, niche: str | None) -> Board:
    if niche and niche.strip():
        try:
            scope = parse_scope(niche_scope(niche))
        except ValueError as exc:
            raise Invalid("niche", str(exc)) from None
    return resolve_board(metric, scope, period)


def _table_context(db: Session, boards: Leaderboards, board: Board, principal: Principal) -> dict[str, Any]:
    page: BoardPage = board_page(db, boards, board=board, principal=principal, limit=TOP)
    return {
        "page": page,
        "score_label": METRIC_LABELS[board.metric],
        "link_creators": principal.role is not Role.CREATOR,
    }


def _query(board: Board, period: str) -> str:
    return urlencode({"metric": board.metric, "scope": board.scope, "period": period})


@router.get("/leaderboards", response_class=HTMLResponse)
def leaderboards_page(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    boards: Boards,
    metric: MetricParam = "points",
    scope: ScopeParam = "global",
    period: PeriodParam = "week",
    niche: str | None = None,
) -> Response:
    board = _board(metric, scope, period, niche)
    scopes = scope_choices(db, principal, board.scope)
    periods = dict(PERIOD_LABELS)
    if period not in periods:  # an explicit week or month
        periods[period] = period.replace(":", " ", 1)
    return render(
        request,
        "leaderboards.html",
        principal,
        board=board,
        period_choice=period,
        metrics=METRIC_LABELS,
        periods=periods,
        scopes=scopes,
        scope_label=dict(scopes).get(board.scope, board.scope),
        fragment_url=f"/leaderboards/table?{_query(board, period)}",
        **_table_context(db, boards, board, principal),
    )


@router.get("/leaderboards/table", response_class=HTMLResponse)
def leaderboard_table(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    boards: Boards,
    metric: MetricParam = "points",
    scope: ScopeParam = "global",
    period: PeriodParam = "week",
) -> Response:
    """The table alone (no layout), for `data-live-src`."""
    board = resolve_board(metric, scope, period)
    return render(request, "leaderboard_table.html", principal, **_table_context(db, boards, board, principal))
