"""In-app notifications: what happened that a person should know about, read or not yet."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from veri.models.base import Base, UUIDPrimaryKey, utcnow

__all__ = ["Notification"]


class Notification(UUIDPrimaryKey, Base):
    """One notice for one user: a kind other code keys on ("deal.offer", "task.verified"), a
    title and body to show, a local link to follow, and when it was read (None: unread)."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The centre's list (newest first) and the header's unread count, both per person.
        Index("ix_notifications_user_id_created_at", "user_id", "created_at"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
