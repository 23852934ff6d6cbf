"""Pydantic shapes of the leaderboards API: the query's fields, checked where they are parsed
(a bad one is a 422 naming it), and the answers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query
from pydantic import AfterValidator, BaseModel

from veri.scoring.boards import BoardPage, Metric, Ranked, parse_period, parse_scope

__all__ = [
    "BoardOut",
    "LeaderboardOut",
    "LimitParam",
    "MetricParam",
    "MyStandingOut",
    "OffsetParam",
    "PeriodParam",
    "ScopeParam",
    "StandingOut",
]


def _check_period(value: str) -> str:
    parse_period(value)  # raises ValueError naming what is wrong
    return value.strip()


MetricParam = Annotated[Metric, Query(description="points or veriscore")]
ScopeParam = Annotated[
    str,
    Query(max_length=60, description="global, niche:<tag> or platform:<name>"),
    AfterValidator(parse_scope),
]
PeriodParam = Annotated[
    str,
    Query(max_length=20, description="all, week, month, week:YYYY-Www or month:YYYY-MM (UTC)"),
    AfterValidator(_check_period),
]
LimitParam = Annotated[int, Query(ge=1, le=100, description="Standings per page")]
OffsetParam = Annotated[int, Query(ge=0, le=10_000_000, description="Standings to skip")]


class BoardOut(BaseModel):
    metric: Metric
    scope: str
    period: str
    key: str


class StandingOut(BaseModel):
    rank: int
    creator_id: uuid.UUID
    handle: str | None
    display_name: str | None
    score: float

    @classmethod
    def of(cls, ranked: Ranked) -> StandingOut:
        return cls(
            rank=ranked.rank,
            creator_id=ranked.creator_id,
            handle=ranked.handle,
            display_name=ranked.display_name,
            score=ranked.score,
        )


class LeaderboardOut(BaseModel):
    """A page of a board. Ranks are competition ranks: equal scores share one, the next skips."""

    board: BoardOut
    size: int
    limit: int
    offset: int
    standings: list[StandingOut]

    @classmethod
    def of(cls, page: BoardPage) -> LeaderboardOut:
        b = page.board
        return cls(
            board=BoardOut(metric=b.metric, scope=b.scope, period=b.period, key=b.key),
            size=page.size,
            limit=page.limit,
            offset=page.offset,
            standings=[StandingOut.of(s) for s in page.standings],
        )


class MyStandingOut(BaseModel):
    """The creator's own standing; `standing` is null while they are not on the board."""

    board: BoardOut
    size: int
    standing: StandingOut | None
