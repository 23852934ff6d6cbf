"""The `scoring` consumer group: the creator's loop, from events.

Per batch: the posts' evidence (set-based), then each event in the order it happened: tasks and
proofs the API did not write (a simulated world's), verdicts on proofs (emitted as
`task.reviewed` with an id derived from the proof, so a replay adds none), points with their caps,
streaks, weekly quests, the VeriScore's evidence; then the VeriScore of every creator touched,
badges, the leaderboards, and notifications to the people concerned.

Points come only from events (`task.reviewed`, a deal completed, a quest done) into an
append-only ledger keyed by what earned them: a replay from an empty loop rebuilds the same
points, streaks, scores and boards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.orm import Session

from veri.analytics.enrichment import normalise_metrics
from veri.events.derived import DerivedTable, whole
from veri.events.envelope import Event
from veri.events.registry import REGISTRY
from veri.events.service import emit
from veri.events.types import (
    CampaignOutcomeReported,
    ContentMetricsSnapshot,
    ContentPublished,
    CreatorUpdated,
    DealStatusChanged,
    MessageSent,
    TaskAccepted,
    TaskCreated,
    TaskProofSubmitted,
    TaskReviewed,
)
from veri.models.scoring import LoopContent, Standing
from veri.models.tasks import TaskKind, TaskSubmission, TaskSubmissionStatus
from veri.scoring import rules, veriscore
from veri.scoring.boards import BoardUpdate, Leaderboards
from veri.scoring.repository import ScoringRepository
from veri.tasks import verification
from veri.tasks.verification import Decision, Post, Proof, TaskSpec

__all__ = ["ScoringHandler", "decide_submission", "review_event_id"]

log = structlog.get_logger(__name__)

_REVIEWS = uuid.UUID("5c0f0e2e-6a8b-4c41-9d7e-2f1f3f6b7a10")
_RESPONSE_CAP_HOURS = 72.0
BROADCAST_EVERY = 2.0  # seconds between two "the boards moved" updates to every open page


def review_event_id(submission_id: uuid.UUID, by: str) -> uuid.UUID:
    """The id of an automatic verdict's event: the same on every replay."""
    return uuid.uuid5(_REVIEWS, f"{submission_id}:{by}")


def _post(row: Any) -> Post:
    return Post(
        content_id=row.content_id,
        creator_id=row.creator_id,
        platform=row.platform,
        title=row.title,
        published_at=row.published_at,
        views=row.views,
        likes=row.likes,
        measured_at=row.measured_at,
        history=tuple((datetime.fromisoformat(at), views) for at, views in (row.history or [])),
    )


def decide_submission(db: Session, submission: TaskSubmission, now: datetime) -> Decision | None:
    """Decide a pending proof from the evidence as of `now`; record the verdict (unless still
    pending) and emit it. Returns the decision, None when the task is unknown."""
    repo = ScoringRepository(db)
    # Lock the proof and read it again: a person may have decided it meanwhile (their verdict stands).
    db.refresh(submission, with_for_update=True)
    if submission.status is not TaskSubmissionStatus.PENDING:
        return None
    task = repo.task(submission.task_id)
    if task is None or submission.submitted_at is None:
        return None
    spec = TaskSpec(
        kind=task.kind.value,
        created_at=task.created_at,
        hashtag=task.hashtag,
        platform=task.platform,
        views_target=task.views_target,
        due_at=task.due_at,
    )
    proof = Proof(
        creator_id=submission.creator_id,
        kind=submission.proof_kind,
        submitted_at=submission.submitted_at,
        content_id=submission.content_id,
        claimed_views=submission.claimed_views,
        image_hash=submission.image_hash,
    )
    row = repo.posts([submission.content_id]).get(submission.content_id) if submission.content_id else None
    earlier = [
        _post(p)
        for p in repo.posts_of([submission.creator_id]).get(submission.creator_id, [])
        if p.published_at is not None and p.published_at < submission.submitted_at
    ]
    history = verification.history_of(earlier, excluding=submission.content_id)
    decision = verification.decide(
        spec, proof, _post(row) if row is not None else None, history, repo.earlier_hashes(submission), now
    )
    submission.reason = "; ".join(decision.reasons)
    if decision.outcome == "pending":
        submission.status = TaskSubmissionStatus.PENDING
        return decision
    submission.status = TaskSubmissionStatus(decision.outcome)
    submission.flags = decision.flags
    if decision.outcome != "needs_review":
        submission.decided_at, submission.decided_by = now, "auto"
    repo.audit(submission.id, "auto", decision.outcome, submission.reason, now, flags=decision.flags)
    emit(
        db,
        TaskReviewed(
            task_id=task.id,
            creator_id=submission.creator_id,
            outcome=decision.outcome,
            by="auto",
            reasons=[r[:300] for r in decision.reasons[:20]],
            points=task.points if decision.outcome == "verified" else 0,
            brand_id=task.brand_id,
        ),
        subject=f"creator:{submission.creator_id}",
        actor="system:verification",
        occurred_at=now,
        event_id=review_event_id(submission.id, f"auto:{decision.outcome}"),
    )
    return decision


