"""Content items and their metric snapshots. A creator sees their own content; a brand sees
content made for deals on its campaigns; admins see all. Only the creator (or an admin)
records content and metrics."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from veri.content.repository import ContentRepository
from veri.content.schemas import ContentIn, ContentOut, MetricsIn, MetricsOut
from veri.creators import service as creator_service
from veri.deals import service as deal_service
from veri.errors import Conflict, Forbidden, Invalid, NotFound
from veri.events.service import emit
from veri.events.types import ContentMetricsSnapshot, ContentPublished
from veri.identity.principal import Principal
from veri.models.content import ContentItem, MetricSnapshot

__all__ = [
    "add_content",
    "content_out",
    "get_content",
    "list_content",
    "list_metrics",
    "record_metrics",
]


def _campaign_of(
    db: Session, principal: Principal, deal_id: uuid.UUID | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The campaign and brand that content made for a deal counts for (its events carry them)."""
    if deal_id is None:
        return None, None
    try:
        deal = deal_service.get_deal(db, principal=principal, deal_id=deal_id)
    except NotFound:
        raise Invalid("deal_id", "is not one of your deals") from None
    return deal.campaign_id, deal.campaign.brand_id


def get_content(db: Session, *, principal: Principal, content_id: uuid.UUID) -> ContentItem:
    repo = ContentRepository(db)
    content = repo.get(content_id)
    if content is None:
        raise NotFound("no such content")
    visible = (
        principal.is_admin
        or content.creator_id == principal.creator_id
        or (principal.brand_id is not None and repo.brand_of(content) == principal.brand_id)
    )
    if not visible:
        raise NotFound("no such content")
    return content


def list_content(
    db: Session,
    *,
    principal: Principal,
    platform: str | None = None,
    deal_id: uuid.UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ContentItem], int]:
    scope = principal.owned_scope()
    if scope is None:
        return [], 0
    creator_id, brand_id = scope
    return ContentRepository(db).search(
        creator_id=creator_id,
        brand_id=brand_id,
        platform=platform,
        deal_id=deal_id,
        limit=limit,
        offset=offset,
    )


def add_content(db: Session, *, principal: Principal, data: ContentIn) -> ContentItem:
    creator = creator_service.own_creator(db, principal=principal)
    repo = ContentRepository(db)
    if repo.by_external_id(data.platform.value, data.external_id) is not None:
        raise Conflict(
            "this content is already registered",
            detail=[{"field": "external_id", "reason": "already registered"}],
        )
    campaign_id, brand_id = _campaign_of(db, principal, data.deal_id)
    content = ContentItem(creator_id=creator.id, **data.model_dump())
    db.add(content)
    db.flush()
    emit(
        db,
        ContentPublished(
            content_id=content.id,
            creator_id=creator.id,
            platform=content.platform.value,
            kind=content.kind,
            title=content.title,
            published_at=content.published_at,
            deal_id=content.deal_id,
            campaign_id=campaign_id,
            brand_id=brand_id,
        ),
        subject=f"creator:{creator.id}",
        actor=principal.actor,
    )
    return content


def record_metrics(db: Session, *, principal: Principal, content_id: uuid.UUID, data: MetricsIn) -> MetricSnapshot:
    """Idempotent per (content, captured_at): the same snapshot sent twice is stored once."""
    content = get_content(db, principal=principal, content_id=content_id)
    if not (principal.is_admin or content.creator_id == principal.creator_id):
        raise Forbidden("only the creator records metrics of their content")
    if data.captured_at < content.published_at:
        raise Invalid("captured_at", "is before the content was published")
    repo = ContentRepository(db)
    snapshot = repo.snapshot_at(content.id, data.captured_at)
    if snapshot is None:
        snapshot = MetricSnapshot(content_id=content.id, captured_at=data.captured_at)
        db.add(snapshot)
    counts = data.model_dump(exclude={"captured_at"})
    for field, value in counts.items():
        setattr(snapshot, field, value)
    db.flush()
    campaign_id, brand_id = _campaign_of(db, principal, content.deal_id)
    emit(
        db,
        ContentMetricsSnapshot(
            content_id=content.id,
            creator_id=content.creator_id,
            platform=content.platform.value,
            captured_at=data.captured_at,
            metrics=counts,
            deal_id=content.deal_id,
            campaign_id=campaign_id,
            brand_id=brand_id,
        ),
        subject=f"creator:{content.creator_id}",
        actor=principal.actor,
    )
    return snapshot


def list_metrics(db: Session, *, principal: Principal, content_id: uuid.UUID) -> list[MetricSnapshot]:
    content = get_content(db, principal=principal, content_id=content_id)
    return ContentRepository(db).metrics(content.id)


def content_out(db: Session, *, items: list[ContentItem]) -> list[ContentOut]:
    latest = ContentRepository(db).latest_metrics([item.id for item in items])
    out = []
    for item in items:
        model = ContentOut.model_validate(item)
        snapshot = latest.get(item.id)
        model.latest_metrics = MetricsOut.model_validate(snapshot) if snapshot else None
        out.append(model)
    return out
