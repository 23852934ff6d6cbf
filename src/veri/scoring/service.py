"""What a creator sees of their loop (points, level, streak, badges, quests, VeriScore with its
breakdown and history, ranks), the chore that settles proofs whose evidence never came, and the
rebuild of everything the loop derives from the log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.errors import Forbidden, NotFound
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.models.base import utcnow
from veri.models.scoring import PointsEntry, ScoreHistory, Standing
from veri.scoring import rules, veriscore
from veri.scoring.boards import Board, Leaderboards
from veri.scoring.handlers import ScoringHandler, decide_submission
from veri.scoring.repository import ScoringRepository
from veri.tasks.verification import EVIDENCE_GRACE

__all__ = ["creator_progress", "progress_of", "rebuild", "settle_pending"]


def progress_of(
    db: Session, creator_id: uuid.UUID, boards: Leaderboards | None = None, *, at: datetime | None = None
) -> dict[str, Any]:
    """Everything the creator's progress page shows."""
    standing = db.get(Standing, creator_id)
    if standing is None:
        empty = rules.level_of(0)
        return {
            "creator_id": str(creator_id),
            "points": 0,
            "level": empty,
            "streak": {"days": 0, "best": 0, "last_active_on": None, "grace_available": True},
            "badges": [],
            "next_badge": rules.next_badge({}, {}),
            "quests": _quests({}, at or utcnow(), "UTC"),
            "veriscore": None,
            "breakdown": {},
            "raise_it": [],
            "history": [],
            "ledger": [],
            "ranks": {},
        }
    counters = {
        **standing.counters,
        "level": rules.level_of(standing.points)["level"],
        "best_streak": standing.best_streak,
        "veriscore": standing.veriscore or 0,
    }
    now = at or utcnow()
    today = rules.local_day(now, standing.timezone)
    grace_free = standing.grace_used_on is None or (today - standing.grace_used_on).days >= 7
    # A streak whose next day has passed is over, though nothing was recomputed since.
    idle = (today - standing.last_active_on).days if standing.last_active_on else 0
    streak = standing.streak if idle <= (2 if grace_free else 1) else 0
    history = db.execute(
        select(ScoreHistory.day, ScoreHistory.veriscore)
        .where(ScoreHistory.creator_id == creator_id)
        .order_by(ScoreHistory.day)
    ).all()
    ledger = db.scalars(
        select(PointsEntry).where(PointsEntry.creator_id == creator_id).order_by(PointsEntry.earned_at.desc()).limit(20)
    ).all()
    chosen = boards or Leaderboards(None)
    ranks: dict[str, Any] = {}
    for metric in ("points", "veriscore"):
        for period in ("all", _period("week", now), _period("month", now)):
            found = chosen.standing(db, Board(metric, "global", period), creator_id)
            ranks[f"{metric}:{period.split(':')[0]}"] = (
                {"rank": found.rank, "score": found.score, "of": chosen.size(db, Board(metric, "global", period))}
                if found is not None
                else None
            )
    return {
        "creator_id": str(creator_id),
        "points": standing.points,
        "level": rules.level_of(standing.points),
        "streak": {
            "days": streak,
            "best": standing.best_streak,
            "last_active_on": standing.last_active_on.isoformat() if standing.last_active_on else None,
            "grace_available": grace_free,
            "timezone": standing.timezone,
        },
        "badges": [
            {"key": b.key, "title": b.title, "description": b.description, "earned_at": standing.badges[b.key]}
            for b in rules.BADGES
            if b.key in standing.badges
        ],
        "next_badge": rules.next_badge(counters, standing.badges),
        "quests": _quests(standing.counters, now, standing.timezone),
        "veriscore": standing.veriscore,
        "breakdown": standing.breakdown,
        "raise_it": veriscore.suggestions(standing.breakdown) if standing.breakdown else [],
        "history": [{"day": d.isoformat(), "veriscore": v} for d, v in history],
        "ledger": [
            {"reason": e.reason, "points": e.points, "asked": e.asked, "earned_at": e.earned_at.isoformat()}
            for e in ledger
        ],
        "ranks": ranks,
    }


def _period(kind: str, at: datetime) -> str:
    day = at.date()
    return f"week:{rules.week_key(day)}" if kind == "week" else f"month:{day:%Y-%m}"


def _quests(counters: dict[str, Any], now: datetime, timezone: str) -> list[dict[str, Any]]:
    week = rules.week_key(rules.local_day(now, timezone))
    this = counters.get("week", {}) if counters.get("week", {}).get("key") == week else {}
    return [
        {
            "key": q.key,
            "title": q.title,
            "have": min(int(this.get(q.counter, 0)), q.target),
            "need": q.target,
            "points": q.points,
            "done": q.key in this.get("done", []),
        }
        for q in rules.QUESTS
    ]


def creator_progress(db: Session, *, principal: Principal, boards: Leaderboards | None = None) -> dict[str, Any]:
    if principal.role is not Role.CREATOR or principal.creator_id is None:
        raise Forbidden("progress, points and the VeriScore are a creator's")
    return progress_of(db, principal.creator_id, boards)


def veriscore_of(db: Session, *, principal: Principal, creator_id: uuid.UUID) -> dict[str, Any]:
    """A creator's VeriScore and breakdown: public to brands and admins (it is a reputation),
    a creator sees only their own."""
    if principal.role is Role.CREATOR and principal.creator_id != creator_id:
        raise NotFound("no such creator")
    standing = db.get(Standing, creator_id)
    if standing is None:
        raise NotFound("no VeriScore yet")
    return {"creator_id": str(creator_id), "veriscore": standing.veriscore, "breakdown": standing.breakdown}


def settle_pending(db: Session, now: datetime | None = None) -> int:
    """Decide proofs still waiting for evidence, as of `now`: past their grace they are rejected
    (the post never showed up) or sent to a person. The worker runs this as a chore."""
    moment = now or utcnow()
    decided = 0
    for submission in ScoringRepository(db).overdue(moment - EVIDENCE_GRACE):
        decision = decide_submission(db, submission, moment)
        if decision is not None and decision.outcome != "pending":
            decided += 1
    return decided


def rebuild(
    database: Database, boards: Leaderboards, *, partitions: int, progress: Callable[[int], None] | None = None
) -> int:
    """Delete what the loop derived and apply the whole log again (the same points, streaks,
    scores and boards); then Redis is refilled from Postgres. Returns the events applied."""
    from veri.events.bus.embedded import EmbeddedLog
    from veri.events.runtime import ConsumerLoop, RetryPolicy
    from veri.events.service import replay_group

    handler = ScoringHandler(boards, tell=False)
    replay_group(database, handler, (0, 0), reset=True)
    consumer = EmbeddedLog(database, partitions=partitions, lease_seconds=600).consumer(handler.group, "rebuild")
    loop = ConsumerLoop(database, consumer, handler, batch_size=1000, retry=RetryPolicy(3, 0.5))
    applied = 0
    try:
        while True:
            done = loop.run_once()
            applied += done
            if progress is not None:
                progress(done)
            if done == 0 and not sum(consumer.lag().values()):
                break
    finally:
        consumer.close()
    with database.transaction() as db:
        boards.resync(db)
    return applied
