"""The creator's loop's tables: evidence, ledger, standings, history, and the tasks the events
bring (a simulated world's, a replay's) when the API did not write them first."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.models.scoring import LoopContent, PointsEntry, ScoreHistory, Standing
from veri.models.tasks import Task, TaskReview, TaskSubmission, TaskSubmissionStatus

__all__ = ["ScoringRepository"]


class ScoringRepository:
    def __init__(self, db: Session):
        self.db = db

    # -- evidence ---------------------------------------------------------------------------

    def upsert_published(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        stmt = insert(LoopContent)
        self.db.execute(
            stmt.on_conflict_do_update(
                index_elements=[LoopContent.content_id],
                set_={
                    "platform": stmt.excluded.platform,
                    "title": stmt.excluded.title,
                    "published_at": stmt.excluded.published_at,
                },
            ),
            list(rows),
        )

    def upsert_measured(self, rows: Sequence[dict[str, Any]]) -> None:
        """Largest views and likes seen per post, and when they were last measured."""
        if not rows:
            return
        stmt = insert(LoopContent)
        self.db.execute(
            stmt.on_conflict_do_update(
                index_elements=[LoopContent.content_id],
                set_={
                    "views": func.greatest(LoopContent.views, stmt.excluded.views),
                    "likes": func.greatest(LoopContent.likes, stmt.excluded.likes),
                    "measured_at": func.greatest(LoopContent.measured_at, stmt.excluded.measured_at),
                    # Appended, then only the latest 60 measurements kept (sorted by time).
                    "history": text(
                        "(SELECT coalesce(jsonb_agg(m ORDER BY m->>0), '[]'::jsonb) FROM ("
                        " SELECT m FROM jsonb_array_elements(loop_content.history || excluded.history) AS m"
                        " ORDER BY m->>0 DESC LIMIT 60) AS latest)"
                    ),
                },
            ),
            list(rows),
        )

    def posts_of(self, creator_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[LoopContent]]:
        found: dict[uuid.UUID, list[LoopContent]] = {}
        ids = list(set(creator_ids))
        if not ids:
            return found
        for row in self.db.scalars(select(LoopContent).where(LoopContent.creator_id.in_(ids))):
            found.setdefault(row.creator_id, []).append(row)
        return found

    def posts(self, content_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LoopContent]:
        ids = list(set(content_ids))
        if not ids:
            return {}
        return {r.content_id: r for r in self.db.scalars(select(LoopContent).where(LoopContent.content_id.in_(ids)))}

    # -- tasks from events --------------------------------------------------------------------

    def ensure_task(self, values: dict[str, Any]) -> None:
        self.db.execute(insert(Task).values(**values).on_conflict_do_nothing(index_elements=[Task.id]))

    def task(self, task_id: uuid.UUID) -> Task | None:
        return self.db.get(Task, task_id)

    def submission(self, task_id: uuid.UUID, creator_id: uuid.UUID) -> TaskSubmission | None:
        return self.db.scalars(
            select(TaskSubmission).where(TaskSubmission.task_id == task_id, TaskSubmission.creator_id == creator_id)
        ).first()

    def ensure_submission(self, task_id: uuid.UUID, creator_id: uuid.UUID, at: datetime) -> TaskSubmission:
        self.db.execute(
            insert(TaskSubmission)
            .values(id=uuid.uuid4(), task_id=task_id, creator_id=creator_id, accepted_at=at, flags=[])
            .on_conflict_do_nothing(index_elements=[TaskSubmission.task_id, TaskSubmission.creator_id])
        )
        found = self.submission(task_id, creator_id)
        assert found is not None
        return found

    def waiting_on(self, content_ids: Iterable[uuid.UUID]) -> list[TaskSubmission]:
        ids = list(set(content_ids))
        if not ids:
            return []
        return list(
            self.db.scalars(
                select(TaskSubmission).where(
                    TaskSubmission.status == TaskSubmissionStatus.PENDING, TaskSubmission.content_id.in_(ids)
                )
            )
        )

    def overdue(self, before: datetime, limit: int = 500) -> list[TaskSubmission]:
        """Proofs still pending whose due date (or submission, without one) is before `before`:
        the oldest first, so none waits behind newer ones."""
        deadline = func.coalesce(func.greatest(Task.due_at, TaskSubmission.submitted_at), TaskSubmission.submitted_at)
        return list(
            self.db.scalars(
                select(TaskSubmission)
                .join(Task, Task.id == TaskSubmission.task_id)
                .where(TaskSubmission.status == TaskSubmissionStatus.PENDING, deadline < before)
                .order_by(TaskSubmission.submitted_at)
                .limit(limit)
            )
        )

    def earlier_hashes(self, submission: TaskSubmission) -> list[str]:
        """Screenshot hashes of every proof submitted before this one (any creator's)."""
        if not submission.image_hash or submission.submitted_at is None:
            return []
        return list(
            self.db.scalars(
                select(TaskSubmission.image_hash).where(
                    TaskSubmission.image_hash.is_not(None),
                    TaskSubmission.id != submission.id,
                    TaskSubmission.submitted_at < submission.submitted_at,
                )
            )
        )

    def audit(
        self, submission_id: uuid.UUID, actor: str, action: str, reason: str, at: datetime, **details: Any
    ) -> None:
        self.db.add(
            TaskReview(
                submission_id=submission_id, actor=actor, action=action, reason=reason, details=details, created_at=at
            )
        )

    # -- standings, ledger, history -----------------------------------------------------------

    def standings(self, creator_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Standing]:
        ids = list(set(creator_ids))
        found = {s.creator_id: s for s in self.db.scalars(select(Standing).where(Standing.creator_id.in_(ids)))}
        for creator_id in ids:
            if creator_id not in found:
                standing = Standing(
                    creator_id=creator_id,
                    timezone="UTC",
                    niches=[],
                    platforms=[],
                    points=0,
                    streak=0,
                    best_streak=0,
                    counters={},
                    badges={},
                    evidence={},
                    breakdown={},
                )
                self.db.add(standing)
                found[creator_id] = standing
        return found

    def award(self, key: str, creator_id: uuid.UUID, reason: str, points: int, asked: int, at: datetime) -> bool:
        """Append to the ledger; False when `key` was already awarded."""
        result = self.db.execute(
            insert(PointsEntry)
            .values(key=key, creator_id=creator_id, reason=reason[:200], points=points, asked=asked, earned_at=at)
            .on_conflict_do_nothing(index_elements=[PointsEntry.key])
            .returning(PointsEntry.key)
        )
        return result.first() is not None

    def record_history(self, rows: Sequence[dict[str, Any]]) -> None:
        """Upsert (creator_id, day, veriscore) rows: the score at the end of each day it changed."""
        if not rows:
            return
        latest = {(r["creator_id"], r["day"]): r for r in rows}
        stmt = insert(ScoreHistory)
        self.db.execute(
            stmt.on_conflict_do_update(
                index_elements=[ScoreHistory.creator_id, ScoreHistory.day], set_={"veriscore": stmt.excluded.veriscore}
            ),
            list(latest.values()),
        )

    def reset(self) -> None:
        """Everything the loop derives (tasks and proofs are records, kept; their verdicts are
        events, replayed)."""
        for model in (PointsEntry, ScoreHistory, Standing, LoopContent):
            self.db.execute(delete(model))

    def settle_pending(self, ids: Sequence[uuid.UUID], status: TaskSubmissionStatus) -> None:
        self.db.execute(update(TaskSubmission).where(TaskSubmission.id.in_(ids)).values(status=status))
