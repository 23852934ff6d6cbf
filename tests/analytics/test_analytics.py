"""Analytics: enrichment rules, the series API with its owners, the page, the Redis cache."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi import FastAPI

from tests.factories import REDIS_URL, accepted_deal, drain, make_settings, new_client, require_service, sign_up
from veri.analytics.cache import AnalyticsCache
from veri.analytics.enrichment import engagement_rate, normalise_metrics
from veri.analytics.handlers import AnalyticsHandler
from veri.app import create_app
from veri.config import RedisSettings
from veri.db.engine import Database
from veri.events.bus.embedded import EmbeddedLog
from veri.events.runtime import ConsumerLoop


def test_platform_metrics_are_normalised() -> None:
    tiktok = normalise_metrics(
        {"play_count": 1000, "digg_count": 80, "comment_count": 5, "share_count": 3, "collect_count": 2}
    )
    youtube = normalise_metrics({"viewCount": 1000, "likeCount": 80, "commentCount": 5})
    assert (tiktok.views, tiktok.likes, tiktok.comments, tiktok.shares, tiktok.saves) == (1000, 80, 5, 3, 2)
    assert (youtube.views, youtube.likes, youtube.comments) == (1000, 80, 5)
    assert engagement_rate(tiktok) == pytest.approx(0.09)
    assert engagement_rate(normalise_metrics({})) == 0.0


def analytics_loop(database: Database, cache: AnalyticsCache | None = None) -> ConsumerLoop:
    log = EmbeddedLog(database, partitions=8, lease_seconds=10)
    handler = AnalyticsHandler(cache)
    return ConsumerLoop(database, log.consumer(handler.group, "test"), handler, poll_timeout=0.01)


def _creator_with_a_deal(app: FastAPI) -> tuple[object, object, dict[str, str]]:
    brand, creator, deal = accepted_deal(
        app, "metricsbrand", "metricsmaker", title="Launch", budget_cents=500_000, fee_cents=90_000
    )
    creator.post(f"/api/v1/deals/{deal['id']}/deliver")
    brand.post(f"/api/v1/deals/{deal['id']}/complete")
    published = datetime.now(UTC) - timedelta(days=2)
    content = creator.post(
        "/api/v1/content",
        json={
            "platform": "youtube",
            "external_id": "yt-1",
            "kind": "video",
            "published_at": published.isoformat(),
            "deal_id": deal["id"],
        },
    ).json()
    for day, views in ((0, 1000), (1, 2500)):
        creator.post(
            f"/api/v1/content/{content['id']}/metrics",
            json={
                "captured_at": (published + timedelta(days=day, hours=1)).isoformat(),
                "views": views,
                "likes": views // 10,
            },
        )
    ids = {
        "creator": creator.get("/api/v1/creators/me").json()["id"],
        "brand": brand.get("/api/v1/brands/me").json()["id"],
        "campaign": deal["campaign_id"],
    }
    return brand, creator, ids


def test_series_from_the_platforms_own_activity(app: FastAPI, clean_db: Database) -> None:
    brand, creator, ids = _creator_with_a_deal(app)
    drain([analytics_loop(clean_db)])
    series = creator.get(f"/api/v1/analytics/creator/{ids['creator']}").json()  # type: ignore[attr-defined]
    assert len(series["days"]) == 30
    assert series["totals"]["views"] == 2500 and series["totals"]["posts"] == 1
    assert series["totals"]["deals_completed"] == 1 and series["totals"]["earnings_cents"] == 90_000
    assert series["totals"]["engagement_rate"] == pytest.approx(0.1)
    campaign = brand.get(f"/api/v1/analytics/campaign/{ids['campaign']}").json()  # type: ignore[attr-defined]
    assert campaign["totals"]["views"] == 2500
    assert brand.get(f"/api/v1/analytics/brand/{ids['brand']}").json()["totals"]["deals_accepted"] == 1  # type: ignore[attr-defined]

    other = new_client(app)
    sign_up(other, "creator", "nosy")
    assert other.get(f"/api/v1/analytics/creator/{ids['creator']}").status_code == 404
    assert brand.get(f"/api/v1/analytics/creator/{ids['creator']}").status_code == 404  # type: ignore[attr-defined]
    bad = creator.get(
        f"/api/v1/analytics/creator/{ids['creator']}", params={"start": "2026-05-02", "end": "2026-05-01"}
    )  # type: ignore[attr-defined]
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "end"
    too_long = creator.get(
        f"/api/v1/analytics/creator/{ids['creator']}", params={"start": "2020-01-01", "end": "2026-01-01"}
    )  # type: ignore[attr-defined]
    assert too_long.status_code == 422
    page = creator.get("/analytics", headers={"accept": "text/html"})  # type: ignore[attr-defined]
    assert page.status_code == 200 and "/vendor/plotly.min.js" in page.text and '"views": 2500' in page.text
    assert new_client(app).get("/vendor/plotly.min.js").headers["content-type"].startswith("text/javascript")


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    require_service("Redis", "127.0.0.1", 6379)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def test_cached_series_are_invalidated_by_events(
    clean_db: Database, redis_client: redis.Redis, tmp_path: object
) -> None:
    app = create_app(make_settings(tmp_path, redis=RedisSettings(redis_url=REDIS_URL)), database=clean_db)  # type: ignore[arg-type]
    with new_client(app):
        pass
    cache = AnalyticsCache(redis_client)
    _, creator, ids = _creator_with_a_deal(app)
    loop = analytics_loop(clean_db, cache)
    drain([loop])
    url = f"/api/v1/analytics/creator/{ids['creator']}"
    first = creator.get(url).json()  # type: ignore[attr-defined]
    assert redis_client.keys("veri:analytics:creator:*")
    assert creator.get(url).json() == first  # type: ignore[attr-defined]
    content = creator.get("/api/v1/content").json()["items"][0]  # type: ignore[attr-defined]
    creator.post(  # type: ignore[attr-defined]
        f"/api/v1/content/{content['id']}/metrics",
        json={"captured_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(), "views": 4000, "likes": 400},
    )
    assert creator.get(url).json() == first  # type: ignore[attr-defined]  # not processed yet: cached
    drain([loop])
    assert creator.get(url).json()["totals"]["views"] == 4000  # type: ignore[attr-defined]
