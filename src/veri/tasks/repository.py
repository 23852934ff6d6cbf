"""Queries over tasks, submissions, their audit trail and uploaded proofs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.models.content import ContentItem
from veri.models.deals import Deal, DealStatus
from veri.models.tasks import ProofFile, Task, TaskKind, TaskReview, TaskSubmission, TaskSubmissionStatus

__all__ = ["TaskRepository"]

_WORKING = (DealStatus.ACCEPTED, DealStatus.DELIVERED, DealStatus.COMPLETED)


class TaskRepository:
    def __init__(self, db: Session):
        self.db = db

    def get(self, task_id: uuid.UUID) -> Task | None:
        return self.db.get(Task, task_id)

    def add_platform_task(self, task_id: uuid.UUID, kind: TaskKind, title: str, instructions: str, points: int) -> bool:
        """Insert one of the platform's tasks unless a concurrent request did: True if this one did."""
        inserted = self.db.execute(
            insert(Task)
            .values(id=task_id, kind=kind, title=title, instructions=instructions, points=points)
            .on_conflict_do_nothing(index_elements=[Task.id])
            .returning(Task.id)
        )
        return inserted.first() is not None

    def submission(self, submission_id: uuid.UUID, *, for_update: bool = False) -> TaskSubmission | None:
        return self.db.get(TaskSubmission, submission_id, with_for_update=for_update)

    def submission_of(
        self, task_id: uuid.UUID, creator_id: uuid.UUID, *, for_update: bool = False
    ) -> TaskSubmission | None:
        query = select(TaskSubmission).where(TaskSubmission.task_id == task_id, TaskSubmission.creator_id == creator_id)
        if for_update:
            query = query.with_for_update()
        return self.db.scalars(query).first()

    def submissions_of(self, creator_id: uuid.UUID, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TaskSubmission]:
        if not task_ids:
            return {}
        rows = self.db.scalars(
            select(TaskSubmission).where(TaskSubmission.creator_id == creator_id, TaskSubmission.task_id.in_(task_ids))
        )
        return {s.task_id: s for s in rows}

    def visible_to_creator(self, creator_id: uuid.UUID, limit: int) -> list[Task]:
        """The platform's tasks, the creator's deals' tasks, and the tasks of campaigns the creator
        works on (an accepted deal)."""
        working = select(Deal.campaign_id).where(Deal.creator_id == creator_id, Deal.status.in_(_WORKING))
        mine = select(Deal.id).where(Deal.creator_id == creator_id)
        query = (
            select(Task)
            .where(
                or_(
                    Task.brand_id.is_(None) & Task.creator_id.is_(None),
                    Task.creator_id == creator_id,
                    Task.deal_id.in_(mine),
                    Task.campaign_id.in_(working) & Task.deal_id.is_(None),
                )
            )
            .order_by(Task.created_at.desc())
            .limit(limit)
        )
        return list(self.db.scalars(query))

    def creator_may_see(self, task: Task, creator_id: uuid.UUID) -> bool:
        if task.brand_id is None and task.creator_id is None:
            return True
        if task.creator_id == creator_id:
            return True
        if task.deal_id is not None:
            return (
                self.db.scalar(select(Deal.id).where(Deal.id == task.deal_id, Deal.creator_id == creator_id))
                is not None
            )
        if task.campaign_id is not None:
            found = select(Deal.id).where(
                Deal.campaign_id == task.campaign_id, Deal.creator_id == creator_id, Deal.status.in_(_WORKING)
            )
            return self.db.scalar(found) is not None
        return False

    def of_brand(self, brand_id: uuid.UUID | None, limit: int) -> list[Task]:
        query = select(Task).order_by(Task.created_at.desc()).limit(limit)
        if brand_id is not None:
            query = query.where(Task.brand_id == brand_id)
        return list(self.db.scalars(query))

    def to_review(self, brand_id: uuid.UUID | None, limit: int) -> list[tuple[TaskSubmission, Task]]:
        query = (
            select(TaskSubmission, Task)
            .join(Task, Task.id == TaskSubmission.task_id)
            .where(TaskSubmission.status == TaskSubmissionStatus.NEEDS_REVIEW)
            .order_by(TaskSubmission.submitted_at)
            .limit(limit)
        )
        if brand_id is not None:
            query = query.where(Task.brand_id == brand_id)
        return [(s, t) for s, t in self.db.execute(query)]

    def submissions_for(self, task_id: uuid.UUID) -> list[TaskSubmission]:
        return list(
            self.db.scalars(
                select(TaskSubmission).where(TaskSubmission.task_id == task_id).order_by(TaskSubmission.accepted_at)
            )
        )

    def trail(self, submission_id: uuid.UUID) -> list[TaskReview]:
        return list(
            self.db.scalars(
                select(TaskReview).where(TaskReview.submission_id == submission_id).order_by(TaskReview.created_at)
            )
        )

    def content_by_url(self, creator_id: uuid.UUID, url: str) -> ContentItem | None:
        return self.db.scalars(
            select(ContentItem).where(ContentItem.creator_id == creator_id, ContentItem.url == url)
        ).first()

    def content(self, content_id: uuid.UUID) -> ContentItem | None:
        return self.db.get(ContentItem, content_id)

    def proof_file(self, file_id: uuid.UUID) -> ProofFile | None:
        return self.db.get(ProofFile, file_id)

    def completed_deals(self, creator_id: uuid.UUID) -> int:
        return len(
            self.db.scalars(
                select(Deal.id).where(Deal.creator_id == creator_id, Deal.status == DealStatus.COMPLETED)
            ).all()
        )
