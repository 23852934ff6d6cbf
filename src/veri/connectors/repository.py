"""All SQL of the connectors domain: grants, OAuth states, sync states, webhook receipts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.models.connectors import OAuthState, PlatformGrant, SyncState, WebhookReceipt
from veri.models.creators import Platform

__all__ = ["ConnectorRepository", "PlatformTotals"]


@dataclass(frozen=True)
class PlatformTotals:
    platform: str
    connected: int
    revoked: int
    due: int
    failing: int
    posts: int
    snapshots: int
    last_success_at: datetime | None


class ConnectorRepository:
    def __init__(self, db: Session):
        self.db = db

    # -- grants --------------------------------------------------------------------------------

    def grant(self, social_account_id: uuid.UUID, *, for_update: bool = False) -> PlatformGrant | None:
        statement = select(PlatformGrant).where(PlatformGrant.social_account_id == social_account_id)
        if for_update:
            statement = statement.with_for_update()
        return self.db.scalar(statement)

    def grant_by_external_id(self, platform: Platform, external_account_id: str) -> PlatformGrant | None:
        return self.db.scalar(
            select(PlatformGrant).where(
                PlatformGrant.platform == platform, PlatformGrant.external_account_id == external_account_id
            )
        )

    def grants_by_external_ids(self, platform: Platform, external_ids: Sequence[str]) -> list[PlatformGrant]:
        if not external_ids:
            return []
        return list(
            self.db.scalars(
                select(PlatformGrant).where(
                    PlatformGrant.platform == platform, PlatformGrant.external_account_id.in_(list(external_ids))
                )
            ).all()
        )

    def grants(self, social_account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, PlatformGrant]:
        if not social_account_ids:
            return {}
        rows = self.db.scalars(
            select(PlatformGrant).where(PlatformGrant.social_account_id.in_(list(social_account_ids)))
        ).all()
        return {row.social_account_id: row for row in rows}

    def grant_ids_page(self, after: uuid.UUID | None, limit: int) -> list[PlatformGrant]:
        statement = select(PlatformGrant).order_by(PlatformGrant.id).limit(limit).with_for_update()
        if after is not None:
            statement = statement.where(PlatformGrant.id > after)
        return list(self.db.scalars(statement).all())

    def delete_grant(self, social_account_id: uuid.UUID) -> None:
        self.db.execute(delete(PlatformGrant).where(PlatformGrant.social_account_id == social_account_id))
        self.db.execute(delete(SyncState).where(SyncState.social_account_id == social_account_id))

    # -- OAuth states ----------------------------------------------------------------------------

    def add_state(self, state: OAuthState) -> OAuthState:
        self.db.add(state)
        self.db.flush()
        return state

    def state_for_update(self, state_hash: str) -> OAuthState | None:
        return self.db.scalar(select(OAuthState).where(OAuthState.state_hash == state_hash).with_for_update())

    def purge_states(self, before: datetime) -> int:
        result = self.db.execute(delete(OAuthState).where(OAuthState.expires_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def states_page(self, after: uuid.UUID | None, limit: int) -> list[OAuthState]:
        statement = select(OAuthState).order_by(OAuthState.id).limit(limit).with_for_update()
        if after is not None:
            statement = statement.where(OAuthState.id > after)
        return list(self.db.scalars(statement).all())

    # -- sync states -----------------------------------------------------------------------------

    def sync_state(self, social_account_id: uuid.UUID) -> SyncState | None:
        return self.db.get(SyncState, social_account_id)

    def sync_states(self, social_account_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SyncState]:
        if not social_account_ids:
            return {}
        rows = self.db.scalars(select(SyncState).where(SyncState.social_account_id.in_(list(social_account_ids)))).all()
        return {row.social_account_id: row for row in rows}

    def schedule(self, social_account_id: uuid.UUID, platform: Platform, *, at: datetime) -> SyncState:
        """The account's sync state, created or reset to be due `at`."""
        state = self.db.get(SyncState, social_account_id)
        if state is None:
            state = SyncState(
                social_account_id=social_account_id,
                platform=platform,
                last_error="",
                consecutive_failures=0,
                posts_synced=0,
                snapshots_synced=0,
            )
            self.db.add(state)
        state.next_sync_at = at
        state.requested_at = at
        state.lease_until = None
        state.consecutive_failures = 0
        state.last_error = ""
        self.db.flush()
        return state

    def request_sync(self, social_account_ids: Sequence[uuid.UUID], at: datetime) -> int:
        if not social_account_ids:
            return 0
        result = self.db.execute(
            update(SyncState)
            .where(SyncState.social_account_id.in_(list(social_account_ids)), SyncState.next_sync_at.is_not(None))
            .values(requested_at=at)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def claim_due(self, now: datetime, *, lease: timedelta, limit: int) -> list[uuid.UUID]:
        """Take up to `limit` due (or asked-for) accounts no other worker holds: each is leased
        until `now + lease`, and its request is consumed (a webhook during the sync asks again)."""
        due = (
            select(SyncState.social_account_id)
            .where(
                SyncState.next_sync_at.is_not(None),
                or_(SyncState.next_sync_at <= now, SyncState.requested_at.is_not(None)),
                or_(SyncState.lease_until.is_(None), SyncState.lease_until < now),
            )
            .order_by(func.coalesce(SyncState.requested_at, SyncState.next_sync_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = self.db.execute(
            update(SyncState)
            .where(SyncState.social_account_id.in_(due.scalar_subquery()))
            .values(lease_until=now + lease, requested_at=None, last_attempt_at=now)
            .returning(SyncState.social_account_id)
        ).scalars()
        return list(rows)

    def release(self, social_account_id: uuid.UUID) -> None:
        self.db.execute(
            update(SyncState).where(SyncState.social_account_id == social_account_id).values(lease_until=None)
        )

    def overview(self) -> list[PlatformTotals]:
        rows = self.db.execute(
            select(
                SyncState.platform,
                func.count(PlatformGrant.id).filter(PlatformGrant.revoked_at.is_(None)),
                func.count(PlatformGrant.id).filter(PlatformGrant.revoked_at.is_not(None)),
                func.count().filter(
                    and_(SyncState.next_sync_at.is_not(None), SyncState.next_sync_at <= func.now())
                    | SyncState.requested_at.is_not(None)
                ),
                func.count().filter(SyncState.consecutive_failures > 0),
                func.coalesce(func.sum(SyncState.posts_synced), 0),
                func.coalesce(func.sum(SyncState.snapshots_synced), 0),
                func.max(SyncState.last_success_at),
            )
            .join(PlatformGrant, PlatformGrant.social_account_id == SyncState.social_account_id)
            .group_by(SyncState.platform)
            .order_by(SyncState.platform)
        ).all()
        return [
            PlatformTotals(
                platform=row[0].value,
                connected=int(row[1]),
                revoked=int(row[2]),
                due=int(row[3]),
                failing=int(row[4]),
                posts=int(row[5]),
                snapshots=int(row[6]),
                last_success_at=row[7],
            )
            for row in rows
        ]

    def recent_failures(self, limit: int) -> list[SyncState]:
        return list(
            self.db.scalars(
                select(SyncState)
                .where(SyncState.consecutive_failures > 0)
                .order_by(SyncState.last_attempt_at.desc().nulls_last())
                .limit(limit)
            ).all()
        )

    # -- webhooks --------------------------------------------------------------------------------

    def record_webhook(self, platform: Platform, webhook_id: str, *, sent_at: datetime, accounts: int) -> bool:
        """True the first time `webhook_id` is seen (the receipt is kept), False for a replay."""
        inserted = self.db.execute(
            insert(WebhookReceipt)
            .values(platform=platform, webhook_id=webhook_id, sent_at=sent_at, accounts=accounts)
            .on_conflict_do_nothing(index_elements=["platform", "webhook_id"])
            .returning(WebhookReceipt.id)
        ).scalar()
        return inserted is not None

    def recent_webhooks(self, limit: int) -> list[WebhookReceipt]:
        return list(
            self.db.scalars(select(WebhookReceipt).order_by(WebhookReceipt.received_at.desc()).limit(limit)).all()
        )

    def purge_webhooks(self, before: datetime) -> int:
        result = self.db.execute(delete(WebhookReceipt).where(WebhookReceipt.received_at < before))
        return int(result.rowcount)  # type: ignore[attr-defined]