@dataclass
class _Batch:
    """What one batch changed, applied after the events: scores, boards, notifications."""

    rescore: set[uuid.UUID] = field(default_factory=set)
    boards: list[BoardUpdate] = field(default_factory=list)
    reviews: list[tuple[uuid.UUID, TaskReviewed]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


class ScoringHandler:
    group = "scoring"
    types = REGISTRY.names_of(
        CreatorUpdated,
        ContentPublished,
        ContentMetricsSnapshot,
        MessageSent,
        DealStatusChanged,
        CampaignOutcomeReported,
        TaskCreated,
        TaskAccepted,
        TaskProofSubmitted,
        TaskReviewed,
    )
    derived = (
        whole("loop_content", "content_id"),
        whole("points_ledger", "key"),
        DerivedTable(
            "creator_standings",
            ("creator_id",),
            # updated_at is when the row was last written, not a fact of the log.
            "SELECT creator_id, timezone, niches, platforms, points, streak, best_streak, last_active_on,"
            " grace_used_on, counters, badges, evidence, evidence_at, veriscore, breakdown FROM creator_standings",
        ),
        whole("veriscore_history", "creator_id", "day"),
        # The boards' rows in PostgreSQL (Redis mirrors them).
        DerivedTable(
            "leaderboard_entries", ("board", "creator_id"), "SELECT board, creator_id, score FROM leaderboard_entries"
        ),
    )

    def __init__(self, boards: Leaderboards | None = None, *, tell: bool = True):
        self.boards = boards or Leaderboards(None)
        # False in a rebuild: people heard of these verdicts when they happened.
        self.tell = tell
        self._broadcast_at = -BROADCAST_EVERY

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        repo = ScoringRepository(db)
        ordered = sorted(events, key=lambda e: (e.occurred_at, e.position))
        measured = self._evidence(repo, ordered)
        creators = {c for e in ordered if (c := getattr(e.payload, "creator_id", None)) is not None}
        standings = repo.standings(creators)
        batch = _Batch()
        # The standings change on almost every event: flush them once, not before every query
        # (a proof flushes itself before it is decided).
        with db.no_autoflush:
            for event in ordered:
                self._apply(db, repo, standings, batch, event)
        if measured and ordered:
            now = ordered[-1].occurred_at
            for submission in repo.waiting_on(measured):
                decide_submission(db, submission, now)
        posts = repo.posts_of(batch.rescore)
        for creator_id in batch.rescore:
            self._rescore(repo, standings[creator_id], posts.get(creator_id, []), batch)
        repo.record_history(batch.history)
        self.boards.record(db, batch.boards)
        self._tell(db, batch)

    def after_commit(self, events: Sequence[Event]) -> None:
        self.boards.after_commit()

    def reset(self, db: Session) -> None:
        ScoringRepository(db).reset()
        self.boards.reset(db)

    # -- evidence ---------------------------------------------------------------------------

    @staticmethod
    def _evidence(repo: ScoringRepository, events: Sequence[Event]) -> set[uuid.UUID]:
        published = [
            {
                "content_id": p.content_id,
                "creator_id": p.creator_id,
                "platform": p.platform.lower(),
                "title": p.title,
                "published_at": p.published_at,
            }
            for e in events
            if isinstance(p := e.payload, ContentPublished)
        ]
        repo.upsert_published(list({r["content_id"]: r for r in published}.values()))
        latest: dict[uuid.UUID, dict[str, Any]] = {}
        for e in events:
            if not isinstance(p := e.payload, ContentMetricsSnapshot):
                continue
            metrics = normalise_metrics(p.metrics)
            seen = latest.get(p.content_id)
            row = {
                "content_id": p.content_id,
                "creator_id": p.creator_id,
                "platform": p.platform.lower(),
                "views": metrics.views,
                "likes": metrics.likes,
                "measured_at": p.captured_at,
                "history": [[p.captured_at.isoformat(), metrics.views]],
            }
            if seen is not None:
                row["views"] = max(row["views"], seen["views"])
                row["likes"] = max(row["likes"], seen["likes"])
                row["measured_at"] = max(row["measured_at"], seen["measured_at"])
                row["history"] = seen["history"] + row["history"]
            latest[p.content_id] = row
        repo.upsert_measured(list(latest.values()))
        return set(latest)

    # -- one event --------------------------------------------------------------------------

    def _apply(
        self, db: Session, repo: ScoringRepository, standings: dict[uuid.UUID, Standing], batch: _Batch, event: Event
    ) -> None:
        p, at = event.payload, event.occurred_at
        if isinstance(p, CreatorUpdated):
            s = standings[p.creator_id]
            s.timezone, s.niches, s.platforms = p.timezone or "UTC", list(p.niches), [x.lower() for x in p.platforms]
        elif isinstance(p, ContentPublished):
            s = standings[p.creator_id]
            if p.platform.lower() not in s.platforms:
                s.platforms = [*s.platforms, p.platform.lower()]
            # The creator acted when they published (a connector may report it later).
            self._active(repo, s, batch, min(p.published_at, at), "posts")
            batch.rescore.add(p.creator_id)
        elif isinstance(p, ContentMetricsSnapshot):
            batch.rescore.add(p.creator_id)
        elif isinstance(p, MessageSent) and p.deal_id is not None:
            self._message(repo, standings[p.creator_id], batch, p, at)
        elif isinstance(p, DealStatusChanged) and p.to_status == "completed":
            s = standings[p.creator_id]
            if repo.award(
                f"deal:{p.deal_id}",
                p.creator_id,
                "deal completed",
                rules.DEAL_COMPLETED_POINTS,
                rules.DEAL_COMPLETED_POINTS,
                at,
            ):
                self._points(s, batch, rules.DEAL_COMPLETED_POINTS, at)
                self._count(s, "deals_completed")
        elif isinstance(p, CampaignOutcomeReported):
            s = standings[p.creator_id]
            self._evidence_of(s, at, "reliability", 1.0 if p.delivered_on_time else 0.0)
            self._evidence_of(s, at, "roi", min(p.roi, 20.0))
            if p.delivered_on_time:
                self._count(s, "on_time")
            batch.rescore.add(p.creator_id)
        elif isinstance(p, TaskCreated):
            repo.ensure_task(
                {
                    "id": p.task_id,
                    "kind": TaskKind(p.kind),
                    "title": p.title,
                    "instructions": "",
                    "brand_id": p.brand_id,
                    "campaign_id": p.campaign_id,
                    "deal_id": p.deal_id,
                    "creator_id": p.creator_id,
                    "hashtag": p.hashtag,
                    "platform": p.platform,
                    "views_target": p.views_target,
                    "due_at": p.due_at,
                    "points": p.points,
                    "created_at": at,
                    "updated_at": at,
                }
            )
        elif isinstance(p, TaskAccepted):
            repo.ensure_submission(p.task_id, p.creator_id, at)
            self._active(repo, standings[p.creator_id], batch, at)
        elif isinstance(p, TaskProofSubmitted):
            self._proof(db, repo, standings[p.creator_id], batch, p, at)
        elif isinstance(p, TaskReviewed):
            self._reviewed(repo, standings[p.creator_id], batch, p, at)

    def _proof(
        self, db: Session, repo: ScoringRepository, s: Standing, batch: _Batch, p: TaskProofSubmitted, at: datetime
    ) -> None:
        self._active(repo, s, batch, at)
        if repo.task(p.task_id) is None:
            return  # a proof for a task nobody set: nothing to verify against
        submission = repo.ensure_submission(p.task_id, p.creator_id, at)
        if submission.status is TaskSubmissionStatus.ACCEPTED:
            # Brought by an event (the API fills these in before it emits).
            submission.status = TaskSubmissionStatus.PENDING
            submission.submitted_at = at
            submission.proof_kind, submission.proof_url = p.kind, p.proof_url
            submission.content_id, submission.claimed_views = p.content_id, p.claimed_views
            submission.image_hash = p.image_hash
            repo.audit(submission.id, f"creator:{p.creator_id}", "submitted", "", at)
        if submission.status is TaskSubmissionStatus.PENDING:
            db.flush()
            decide_submission(db, submission, at)

    def _reviewed(self, repo: ScoringRepository, s: Standing, batch: _Batch, p: TaskReviewed, at: datetime) -> None:
        batch.reviews.append((s.creator_id, p))
        if p.outcome == "needs_review":
            return
        self._evidence_of(s, at, "verification", 1.0 if p.outcome == "verified" else 0.0)
        batch.rescore.add(s.creator_id)
        if p.outcome != "verified":
            return
        day = rules.local_day(at, s.timezone)
        counters = dict(s.counters)
        spent = counters.get("task_day", {})
        used = spent.get("points", 0) if spent.get("day") == day.isoformat() else 0
        week = rules.week_key(day)
        brand_key = f"{p.brand_id}:{week}"
        by_brand = dict(counters.get("brand_awards", {}))
        by_brand = {k: v for k, v in by_brand.items() if k.endswith(week)}  # older weeks no longer matter
        granted = min(p.points, max(rules.DAILY_TASK_POINTS_CAP - used, 0))
        reason = "task verified"
        if p.brand_id is not None and by_brand.get(brand_key, 0) >= rules.PER_BRAND_WEEKLY_AWARDS:
            granted, reason = 0, "task verified (cool-down: this brand's tasks already paid out this week)"
        elif granted < p.points:
            reason = f"task verified (daily cap of {rules.DAILY_TASK_POINTS_CAP} points)"
        if not repo.award(f"task:{p.task_id}:{p.creator_id}", s.creator_id, reason, granted, p.points, at):
            return
        counters["task_day"] = {"day": day.isoformat(), "points": used + granted}
        if p.brand_id is not None:
            by_brand[brand_key] = by_brand.get(brand_key, 0) + 1
        counters["brand_awards"] = by_brand
        s.counters = counters
        self._count(s, "tasks_verified")
        self._weekly(repo, s, batch, day, "tasks_verified", at)
        self._points(s, batch, granted, at)

    def _message(self, repo: ScoringRepository, s: Standing, batch: _Batch, p: MessageSent, at: datetime) -> None:
        counters = dict(s.counters)
        waiting = dict(counters.get("waiting", {}))
        deal = str(p.deal_id)
        if p.sender_role == "brand":
            waiting.setdefault(deal, at.isoformat())
        elif p.sender_role == "creator":
            since = waiting.pop(deal, None)
            counters["waiting"] = waiting
            s.counters = counters
            self._active(repo, s, batch, at)
            if since is not None:
                hours = (at - datetime.fromisoformat(since)).total_seconds() / 3600
                self._evidence_of(s, at, "responsiveness", min(max(hours, 0.0), _RESPONSE_CAP_HOURS))
                self._weekly(repo, s, batch, rules.local_day(at, s.timezone), "replies", at)
                batch.rescore.add(s.creator_id)
            return
        counters["waiting"] = waiting
        s.counters = counters

    # -- the pieces -------------------------------------------------------------------------

    @staticmethod
    def _count(s: Standing, counter: str, by: int = 1) -> None:
        s.counters = {**s.counters, counter: int(s.counters.get(counter, 0)) + by}

    def _points(self, s: Standing, batch: _Batch, points: int, at: datetime) -> None:
        if points <= 0:
            return
        s.points += points
        batch.rescore.add(s.creator_id)
        batch.boards.append(
            BoardUpdate(s.creator_id, "points", at, tuple(s.niches), tuple(s.platforms), delta=float(points))
        )

    def _active(
        self, repo: ScoringRepository, s: Standing, batch: _Batch, at: datetime, weekly: str | None = None
    ) -> None:
        """The creator did something themselves: the streak, and a weekly quest's counter."""
        day = rules.local_day(at, s.timezone)
        known = set(s.counters.get("days", []))
        if day.isoformat() not in known:
            known.add(day.isoformat())
            latest = max(known)
            floor = (date.fromisoformat(latest) - timedelta(days=rules.STREAK_WINDOW)).isoformat()
            kept = sorted(d for d in known if d >= floor)
            s.counters = {**s.counters, "days": kept}
            streak, grace = rules.streak_of(date.fromisoformat(d) for d in kept)
            s.streak, s.grace_used_on = streak, grace
            s.last_active_on = date.fromisoformat(latest)
            s.best_streak = max(s.best_streak, streak)
            batch.rescore.add(s.creator_id)
        if weekly:
            self._weekly(repo, s, batch, day, weekly, at)

    def _weekly(
        self, repo: ScoringRepository, s: Standing, batch: _Batch, day: Any, counter: str, at: datetime
    ) -> None:
        week = rules.week_key(day)
        counters = dict(s.counters)
        this = dict(counters.get("week", {}))
        if this.get("key") != week:
            this = {"key": week, "done": []}
        this[counter] = int(this.get(counter, 0)) + 1
        counters["week"] = this
        s.counters = counters
        for quest in rules.QUESTS:
            if quest.counter == counter and this[counter] >= quest.target and quest.key not in this["done"]:
                this["done"] = [*this["done"], quest.key]
                s.counters = {**s.counters, "week": this}
                key = f"quest:{week}:{quest.key}:{s.creator_id}"
                if repo.award(key, s.creator_id, f"weekly quest: {quest.title}", quest.points, quest.points, at):
                    self._points(s, batch, quest.points, at)

    @staticmethod
    def _evidence_of(s: Standing, at: datetime, component: str, value: float) -> None:
        s.evidence, s.evidence_at = veriscore.add_evidence(s.evidence, s.evidence_at, at, component, value)

    def _rescore(self, repo: ScoringRepository, s: Standing, rows: list[LoopContent], batch: _Batch) -> None:
        posts = [p for p in rows if p.views >= 50 and p.published_at]
        times = [t for t in (s.evidence_at, *(p.published_at for p in posts)) if t is not None]
        newest = max(times, default=None)
        weights: list[tuple[float, float]] = []
        if newest is not None:
            for p in posts:
                assert p.published_at is not None
                weight = 0.5 ** (
                    max((newest - p.published_at).total_seconds(), 0.0) / veriscore.HALF_LIFE.total_seconds()
                )
                weights.append((weight, p.likes / p.views))
        value, breakdown = veriscore.score(s.evidence, weights)
        counters = {
            **s.counters,
            "level": rules.level_of(s.points)["level"],
            "best_streak": s.best_streak,
            "veriscore": value or 0,
        }
        new_badges = rules.earned_badges(counters, s.badges, newest) if newest is not None else {}
        if new_badges:
            s.badges = {**s.badges, **new_badges}
        s.updated_at = newest
        if value is None or newest is None:
            return
        if value != s.veriscore:
            s.veriscore, s.breakdown = value, breakdown
            batch.history.append({"creator_id": s.creator_id, "day": newest.date(), "veriscore": value})
            batch.boards.append(
                BoardUpdate(s.creator_id, "veriscore", newest, tuple(s.niches), tuple(s.platforms), value=value)
            )

    def _tell(self, db: Session, batch: _Batch) -> None:
        """Tell the people concerned (real accounts only: a simulated creator has none)."""
        if not self.tell or (not batch.reviews and not batch.boards):
            return
        from veri.scoring.notices import tell

        # Every open board refetches on a move: at most once per BROADCAST_EVERY seconds.
        moved = batch.boards and time.monotonic() - self._broadcast_at >= BROADCAST_EVERY
        if moved:
            self._broadcast_at = time.monotonic()
        tell(db, batch.reviews, moved=bool(moved))
