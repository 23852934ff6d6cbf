"""All SQL of the live domain: a person's notifications."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from veri.db.paging import fetch_page
from veri.models.live import Notification

__all__ = ["NotificationRepository"]


class NotificationRepository:
    def __init__(self, db: Session):
        self.db = db

    def add(self, notification: Notification) -> Notification:
        self.db.add(notification)
        self.db.flush()
        return notification

    def own(self, user_id: uuid.UUID, notification_id: uuid.UUID, *, for_update: bool = False) -> Notification | None:
        """The notification if it is `user_id`'s (someone else's is as good as missing)."""
        statement = select(Notification).where(Notification.id == notification_id, Notification.user_id == user_id)
        if for_update:
            statement = statement.with_for_update()
        return self.db.scalar(statement)

    def page(self, user_id: uuid.UUID, *, unread_only: bool, limit: int, offset: int) -> tuple[list[Notification], int]:
        statement = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        return fetch_page(
            self.db,
            statement,
            order_by=(Notification.created_at.desc(), Notification.id),
            limit=limit,
            offset=offset,
        )

    def unread_count(self, user_id: uuid.UUID) -> int:
        statement = select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        return int(self.db.scalar(statement) or 0)

    def mark_all_read(self, user_id: uuid.UUID, at: datetime) -> int:
        result = self.db.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=at)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
