"""bench/sync: connected accounts synced against the demo platform (started here, on a free port,
optionally misbehaving) by Veri's sync (adapters through Authlib, retries, breaker, one short
transaction per account storing posts, snapshots and their events), against the raw ceiling
measured in the same run: the same HTTP calls for the same accounts with httpx, straight to the
demo platform's endpoints, nothing stored, faults off. `ratio` is ours / raw in accounts per
minute. Prints one JSON object per result.

    .venv/bin/python bench/sync.py --accounts 400 --concurrency 8
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.connectors.helpers import seed_connected, settings_for, start_demo
from tests.factories import empty_tables, free_port

from veri import wiring
from veri.connectors.service import tokens_of
from veri.connectors.sync import SyncRunner
from veri.db import migrate
from veri.db.embedded import start_embedded_postgres
from veri.db.engine import Database
from veri.models.connectors import PlatformGrant, SyncState


def raw_sync(client: httpx.Client, base: str, platform: str, token: str, external_id: str, client_id: str) -> int:
    """One account's sync as bare HTTP calls: the same endpoints and parameters the adapter uses
    (profile, newest posts, their numbers). The number of calls made."""
    auth = {"Authorization": f"Bearer {token}"}
    root = f"{base}/{platform}"

    def get(path: str, **params: Any) -> Any:
        response = client.get(
            root + path, params=params, headers=auth | ({"Client-Id": client_id} if platform == "twitch" else {})
        )
        response.raise_for_status()
        return response.json()

    if platform == "youtube":
        get("/youtube/v3/channels", part="snippet,statistics,contentDetails", mine="true")
        items = get(
            "/youtube/v3/playlistItems", part="snippet,contentDetails", playlistId="UU" + external_id[2:], maxResults=50
        )["items"]
        get("/youtube/v3/videos", part="statistics", id=",".join(i["contentDetails"]["videoId"] for i in items))
        return 3
    if platform == "instagram":
        get("/me", fields="user_id,username,name,followers_count,media_count")
        media = get("/me/media", fields="id,caption,media_type,media_product_type,timestamp,permalink", limit=25)[
            "data"
        ]
        for item in media:
            get(f"/{item['id']}/insights", metric="impressions,reach,likes,comments,saved,shares")
        return 2 + len(media)
    if platform == "tiktok":
        get("/v2/user/info/", fields="open_id,union_id,avatar_url,display_name,username,follower_count")
        videos = client.post(
            root + "/v2/video/list/",
            params={"fields": "id,title,video_description,create_time,share_url"},
            json={"max_count": 20},
            headers=auth,
        ).json()["data"]["videos"]
        client.post(
            root + "/v2/video/query/",
            params={"fields": "id,view_count,like_count,comment_count,share_count"},
            json={"filters": {"video_ids": [v["id"] for v in videos]}},
            headers=auth,
        ).raise_for_status()
        return 3
    user = get("/helix/users")["data"][0]
    get("/helix/channels/followers", broadcaster_id=user["id"], first=1)
    videos = get("/helix/videos", user_id=external_id, first=20, sort="time")["data"]
    client.get(
        root + "/helix/videos", params=[("id", v["id"]) for v in videos], headers=auth | {"Client-Id": client_id}
    )
    return 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--posts", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate-429", type=float, default=0.0, help="share of calls the platform answers 429")
    parser.add_argument("--rate-500", type=float, default=0.0, help="share of calls the platform answers 500")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="veri-bench-sync-"))
    server = start_embedded_postgres(tmp / "pg", database="bench_sync")
    engine = create_engine(server.url("bench_sync"), pool_size=args.concurrency + 4, max_overflow=8)
    migrate.upgrade(engine)
    database = Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False), embedded=server)
    database.detect_capabilities()
    empty_tables(database)
    port = free_port()
    settings = settings_for(tmp, port, connector_concurrency=args.concurrency, connector_breaker_failures=50)
    try:
        with start_demo(tmp, port, posts_per_account=args.posts, rate_limit_per_minute=100_000) as demo:
            runtime = wiring.connectors(settings)
            seed_connected(database, demo.url, runtime.cipher, args.accounts, prefix="bench")
            with database.sessions() as db:
                grants = [
                    (g.platform.value, tokens_of(g, runtime.cipher).access_token, g.external_account_id)
                    for g in db.scalars(select(PlatformGrant)).all()
                ]
            demo.config.set_faults(rate_429=args.rate_429, rate_500=args.rate_500, retry_after=1)
            client_ids = {p: settings.connectors.client_id(p) for p in ("youtube", "instagram", "tiktok", "twitch")}

            def raw_pass() -> tuple[float, int]:
                limits = httpx.Limits(
                    max_connections=args.concurrency * 2, max_keepalive_connections=args.concurrency * 2
                )
                with httpx.Client(timeout=10, limits=limits) as client, ThreadPoolExecutor(args.concurrency) as pool:
                    started = time.perf_counter()
                    calls = sum(
                        pool.map(lambda g: raw_sync(client, demo.url, g[0], g[1], g[2], client_ids[g[0]]), grants)
                    )
                    return time.perf_counter() - started, calls

            results: list[dict[str, Any]] = []
            runner = SyncRunner(database, runtime)

            def ours_pass(label: str) -> None:
                with database.transaction() as db:
                    db.execute(update(SyncState).values(requested_at=datetime.now(UTC)))
                before = sum(a.calls for a in runtime.connectors)
                started = time.perf_counter()
                report = runner.run_once(limit=args.accounts)
                ours = time.perf_counter() - started
                calls = sum(a.calls for a in runtime.connectors) - before
                # The ceiling: the same calls on a platform that never misbehaves.
                demo.config.set_faults(rate_429=0.0, rate_500=0.0)
                raw, raw_calls = raw_pass()
                demo.config.set_faults(rate_429=args.rate_429, rate_500=args.rate_500)
                results.append(
                    {
                        "bench": "sync",
                        "pass": label,
                        "accounts": args.accounts,
                        "posts_per_account": args.posts,
                        "concurrency": args.concurrency,
                        "faults": {"429": args.rate_429, "500": args.rate_500},
                        "synced": report.synced,
                        "failed": report.failed,
                        "posts_stored": report.posts,
                        "snapshots_stored": report.snapshots,
                        "ours_seconds": round(ours, 2),
                        "ours_accounts_per_minute": round(args.accounts / ours * 60),
                        "ours_calls": calls,
                        "raw_seconds": round(raw, 2),
                        "raw_accounts_per_minute": round(args.accounts / raw * 60),
                        "raw_calls": raw_calls,
                        "ratio": round(raw / ours, 3),
                    }
                )

            ours_pass("first sync (posts + metrics)")
            ours_pass("resync (new posts only + metrics)")
            for result in results:
                print(json.dumps(result))
    finally:
        engine.dispose()
        server.stop()


if __name__ == "__main__":
    main()
