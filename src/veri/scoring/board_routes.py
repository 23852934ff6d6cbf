"""Leaderboards API: a page of a board with each creator's handle and name, and a creator's own
standing wherever they are on it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from veri.dependencies import DbSession
from veri.identity.deps import CreatorPrincipal, CurrentPrincipal
from veri.scoring.board_schemas import (
    BoardOut,
    LeaderboardOut,
    LimitParam,
    MetricParam,
    MyStandingOut,
    OffsetParam,
    PeriodParam,
    ScopeParam,
    StandingOut,
)
from veri.scoring.boards import Leaderboards, board_page, own_standing, resolve_board

__all__ = ["Boards", "router"]

router = APIRouter(prefix="/api/v1/leaderboards", tags=["leaderboards"])


def get_leaderboards(request: Request) -> Leaderboards:
    boards: Leaderboards = request.app.state.leaderboards
    return boards


Boards = Annotated[Leaderboards, Depends(get_leaderboards)]


@router.get("", response_model=LeaderboardOut)
def leaderboard(
    principal: CurrentPrincipal,
    db: DbSession,
    boards: Boards,
    metric: MetricParam = "points",
    scope: ScopeParam = "global",
    period: PeriodParam = "all",
    limit: LimitParam = 100,
    offset: OffsetParam = 0,
) -> LeaderboardOut:
    """A board's standings, best first (competition ranks: equal scores share a rank)."""
    board = resolve_board(metric, scope, period)
    return LeaderboardOut.of(board_page(db, boards, board=board, principal=principal, limit=limit, offset=offset))


@router.get("/me", response_model=MyStandingOut)
def my_standing(
    principal: CreatorPrincipal,
    db: DbSession,
    boards: Boards,
    metric: MetricParam = "points",
    scope: ScopeParam = "global",
    period: PeriodParam = "all",
) -> MyStandingOut:
    """The creator's own standing on a board, also far outside the top 100 (null when absent)."""
    board = resolve_board(metric, scope, period)
    size, mine = own_standing(db, boards, board=board, principal=principal)
    return MyStandingOut(
        board=BoardOut(metric=board.metric, scope=board.scope, period=board.period, key=board.key),
        size=size,
        standing=StandingOut.of(mine) if mine is not None else None,
    )
