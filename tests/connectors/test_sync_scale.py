"""A thousand connected accounts sync against the demo platform while it answers 5% of calls
with 429 and 1% with 500: every post and every measurement is stored exactly once (events by
type and distinct id, rows in the content tables), and a second full pass adds nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.connectors.helpers import seed_connected, settings_for, start_demo
from tests.factories import empty_tables, free_port, open_test_database
from veri.db.embedded import EmbeddedPostgres
from veri.db.engine import Database
from veri.models.connectors import SyncState
from veri.models.content import ContentItem, MetricSnapshot
from veri.models.events import OutboxEvent

ACCOUNTS = 1000
POSTS = 3


@pytest.fixture(scope="module")
def scale_database(embedded_server: EmbeddedPostgres) -> Iterator[Database]:
    """The embedded server only, its own database: the numbers do not depend on the server."""
    embedded_server.ensure_database("veri_sync_scale")
    database = open_test_database(embedded_server.url("veri_sync_scale"), embedded_server)
    empty_tables(database)
    yield database
    database.dispose()


def _by_type(database: Database) -> dict[str, tuple[int, int]]:
    with database.sessions() as db:
        rows = db.execute(
            select(OutboxEvent.type, func.count(), func.count(func.distinct(OutboxEvent.event_id)))
            .where(OutboxEvent.type.like("content.%"))
            .group_by(OutboxEvent.type)
        ).all()
    return {row[0]: (int(row[1]), int(row[2])) for row in rows}


def _count(database: Database, model: type) -> int:
    with database.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_a_thousand_accounts_sync_through_429s_and_500s_storing_everything_once(
    scale_database: Database, tmp_path: Path
) -> None:
    from veri import wiring
    from veri.connectors.sync import SyncRunner

    port = free_port()
    settings = settings_for(
        tmp_path,
        port,
        connector_concurrency=16,
        connector_backoff_seconds=0.05,
        connector_max_retry_after_seconds=2.0,
        connector_breaker_failures=50,  # 1% 500s at 16 calls in flight must not open it
    )
    with start_demo(tmp_path, port, posts_per_account=POSTS, rate_limit_per_minute=10_000) as demo:
        runtime = wiring.connectors(settings)
        seed_connected(scale_database, demo.url, runtime.cipher, ACCOUNTS, prefix="scale")
        demo.config.set_faults(rate_429=0.05, rate_500=0.01, retry_after=1)
        runner = SyncRunner(scale_database, runtime)
        capture = datetime.now(UTC).replace(microsecond=0)  # this pass's measurement moment
        started = time.perf_counter()
        rounds, synced = 0, 0
        while synced < ACCOUNTS and rounds < 5:
            report = runner.run_once(now=capture, limit=ACCOUNTS)
            synced += report.synced
            rounds += 1
            # What failed (all retries spent) is asked again at once, as a webhook would.
            with scale_database.transaction() as db:
                db.execute(update(SyncState).where(SyncState.last_success_at.is_(None)).values(requested_at=capture))
        took = time.perf_counter() - started
        stats = httpx.get(f"{demo.url}/_demo/stats").json()["responses"]

        faults = sum(n for key, n in stats.items() if key.endswith((":429", ":500")))
        assert faults > 100, stats  # the platform really did misbehave
        assert synced == ACCOUNTS, f"{synced} synced in {rounds} rounds"
        expected = ACCOUNTS * POSTS
        assert _by_type(scale_database) == {
            "content.published": (expected, expected),
            "content.metrics_snapshot": (expected, expected),
        }
        assert _count(scale_database, ContentItem) == expected
        assert _count(scale_database, MetricSnapshot) == expected

        # A second full pass at the same moment (a replayed round): nothing new anywhere.
        with scale_database.transaction() as db:
            db.execute(update(SyncState).values(requested_at=capture))
        again = runner.run_once(now=capture, limit=ACCOUNTS)
        assert again.posts == 0 and again.snapshots == 0
        assert _by_type(scale_database)["content.metrics_snapshot"] == (expected, expected)
        assert _count(scale_database, MetricSnapshot) == expected
    print(f"\n{ACCOUNTS} accounts in {took:.1f}s ({rounds} rounds, {faults} injected faults answered)")
