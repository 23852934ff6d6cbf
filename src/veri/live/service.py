"""Live pages and notifications, as other domains use them:

- `publish(db, user_ids=..., kind=..., data=...)`: a live update for those users' open pages,
  sent only once the transaction of `db` commits (never when it rolls back), from the API or
  the worker alike, through the broker the settings chose (see `veri.live.broker`).
- `notify(db, user_id=..., kind=..., title=...)`: an in-app notification (and a mail through
  the outbox with `email=True`), and a live "notification" update with the unread count.

The notification centre's own reads and marks are here too; a person only ever reaches their
own notifications (anyone else's is "not found").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import structlog
from sqlalchemy.orm import Session

from veri.errors import Invalid, NotFound
from veri.identity import service as identity_service
from veri.identity.principal import Principal
from veri.live.broker import EVERYONE, LiveMessage, broker_for
from veri.live.repository import NotificationRepository
from veri.models.base import utcnow
from veri.models.live import Notification

__all__ = [
    "NOTIFICATION",
    "broadcast",
    "list_notifications",
    "mark_all_read",
    "mark_read",
    "notify",
    "publish",
    "unread_count",
]

log = structlog.get_logger(__name__)

# The live kind that carries a person's unread count (the header's badge listens to it).
NOTIFICATION = "notification"
MAX_KIND = 64
MAX_TITLE = 200
MAX_BODY = 2000
MAX_LINK = 500


def publish(db: Session, *, user_ids: Iterable[uuid.UUID], kind: str, data: dict[str, Any]) -> None:
    """Tell the open pages of `user_ids` that `kind` happened, once `db`'s transaction commits.
    `data` is a hint (ids, a short text): pages refetch what they show, and a large `data` may
    arrive cut to its short fields with `"truncated": true`."""
    if not kind or len(kind) > MAX_KIND:
        raise Invalid("kind", f"must be 1 to {MAX_KIND} characters")
    message = LiveMessage.to(user_ids, kind, data)
    if message.user_ids:
        broker_for(db).publish(db, message)


def broadcast(db: Session, *, kind: str, data: dict[str, Any]) -> None:
    """`publish` to every open page (of every process), once `db`'s transaction commits."""
    publish(db, user_ids=[EVERYONE], kind=kind, data=data)


def _local_link(link: str | None) -> str | None:
    if link is None:
        return None
    # Only a path of this site: never another origin, nor a `javascript:` URL.
    if not link.startswith("/") or link.startswith("//") or "\\" in link or len(link) > MAX_LINK:
        raise Invalid("link", f"must be a path on this site (starting with one '/', at most {MAX_LINK} characters)")
    return link


def notify(
    db: Session,
    *,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str = "",
    link: str | None = None,
    email: bool = False,
) -> Notification:
    """Keep a notification for `user_id`, mail it too when `email` (an offer received, a task
    verified or rejected, a payout), and update the person's open pages with the unread count."""
    if not kind or len(kind) > MAX_KIND:
        raise Invalid("kind", f"must be 1 to {MAX_KIND} characters")
    title = " ".join(title.split())
    if not title:
        raise Invalid("title", "must not be blank")
    notification = NotificationRepository(db).add(
        Notification(
            user_id=user_id,
            kind=kind,
            title=_shorten(title, MAX_TITLE),
            body=_shorten(body.strip(), MAX_BODY),
            link=_local_link(link),
        )
    )
    if email:
        text = notification.body + (f"\n\nOpen it in Veri: {notification.link}" if notification.link else "")
        identity_service.queue_mail(db, user_id=user_id, subject=notification.title, body=text.strip())
    _publish_unread(db, user_id, latest=notification)
    log.info("notified", user_id=str(user_id), kind=kind, email=email)
    return notification


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _publish_unread(db: Session, user_id: uuid.UUID, latest: Notification | None = None) -> int:
    count = NotificationRepository(db).unread_count(user_id)
    data: dict[str, Any] = {"unread": count}
    if latest is not None:
        data |= {"id": str(latest.id), "kind": latest.kind, "title": latest.title, "link": latest.link}
    publish(db, user_ids=[user_id], kind=NOTIFICATION, data=data)
    return count


def list_notifications(
    db: Session, *, principal: Principal, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> tuple[list[Notification], int]:
    """The person's own notifications, newest first."""
    return NotificationRepository(db).page(principal.user.id, unread_only=unread_only, limit=limit, offset=offset)


def unread_count(db: Session, *, user_id: uuid.UUID) -> int:
    return NotificationRepository(db).unread_count(user_id)


def mark_read(db: Session, *, principal: Principal, notification_id: uuid.UUID) -> Notification:
    """Mark one of the person's notifications read (again is harmless); anyone else's: not found."""
    notification = NotificationRepository(db).own(principal.user.id, notification_id, for_update=True)
    if notification is None:
        raise NotFound("no such notification")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.flush()
        _publish_unread(db, principal.user.id)
    return notification


def mark_all_read(db: Session, *, principal: Principal) -> int:
    """Mark every unread notification of the person read; how many were."""
    marked = NotificationRepository(db).mark_all_read(principal.user.id, utcnow())
    if marked:
        _publish_unread(db, principal.user.id)
    return marked
