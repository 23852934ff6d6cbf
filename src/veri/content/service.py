"""Content items and their metric snapshots. A creator sees their own content; a brand sees
content made for deals on its campaigns; admins see all. Only the creator (or an admin)
records content and metrics."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.orm import Session

from veri.content.repository import ContentRepository
from veri.content.schemas import ContentIn, ContentOut, MetricsIn, MetricsOut
from veri.creators import service as creator_service
from veri.deals import service as deal_service
from veri.errors import Conflict, Forbidden, Invalid, NotFound
from veri.events.service import Emission, emit, emit_many
from veri.events.types import ContentMetricsSnapshot, ContentPublished
from veri.identity.principal import Principal
from veri.models.content import ContentItem, MetricSnapshot
from veri.models.creators import Platform

log = structlog.get_logger(__name__)

__all__ = [
    "ImportResult",
    "ImportedMeasurement",
    "ImportedPost",
    "add_content",
    "content_out",
    "get_content",
    "import_synced",
    "list_content",
    "list_metrics",
    "record_metrics",
    "synced_posts",
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


# -- content a connected platform reports (the system's own writes, no person behind them) ------


@dataclass(frozen=True)
class ImportedPost:
    external_id: str
    kind: str
    published_at: datetime
    event_id: uuid.UUID  # content.published's: deterministic, so a repeat cannot publish twice
    title: str = ""
    url: str = ""


@dataclass(frozen=True)
class ImportedMeasurement:
    external_id: str
    captured_at: datetime
    counts: Mapping[str, int]  # Veri's columns: views, likes, comments, shares, saves
    platform_metrics: Mapping[str, int]  # what the event carries: the platform's own names
    event_id: uuid.UUID


@dataclass(frozen=True)
class ImportResult:
    posts: int
    snapshots: int


def import_synced(
    db: Session,
    *,
    creator_id: uuid.UUID,
    platform: Platform,
    posts: Sequence[ImportedPost],
    measurements: Sequence[ImportedMeasurement],
    actor: str,
) -> ImportResult:
    """What a sync of one connected account read, stored once: posts not stored yet (one another
    creator registered is skipped), measurements of this creator's posts at moments not stored
    yet; their events (with the caller's deterministic ids) appended together."""
    repo = ContentRepository(db)
    wanted = {p.external_id for p in posts} | {m.external_id for m in measurements}
    items = repo.by_external_ids(platform.value, sorted(wanted))
    emissions: list[Emission] = []
    new_items = []
    for post in sorted(posts, key=lambda p: p.published_at):
        if post.external_id in items:
            continue
        item = ContentItem(
            id=uuid.uuid4(),
            creator_id=creator_id,
            platform=platform,
            external_id=post.external_id[:120],
            kind=post.kind,
            title=post.title[:300],
            url=post.url[:500] if post.url.startswith(("http://", "https://")) else "",
            published_at=post.published_at,
        )
        items[post.external_id] = item
        new_items.append(item)
        emissions.append(
            Emission(
                ContentPublished(
                    content_id=item.id,
                    creator_id=creator_id,
                    platform=platform.value,
                    kind=item.kind,
                    title=item.title,
                    published_at=item.published_at,
                ),
                subject=f"creator:{creator_id}",
                actor=actor,
                occurred_at=item.published_at,
                event_id=post.event_id,
            )
        )
    db.add_all(new_items)
    own = {ext: item for ext, item in items.items() if item.creator_id == creator_id}
    for ext in sorted(items.keys() - own.keys()):
        log.warning("synced_post_of_another_creator", platform=platform.value, content_id=str(items[ext].id))
    taken = repo.snapshot_moments(
        [(own[m.external_id].id, m.captured_at) for m in measurements if m.external_id in own]
    )
    snapshots = []
    for m in measurements:
        measured = own.get(m.external_id)
        if measured is None or (measured.id, m.captured_at) in taken:
            continue
        taken.add((measured.id, m.captured_at))
        snapshots.append(MetricSnapshot(content_id=measured.id, captured_at=m.captured_at, **m.counts))
        emissions.append(
            Emission(
                ContentMetricsSnapshot(
                    content_id=measured.id,
                    creator_id=creator_id,
                    platform=platform.value,
                    captured_at=m.captured_at,
                    metrics=dict(m.platform_metrics),
                ),
                subject=f"creator:{creator_id}",
                actor=actor,
                occurred_at=m.captured_at,
                event_id=m.event_id,
            )
        )
    db.flush()  # the posts before their snapshots (no relationship orders them)
    db.add_all(snapshots)
    db.flush()
    emit_many(db, emissions)
    return ImportResult(posts=len(new_items), snapshots=len(snapshots))


def synced_posts(
    db: Session, *, creator_id: uuid.UUID, platform: Platform, since: datetime, limit: int
) -> list[ContentItem]:
    """A creator's posts on `platform` published since `since`, newest first (which to measure)."""
    return ContentRepository(db).recent(creator_id=creator_id, platform=platform.value, since=since, limit=limit)
