"""The sync flow: the worker claims the accounts that are due (their schedule came, a webhook or
a person asked), and for each, in a thread pool: fresh tokens (refreshed before they expire, a
refused grant marks the account reconnect-needed), the platform read outside any transaction
(profile, new posts newest-first, the numbers of recent posts), then one short transaction that
stores what is new through the content service, with deterministic event ids:

    content.published         uuid5(platform:post id)
    content.metrics_snapshot  uuid5(platform:post id@capture time)

so a retried round, a redelivered webhook or two workers store every post and every measurement
once. A failure reschedules the account (Retry-After for a 429, backoff otherwise); the adapters'
timeouts and circuit breakers keep a hanging platform from holding the worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import structlog

from veri.analytics.enrichment import normalise_metrics
from veri.connectors import service
from veri.connectors.base import (
    AccountProfile,
    Connector,
    ConnectorError,
    GrantRejected,
    RateLimited,
    RemotePost,
    TokenSet,
)
from veri.connectors.repository import ConnectorRepository
from veri.connectors.service import ConnectorRuntime
from veri.content import service as content_service
from veri.content.service import ImportedMeasurement, ImportedPost
from veri.creators import service as creator_service
from veri.db.engine import Database
from veri.errors import NotFound
from veri.live import service as live_service
from veri.models.base import utcnow
from veri.models.creators import Platform, SocialAccountStatus

__all__ = ["ACTOR", "AccountResult", "RoundReport", "SyncRunner", "metrics_event_id", "post_event_id"]

log = structlog.get_logger(__name__)

ACTOR = "system:connector"
# The namespace of the ids of events a sync emits (fixed forever: ids must not change).
EVENTS = uuid.UUID("6f1c7a52-3d4b-4e8f-9a61-0c2b5d7e8f17")
# Posts measured per sync at most (the newest of the last `connector_metrics_days`).
MAX_MEASURED = 200

Outcome = Literal["synced", "failed", "reconnect", "skipped"]


def post_event_id(platform: Platform, post_id: str) -> uuid.UUID:
    return uuid.uuid5(EVENTS, f"{platform.value}:{post_id}")


def metrics_event_id(platform: Platform, post_id: str, captured_at: datetime) -> uuid.UUID:
    return uuid.uuid5(EVENTS, f"{platform.value}:{post_id}@{captured_at.isoformat()}")


@dataclass(frozen=True)
class AccountResult:
    account_id: uuid.UUID
    outcome: Outcome
    posts: int = 0
    snapshots: int = 0
    error: str = ""


@dataclass
class RoundReport:
    claimed: int = 0
    synced: int = 0
    failed: int = 0
    reconnect: int = 0
    skipped: int = 0
    posts: int = 0
    snapshots: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def add(self, result: AccountResult) -> None:
        setattr(self, result.outcome, getattr(self, result.outcome) + 1)
        self.posts += result.posts
        self.snapshots += result.snapshots
        if result.error and len(self.errors) < 20:
            self.errors.append(result.error)


@dataclass(frozen=True)
class _Read:
    """What one sync read from the platform."""

    profile: AccountProfile
    posts: list[RemotePost]
    metrics: dict[str, dict[str, int]]


@dataclass(frozen=True)
class _Account:
    account_id: uuid.UUID
    creator_id: uuid.UUID
    platform: Platform
    external_id: str
    newest_post_at: datetime | None
    known: dict[str, datetime]  # recent posts already stored: external id -> published at


class SyncRunner:
    def __init__(
        self,
        database: Database,
        runtime: ConnectorRuntime,
        *,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.database = database
        self.runtime = runtime
        self.settings = runtime.settings
        self.clock = clock

    @property
    def lease(self) -> timedelta:
        """Long enough for the slowest sync the timeouts allow; a crashed worker's runs out."""
        s = self.settings
        return timedelta(seconds=max(120.0, 8 * s.connector_retry_attempts * (s.connector_timeout_seconds + 1)))

    def run_once(
        self, *, now: datetime | None = None, limit: int | None = None, concurrency: int | None = None
    ) -> RoundReport:
        """Sync every due account (up to `limit`), `concurrency` at a time. `now` is the round's
        moment: the capture time of every measurement it takes."""
        started = time.perf_counter()
        now = now or self.clock()
        with self.database.transaction() as db:
            claimed = ConnectorRepository(db).claim_due(
                now, lease=self.lease, limit=limit or self.settings.connector_accounts_per_round
            )
        report = RoundReport(claimed=len(claimed))
        if claimed:
            workers = min(concurrency or self.settings.connector_concurrency, len(claimed))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="veri-sync") as pool:
                for result in pool.map(lambda account_id: self.sync_account(account_id, now), claimed):
                    report.add(result)
        report.seconds = time.perf_counter() - started
        if claimed:
            log.info(
                "connector_round",
                claimed=report.claimed,
                synced=report.synced,
                failed=report.failed,
                reconnect=report.reconnect,
                posts=report.posts,
                snapshots=report.snapshots,
                seconds=round(report.seconds, 2),
            )
        return report

    def sync_account(self, account_id: uuid.UUID, now: datetime) -> AccountResult:
        started = time.perf_counter()
        try:
            loaded = self._load(account_id, now)
            if isinstance(loaded, AccountResult):
                return loaded
            account, tokens, connector = loaded
            try:
                read = self._read(connector, tokens, account)
            except GrantRejected:
                # The access token may have died before its time: one forced refresh, once.
                refreshed = self._refresh(account_id, force=True)
                if refreshed is None:
                    return AccountResult(account_id, "reconnect", error=f"{account.platform.value}: grant refused")
                read = self._read(connector, refreshed, account)
            return self._store(account, read, now, started)
        except GrantRejected as exc:
            self._reconnect(account_id, str(exc))
            return AccountResult(account_id, "reconnect", error=str(exc))
        except ConnectorError as exc:
            self._failed(account_id, exc)
            return AccountResult(account_id, "failed", error=str(exc))
        except Exception as exc:  # a bug or the database: this account fails, the round goes on
            log.exception("sync_crashed", account_id=str(account_id))
            self._failed(account_id, exc)
            return AccountResult(account_id, "failed", error=f"internal error ({type(exc).__name__})")

    # -- the steps -------------------------------------------------------------------------------

    def _load(self, account_id: uuid.UUID, now: datetime) -> tuple[_Account, TokenSet, Connector] | AccountResult:
        with self.database.transaction() as db:
            repo = ConnectorRepository(db)
            grant = repo.grant(account_id)
            state = repo.sync_state(account_id)
            if grant is None or grant.revoked_at is not None or state is None:
                if state is not None:
                    repo.release(account_id)
                return AccountResult(account_id, "skipped")
            try:
                connector = self.runtime.connectors.get(grant.platform)
            except NotFound:
                repo.release(account_id)
                return AccountResult(account_id, "skipped", error=f"{grant.platform.value} is not configured")
            since = now - timedelta(days=self.settings.connector_metrics_days)
            known = content_service.synced_posts(
                db, creator_id=grant.creator_id, platform=grant.platform, since=since, limit=MAX_MEASURED
            )
            account = _Account(
                account_id=account_id,
                creator_id=grant.creator_id,
                platform=grant.platform,
                external_id=grant.external_account_id,
                newest_post_at=state.newest_post_at,
                known={item.external_id: item.published_at for item in known},
            )
            tokens = service.tokens_of(grant, self.runtime.cipher)
        if connector.needs_refresh(tokens, self.clock()):
            refreshed = self._refresh(account_id, force=False)
            if refreshed is None:
                return AccountResult(account_id, "reconnect", error=f"{account.platform.value}: grant refused")
            tokens = refreshed
        return account, tokens, connector

    def _refresh(self, account_id: uuid.UUID, *, force: bool) -> TokenSet | None:
        """Fresh tokens, under the grant's row lock (two workers never spend one refresh token).
        None when the platform refused: the account is marked reconnect-needed."""
        with self.database.transaction() as db:
            grant = ConnectorRepository(db).grant(account_id, for_update=True)
            if grant is None or grant.revoked_at is not None:
                return None
            tokens = service.tokens_of(grant, self.runtime.cipher)
            connector = self.runtime.connectors.get(grant.platform)
            if not force and not connector.needs_refresh(tokens, self.clock()):
                return tokens  # another worker refreshed it meanwhile
            try:
                renewed = connector.refresh(tokens)
            except GrantRejected as exc:
                service.mark_reconnect_needed(db, grant=grant, reason=str(exc))
                return None
            service.store_tokens(grant, renewed, self.runtime.cipher)
            grant.refreshed_at = self.clock()
            log.info("token_refreshed", platform=grant.platform.value, account_id=str(account_id))
            return renewed

    def _read(self, connector: Connector, tokens: TokenSet, account: _Account) -> _Read:
        profile = connector.profile(tokens)
        posts = connector.posts(
            tokens,
            account_id=account.external_id,
            newer_than=account.newest_post_at,
            max_pages=self.settings.connector_post_pages,
        )
        new_ids = [p.external_id for p in posts]
        measured = (new_ids + [i for i in account.known if i not in set(new_ids)])[:MAX_MEASURED]
        metrics = connector.post_metrics(tokens, account_id=account.external_id, post_ids=measured) if measured else {}
        return _Read(profile=profile, posts=posts, metrics=metrics)

    def _store(self, account: _Account, read: _Read, now: datetime, started: float) -> AccountResult:
        platform = account.platform
        published = dict(account.known) | {p.external_id: p.published_at for p in read.posts}
        posts = [
            ImportedPost(
                external_id=p.external_id,
                kind=p.kind,
                published_at=p.published_at,
                event_id=post_event_id(platform, p.external_id),
                title=p.title,
                url=p.url,
            )
            for p in read.posts
            if p.external_id not in account.known
        ]
        measurements = []
        for post_id, raw in sorted(read.metrics.items()):
            if post_id not in published:
                continue  # a post the platform numbered but did not list: measured once it is listed
            captured = max(now, published[post_id])
            measurements.append(
                ImportedMeasurement(
                    external_id=post_id,
                    captured_at=captured,
                    counts=vars(normalise_metrics(raw)),
                    platform_metrics=raw,
                    event_id=metrics_event_id(platform, post_id, captured),
                )
            )
        with self.database.transaction() as db:
            repo = ConnectorRepository(db)
            state = repo.sync_state(account.account_id)
            grant = repo.grant(account.account_id)
            if state is None or grant is None or grant.revoked_at is not None:
                return AccountResult(account.account_id, "skipped")  # disconnected meanwhile
            stored = content_service.import_synced(
                db,
                creator_id=account.creator_id,
                platform=platform,
                posts=posts,
                measurements=measurements,
                actor=ACTOR,
            )
            account_row = creator_service.set_social_account_status(
                db,
                account_id=account.account_id,
                status=SocialAccountStatus.CONNECTED,
                followers=read.profile.followers,
            )
            newest = max((p.published_at for p in read.posts), default=None)
            if newest is not None and (state.newest_post_at is None or newest > state.newest_post_at):
                state.newest_post_at = newest
            finished = self.clock()
            state.last_success_at = finished
            state.next_sync_at = finished + timedelta(seconds=self.settings.connector_sync_interval_seconds)
            state.lease_until = None
            state.consecutive_failures = 0
            state.last_error = ""
            state.posts_synced += stored.posts
            state.snapshots_synced += stored.snapshots
            state.last_duration_ms = int((time.perf_counter() - started) * 1000)
            creator = creator_service.creator_by_id(db, account.creator_id)
            if creator is not None and account_row is not None and (stored.posts or stored.snapshots):
                live_service.publish(
                    db,
                    user_ids=[creator.user_id],
                    kind="connectors.synced",
                    data={"account_id": str(account.account_id), "posts": stored.posts, "snapshots": stored.snapshots},
                )
        return AccountResult(account.account_id, "synced", posts=stored.posts, snapshots=stored.snapshots)

    def _reconnect(self, account_id: uuid.UUID, reason: str) -> None:
        with self.database.transaction() as db:
            grant = ConnectorRepository(db).grant(account_id, for_update=True)
            if grant is not None:
                service.mark_reconnect_needed(db, grant=grant, reason=reason)

    def _failed(self, account_id: uuid.UUID, exc: BaseException) -> None:
        """Reschedule: a 429's Retry-After, else backoff doubling from the poll interval up to
        the sync interval."""
        settings = self.settings
        with self.database.transaction() as db:
            state = ConnectorRepository(db).sync_state(account_id)
            if state is None:
                return
            state.consecutive_failures += 1
            backoff = settings.connector_poll_seconds * 2 ** min(state.consecutive_failures, 16)
            delay = min(settings.connector_sync_interval_seconds, backoff)
            if isinstance(exc, RateLimited):
                delay = max(delay, exc.retry_after)
            state.next_sync_at = self.clock() + timedelta(seconds=delay)
            state.lease_until = None
            state.last_error = (str(exc) or type(exc).__name__)[:300]
        log.info("sync_failed", account_id=str(account_id), error=str(exc)[:200], retry_in=round(delay, 1))
