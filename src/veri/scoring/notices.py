"""Who hears about the loop's changes: the creator of a verdict (in-app, and by email), the
brand whose task waits for a review, and the open pages of creators whose standing moved."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from veri.events.types import TaskReviewed
from veri.live.service import broadcast, notify, publish
from veri.models.brands import Brand
from veri.models.creators import Creator
from veri.models.tasks import Task
from veri.tasks.service import tell_verdict

__all__ = ["tell"]


def tell(db: Session, reviews: Sequence[tuple[uuid.UUID, TaskReviewed]], *, moved: bool) -> None:
    creator_ids = {c for c, _ in reviews}
    users = dict(db.execute(select(Creator.id, Creator.user_id).where(Creator.id.in_(creator_ids))).all())
    brand_ids = {r.brand_id for _, r in reviews if r.brand_id is not None}
    owners = dict(db.execute(select(Brand.id, Brand.owner_id).where(Brand.id.in_(brand_ids))).all())
    titles = dict(db.execute(select(Task.id, Task.title).where(Task.id.in_({r.task_id for _, r in reviews}))).all())
    for creator_id, review in reviews:
        title = titles.get(review.task_id, "a task")
        user = users.get(creator_id)
        if review.outcome == "needs_review":
            owner = owners.get(review.brand_id) if review.brand_id else None
            if owner is not None:
                notify(
                    db,
                    user_id=owner,
                    kind="task.review",
                    title=f"A proof for “{title}” needs your review",
                    body="; ".join(review.reasons),
                    link="/tasks/review",
                )
            if user is not None:
                publish(
                    db, user_ids=[user], kind="task", data={"task_id": str(review.task_id), "outcome": review.outcome}
                )
            continue
        if user is None or review.by != "auto":
            continue  # a person's verdict was told when they gave it
        tell_verdict(
            db, user_id=user, task_id=review.task_id, title=title, outcome=review.outcome, reasons=review.reasons
        )
    if moved:
        # Open leaderboards and progress pages refetch (the caller throttles).
        broadcast(db, kind="leaderboard", data={})
