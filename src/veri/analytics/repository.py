"""All SQL of analytics: fact upserts and the recomputation of daily rollups. Set-based: one
statement per table per batch, whatever the batch size."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Uuid, any_, bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from veri.analytics.enrichment import EnrichedSnapshot
from veri.db.bulk import execute_binary
from veri.events.registry import REGISTRY, EventPayload
from veri.events.types import (
    AccountCreated,
    ContentMetricsSnapshot,
    ContentPublished,
    CreatorUpdated,
    DealCreated,
    DealOfferMade,
    MessageSent,
    TaskProofSubmitted,
)
from veri.models.analytics import AnalyticsDaily, ContentDaily, ContentFact, DealFact

__all__ = ["AnalyticsRepository", "CohortCount", "DealState", "Key", "PublishedContent"]

Key = tuple[str, uuid.UUID, date]  # (scope, scope id, day)
SCOPES = {"creator": "creator_id", "brand": "brand_id", "campaign": "campaign_id"}


@dataclass(frozen=True)
class PublishedContent:
    content_id: uuid.UUID
    creator_id: uuid.UUID
    platform: str
    published_at: datetime
    campaign_id: uuid.UUID | None
    brand_id: uuid.UUID | None


@dataclass(frozen=True)
class DealState:
    deal_id: uuid.UUID
    creator_id: uuid.UUID
    brand_id: uuid.UUID
    campaign_id: uuid.UUID
    status: str
    accepted_on: date | None
    completed_on: date | None
    accepted_fee_cents: int | None
    changed_at: datetime


def keys_for(creator_id: uuid.UUID, brand_id: uuid.UUID | None, campaign_id: uuid.UUID | None, day: date) -> list[Key]:
    keys: list[Key] = [("creator", creator_id, day)]
    if brand_id is not None:
        keys.append(("brand", brand_id, day))
    if campaign_id is not None:
        keys.append(("campaign", campaign_id, day))
    return keys


@dataclass(frozen=True)
class Activity:
    views: int
    engagements: int
    posts: int


@dataclass(frozen=True)
class CohortCount:
    """Creators of a sign-up cohort (`month` None: all of them, the cohort's size) or those of
    them active in `month`; `last_seen` is the latest event about them counted."""

    cohort: date
    month: date | None
    creators: int
    last_seen: datetime


def _name(payload: type[EventPayload]) -> str:
    (name,) = REGISTRY.names_of(payload)
    return name


# What a creator does themselves, beyond any event whose actor is the creator: these types are
# their act whoever reports it (a connector syncing a post), or say so in the payload.
_THEIR_OWN = sorted(REGISTRY.names_of(ContentPublished, TaskProofSubmitted))
_PROPOSALS = sorted(REGISTRY.names_of(DealCreated, DealOfferMade))  # payload `by`
_MESSAGE = _name(MessageSent)  # payload `sender_role`
# Signing up and editing a profile are not activity (they still date when a creator appeared).
_SIGNED_UP, _PROFILE = _name(AccountCreated), _name(CreatorUpdated)
# Readings a system reports (a connector's metrics) are nothing the creator did, and always follow
# the content they measure: left out of the grouping, which they would otherwise make four times longer.
_READING = _name(ContentMetricsSnapshot)

_RETENTION_SQL = text(
    """
    WITH named AS (
        -- One scan of the log: every event about a creator (but systems' metrics readings), and
        -- the sign-ups of creator accounts.
        SELECT e.payload ->> 'creator_id' AS creator_id, e.occurred_at, e.type = :profile AS profile,
               e.type NOT IN (:signed_up, :profile) AND (
                   e.type = ANY(:their_own)
                   OR e.type = :message AND e.payload ->> 'sender_role' = 'creator'
                   OR e.type = ANY(:proposals) AND e.payload ->> 'by' = 'creator'
                   OR lower(e.actor) = 'creator:' || (e.payload ->> 'creator_id')) AS own,
               CASE WHEN e.actor LIKE 'user:%' AND e.type <> :signed_up THEN e.actor END AS user_actor,
               CASE WHEN e.type = :signed_up AND e.payload ->> 'role' = 'creator'
                    THEN 'user:' || (e.payload ->> 'user_id') END AS signed_up_as
        FROM event_outbox e
        WHERE e.occurred_at < :until
          AND (e.type <> :reading OR e.actor NOT LIKE 'system:%')
          AND (e.payload ->> 'creator_id' IS NOT NULL OR e.type = :signed_up)
    ), grouped AS (
        -- Narrowed to (creator, month, user actor, ...) before anything is joined.
        SELECT creator_id, date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month, profile,
               user_actor, signed_up_as, min(occurred_at) AS first_seen, max(occurred_at) AS last_seen,
               bool_or(own) AS own
        FROM named GROUP BY 1, 2, 3, 4, 5
    ), owners AS (
        -- A real sign-up: the profile made by a user who signed up as a creator, and when.
        SELECT DISTINCT ON (p.creator_id) p.creator_id, s.signed_up_as AS actor, s.first_seen AS signed_up
        FROM grouped p JOIN grouped s ON s.signed_up_as = p.user_actor
        WHERE p.profile
        ORDER BY p.creator_id, s.first_seen
    ), monthly AS (
        SELECT g.creator_id, g.month, min(g.first_seen) AS first_seen, max(g.last_seen) AS last_seen,
               bool_or(g.own OR NOT g.profile AND g.user_actor = o.actor) AS active
        FROM grouped g LEFT JOIN owners o ON o.creator_id = g.creator_id
        WHERE g.creator_id IS NOT NULL
        GROUP BY 1, 2
    ), cohorts AS (
        -- The sign-up month; for a creator who never signed up (imported, simulated), the month
        -- of their first event.
        SELECT m.creator_id,
               date_trunc('month', COALESCE(min(o.signed_up), min(m.first_seen)) AT TIME ZONE 'UTC')::date AS cohort,
               max(m.last_seen) AS last_seen
        FROM monthly m LEFT JOIN owners o USING (creator_id)
        GROUP BY m.creator_id
    )
    SELECT c.cohort, NULL::date AS month, count(*) AS creators, max(c.last_seen) AS last_seen
    FROM cohorts c GROUP BY c.cohort
    UNION ALL
    SELECT c.cohort, m.month, count(*), max(m.last_seen)
    FROM cohorts c JOIN monthly m USING (creator_id)
    WHERE m.active AND m.month >= c.cohort
    GROUP BY c.cohort, m.month
    ORDER BY 1, 2 NULLS FIRST
    """
)


class AnalyticsRepository:
    def __init__(self, db: Session):
        self.db = db

    def upsert_content(self, items: list[PublishedContent]) -> set[Key]:
        if not items:
            return set()
        execute_binary(
            self.db,
            """
                INSERT INTO analytics_content (content_id, creator_id, platform, published_at, campaign_id, brand_id)
                SELECT * FROM unnest(
                    %(ids)s::uuid[], %(creators)s::uuid[], %(platforms)s::text[],
                    %(published)s::timestamptz[], %(campaigns)s::uuid[], %(brands)s::uuid[])
                ON CONFLICT (content_id) DO UPDATE SET
                    published_at = excluded.published_at,
                    campaign_id = COALESCE(excluded.campaign_id, analytics_content.campaign_id),
                    brand_id = COALESCE(excluded.brand_id, analytics_content.brand_id)
                """,
            {
                "ids": [i.content_id for i in items],
                "creators": [i.creator_id for i in items],
                "platforms": [i.platform for i in items],
                "published": [i.published_at for i in items],
                "campaigns": [i.campaign_id for i in items],
                "brands": [i.brand_id for i in items],
            },
        )
        keys = {k for i in items for k in keys_for(i.creator_id, i.brand_id, i.campaign_id, i.published_at.date())}
        # Metrics may have arrived before the content: attribute them to its campaign now. Only
        # content that names a campaign or brand can change anything (metrics arriving after the
        # content take its attribution as they are written).
        attributed = [i.content_id for i in items if i.campaign_id is not None or i.brand_id is not None]
        if not attributed:
            return keys
        rows = execute_binary(
            self.db,
            """
                UPDATE analytics_content_daily d
                SET campaign_id = COALESCE(d.campaign_id, c.campaign_id), brand_id = COALESCE(d.brand_id, c.brand_id)
                FROM analytics_content c
                WHERE d.content_id = c.content_id AND d.content_id = ANY(%(ids)s::uuid[])
                  AND (d.campaign_id IS NULL AND c.campaign_id IS NOT NULL
                       OR d.brand_id IS NULL AND c.brand_id IS NOT NULL)
                RETURNING d.creator_id, d.brand_id, d.campaign_id, d.day
                """,
            {"ids": attributed},
        )
        keys.update(k for row in rows for k in keys_for(*row))
        return keys

    def upsert_daily(self, snapshots: list[EnrichedSnapshot]) -> set[Key]:
        """Keep each content-day's latest snapshot with its growth over the previous known day.
        In a batch, a post's days are in order and each day's growth is taken from the day
        before it in the batch, or, for its first day, from the table. Snapshots arriving in
        order need nothing more; a late one (a later day is already stored, or the stored
        snapshot of its day is newer) changes the growth of the days after it, which are then
        recomputed."""
        if not snapshots:
            return set()
        ordered = sorted(snapshots, key=lambda s: (s.content_id, s.day))
        prev_views: list[int | None] = []
        prev_engagements: list[int | None] = []
        several: set[uuid.UUID] = set()
        for index, s in enumerate(ordered):
            before = ordered[index - 1] if index else None
            if before is not None and before.content_id == s.content_id:
                prev_views.append(before.metrics.views)
                prev_engagements.append(before.metrics.engagements)
                several.add(s.content_id)
            else:
                prev_views.append(None)
                prev_engagements.append(None)
        rows = execute_binary(
            self.db,
            """
                WITH s AS (
                    SELECT s.*, s.prev_views IS NULL AND EXISTS (
                               SELECT 1 FROM analytics_content_daily later
                               WHERE later.content_id = s.content_id AND later.day > s.day) AS late
                    FROM unnest(%(ids)s::uuid[], %(days)s::date[], %(creators)s::uuid[],
                                %(campaigns)s::uuid[], %(brands)s::uuid[], %(platforms)s::text[],
                                %(captured)s::timestamptz[], %(views)s::bigint[], %(likes)s::bigint[],
                                %(comments)s::bigint[], %(shares)s::bigint[], %(saves)s::bigint[],
                                %(rates)s::float8[], %(prev_views)s::bigint[], %(prev_engagements)s::bigint[])
                         AS s(content_id, day, creator_id, campaign_id, brand_id, platform, captured_at,
                              views, likes, comments, shares, saves, rate, prev_views, prev_engagements)
                ), written AS (
                    INSERT INTO analytics_content_daily AS d
                        (content_id, day, creator_id, campaign_id, brand_id, platform, captured_at,
                         views, likes, comments, shares, saves, engagement_rate, d_views, d_engagements)
                    SELECT s.content_id, s.day, s.creator_id, COALESCE(s.campaign_id, c.campaign_id),
                           COALESCE(s.brand_id, c.brand_id), s.platform, s.captured_at,
                           s.views, s.likes, s.comments, s.shares, s.saves, s.rate,
                           s.views - COALESCE(s.prev_views, prev.views, 0),
                           s.likes + s.comments + s.shares + s.saves
                             - COALESCE(s.prev_engagements, prev.engagements, 0)
                    FROM s
                    LEFT JOIN analytics_content c ON c.content_id = s.content_id
                    LEFT JOIN LATERAL (
                        SELECT p.views, p.likes + p.comments + p.shares + p.saves AS engagements
                        FROM analytics_content_daily p
                        WHERE s.prev_views IS NULL AND p.content_id = s.content_id AND p.day < s.day
                        ORDER BY p.day DESC LIMIT 1) prev ON true
                    ON CONFLICT (content_id, day) DO UPDATE SET
                        captured_at = excluded.captured_at, views = excluded.views, likes = excluded.likes,
                        comments = excluded.comments, shares = excluded.shares, saves = excluded.saves,
                        engagement_rate = excluded.engagement_rate,
                        d_views = excluded.d_views, d_engagements = excluded.d_engagements,
                        campaign_id = COALESCE(excluded.campaign_id, d.campaign_id),
                        brand_id = COALESCE(excluded.brand_id, d.brand_id)
                    WHERE excluded.captured_at >= d.captured_at
                    RETURNING d.content_id, d.day, d.creator_id, d.brand_id, d.campaign_id
                )
                SELECT * FROM written
                UNION ALL
                SELECT content_id, NULL, NULL, NULL, NULL FROM s WHERE late
                """,
            {
                "ids": [s.content_id for s in ordered],
                "days": [s.day for s in ordered],
                "creators": [s.creator_id for s in ordered],
                "campaigns": [s.campaign_id for s in ordered],
                "brands": [s.brand_id for s in ordered],
                "platforms": [s.platform for s in ordered],
                "captured": [s.captured_at for s in ordered],
                "views": [s.metrics.views for s in ordered],
                "likes": [s.metrics.likes for s in ordered],
                "comments": [s.metrics.comments for s in ordered],
                "shares": [s.metrics.shares for s in ordered],
                "saves": [s.metrics.saves for s in ordered],
                "rates": [s.engagement_rate for s in ordered],
                "prev_views": prev_views,
                "prev_engagements": prev_engagements,
            },
        )
        written = {(row[0], row[1]) for row in rows if row[1] is not None}
        keys = {k for row in rows if row[1] is not None for k in keys_for(row[2], row[3], row[4], row[1])}
        # A day the table kept (its snapshot was newer) was not the base the next day's growth
        # was taken from; a later day already stored took its growth from an older base.
        late = {row[0] for row in rows if row[1] is None}
        late |= {s.content_id for s in ordered if s.content_id in several and (s.content_id, s.day) not in written}
        if not late:
            return keys
        changed = execute_binary(
            self.db,
            """
                UPDATE analytics_content_daily d SET d_views = x.dv, d_engagements = x.de
                FROM (
                    SELECT a.content_id, a.day,
                           a.views - COALESCE(LAG(a.views) OVER w, 0) AS dv,
                           (a.likes + a.comments + a.shares + a.saves)
                             - COALESCE(LAG(a.likes + a.comments + a.shares + a.saves) OVER w, 0) AS de
                    FROM analytics_content_daily a
                    WHERE a.content_id = ANY(%(ids)s::uuid[])
                    WINDOW w AS (PARTITION BY a.content_id ORDER BY a.day)
                ) x
                WHERE d.content_id = x.content_id AND d.day = x.day
                  AND (d.d_views <> x.dv OR d.d_engagements <> x.de)
                RETURNING d.creator_id, d.brand_id, d.campaign_id, d.day
                """,
            {"ids": list(late)},
        )
        return keys | {k for row in changed for k in keys_for(*row)}

    def upsert_deals(self, deals: list[DealState]) -> set[Key]:
        if not deals:
            return set()
        execute_binary(
            self.db,
            """
                INSERT INTO analytics_deals AS f
                    (deal_id, creator_id, brand_id, campaign_id, status, accepted_on, completed_on,
                     accepted_fee_cents, changed_at)
                SELECT * FROM unnest(
                    %(ids)s::uuid[], %(creators)s::uuid[], %(brands)s::uuid[],
                    %(campaigns)s::uuid[], %(statuses)s::text[], %(accepted)s::date[],
                    %(completed)s::date[], %(fees)s::bigint[], %(changed)s::timestamptz[])
                ON CONFLICT (deal_id) DO UPDATE SET
                    status = excluded.status,
                    accepted_on = COALESCE(excluded.accepted_on, f.accepted_on),
                    completed_on = COALESCE(excluded.completed_on, f.completed_on),
                    accepted_fee_cents = COALESCE(excluded.accepted_fee_cents, f.accepted_fee_cents),
                    changed_at = excluded.changed_at
                WHERE excluded.changed_at >= f.changed_at
                """,
            {
                "ids": [d.deal_id for d in deals],
                "creators": [d.creator_id for d in deals],
                "brands": [d.brand_id for d in deals],
                "campaigns": [d.campaign_id for d in deals],
                "statuses": [d.status for d in deals],
                "accepted": [d.accepted_on for d in deals],
                "completed": [d.completed_on for d in deals],
                "fees": [d.accepted_fee_cents for d in deals],
                "changed": [d.changed_at for d in deals],
            },
        )
        return {
            k
            for d in deals
            for day in (d.accepted_on, d.completed_on)
            if day is not None
            for k in keys_for(d.creator_id, d.brand_id, d.campaign_id, day)
        }

    def recompute(self, keys: Iterable[Key]) -> int:
        by_scope: dict[str, list[tuple[uuid.UUID, date]]] = {}
        for scope, scope_id, day in set(keys):
            by_scope.setdefault(scope, []).append((scope_id, day))
        written = 0
        for scope, pairs in by_scope.items():
            column = SCOPES[scope]
            execute_binary(
                self.db,
                f"""
                    INSERT INTO analytics_daily AS a
                        (scope, scope_id, day, views, engagements, engagement_rate, posts,
                         deals_accepted, deals_completed, earnings_cents)
                    SELECT %(scope)s, k.id, k.day, COALESCE(c.views, 0), COALESCE(c.eng, 0),
                           CASE WHEN COALESCE(c.views, 0) > 0 THEN c.eng::float8 / c.views ELSE 0 END,
                           p.posts, da.n, dc.n, COALESCE(dc.earn, 0)
                    FROM unnest(%(ids)s::uuid[], %(days)s::date[]) AS k(id, day)
                    LEFT JOIN LATERAL (
                        SELECT SUM(d_views) AS views, SUM(d_engagements) AS eng
                        FROM analytics_content_daily WHERE {column} = k.id AND day = k.day) c ON true
                    LEFT JOIN LATERAL (
                        SELECT count(*) AS posts FROM analytics_content
                        WHERE {column} = k.id AND published_at >= k.day AND published_at < k.day + 1) p ON true
                    LEFT JOIN LATERAL (
                        SELECT count(*) AS n FROM analytics_deals
                        WHERE {column} = k.id AND accepted_on = k.day) da ON true
                    LEFT JOIN LATERAL (
                        SELECT count(*) AS n, SUM(accepted_fee_cents) AS earn
                        FROM analytics_deals WHERE {column} = k.id AND completed_on = k.day) dc ON true
                    ON CONFLICT (scope, scope_id, day) DO UPDATE SET
                        views = excluded.views, engagements = excluded.engagements,
                        engagement_rate = excluded.engagement_rate, posts = excluded.posts,
                        deals_accepted = excluded.deals_accepted, deals_completed = excluded.deals_completed,
                        earnings_cents = excluded.earnings_cents
                    """,  # noqa: S608 - the column comes from SCOPES, never from input  # nosec B608
                {"scope": scope, "ids": [p[0] for p in pairs], "days": [p[1] for p in pairs]},
            )
            written += len(pairs)
        return written

    def series(self, scope: str, scope_id: uuid.UUID, start: date, end: date) -> list[AnalyticsDaily]:
        return list(
            self.db.scalars(
                select(AnalyticsDaily)
                .where(
                    AnalyticsDaily.scope == scope,
                    AnalyticsDaily.scope_id == scope_id,
                    AnalyticsDaily.day >= start,
                    AnalyticsDaily.day <= end,
                )
                .order_by(AnalyticsDaily.day)
            ).all()
        )

    def activity(self, scope: str, ids: Iterable[uuid.UUID], start: date, end: date) -> dict[uuid.UUID, Activity]:
        """Each id's views, engagements and posts over [start, end)."""
        rows = self.db.execute(
            select(
                AnalyticsDaily.scope_id,
                func.sum(AnalyticsDaily.views),
                func.sum(AnalyticsDaily.engagements),
                func.sum(AnalyticsDaily.posts),
            )
            .where(
                AnalyticsDaily.scope == scope,
                AnalyticsDaily.scope_id == any_(bindparam("ids", list(ids), type_=ARRAY(Uuid()))),
                AnalyticsDaily.day >= start,
                AnalyticsDaily.day < end,
            )
            .group_by(AnalyticsDaily.scope_id)
        )
        return {row[0]: Activity(int(row[1] or 0), int(row[2] or 0), int(row[3] or 0)) for row in rows}

    def retention_counts(self, *, until: datetime) -> list[CohortCount]:
        """Creators per sign-up cohort and, per later month, how many of them were active, from
        the event log before `until` (one statement: a scan of the log, months in UTC).

        A creator is active in a month when they did something themselves: an event about them
        (its payload's `creator_id`) whose actor is the creator (`creator:<id>`, or the user who
        signed up for the profile), or content they published and task proof they submitted
        whoever reported it, a message they sent, a deal they proposed or countered."""
        # Compiling this scan (JIT) costs more than running it: 2 s of 3 on a 2.3M-event log.
        self.db.execute(text("SET LOCAL jit = off"))
        rows = self.db.execute(
            _RETENTION_SQL,
            {
                "until": until,
                "signed_up": _SIGNED_UP,
                "profile": _PROFILE,
                "their_own": _THEIR_OWN,
                "message": _MESSAGE,
                "proposals": _PROPOSALS,
                "reading": _READING,
            },
        )
        return [CohortCount(row[0], row[1], int(row[2]), row[3]) for row in rows]

    def reset(self) -> None:
        for table in (AnalyticsDaily, ContentDaily, ContentFact, DealFact):
            self.db.execute(delete(table))
