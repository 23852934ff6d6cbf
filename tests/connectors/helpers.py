"""Shared by the connectors' tests: the demo platform on a free port, Veri's settings pointed at
it, and a creator who connects a platform the way a browser does (start, consent, callback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from tests.factories import make_settings
from veri.cli.connectors import demo_platform_config
from veri.config import ConnectorSettings, Settings
from veri.demo_platform import DemoConfig, DemoPlatformServer

FAST = {
    "connector_timeout_seconds": 2.0,
    "connector_connect_timeout_seconds": 1.0,
    "connector_backoff_seconds": 0.02,
    "connector_retry_attempts": 4,
    "connector_max_retry_after_seconds": 2.0,
    "connector_breaker_failures": 5,
    "connector_breaker_cool_off_seconds": 1.0,
    "connector_poll_seconds": 0.2,
}


def settings_for(tmp_path: Path, port: int, **connector: Any) -> Settings:
    return make_settings(tmp_path, connectors=ConnectorSettings(demo_platform_port=port, **(FAST | connector)))


def start_demo(tmp_path: Path, port: int, **overrides: Any) -> DemoPlatformServer:
    config: DemoConfig = demo_platform_config(settings_for(tmp_path, port), webhook_url=None, **overrides)
    return DemoPlatformServer(config, port=port).start()


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def consent(authorize_url: str, handle: str, *, decision: str = "approve") -> str:
    """A person on the platform's consent page: signed in as `handle`, they approve (or deny).
    The redirect back to Veri that the platform answers with."""
    page = httpx.get(authorize_url)
    assert page.status_code == 200, page.text
    assert "Approve" in page.text and "Deny" in page.text
    answer = httpx.post(
        authorize_url.split("?")[0], data={**query(authorize_url), "handle": handle, "decision": decision}
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def connect(client: TestClient, platform: str, handle: str) -> dict[str, Any]:
    """Start, consent and finish through the API; the connection Veri answers with."""
    started = client.post(f"/api/v1/connectors/{platform}/start")
    assert started.status_code == 200, started.text
    back = query(consent(started.json()["authorize_url"], handle))
    done = client.post(f"/api/v1/connectors/{platform}/callback", json={"code": back["code"], "state": back["state"]})
    assert done.status_code == 200, done.text
    return dict(done.json())


PLATFORMS = ("youtube", "instagram", "tiktok", "twitch")


def seed_connected(database: Any, demo_url: str, cipher: Any, count: int, *, prefix: str = "bulk") -> list[Any]:
    """`count` creators, each with one account connected (spread over the four platforms), their
    grants issued by the demo platform without the consent page, all due for a sync. The ids of
    their social accounts."""
    from datetime import UTC, datetime, timedelta

    from veri.connectors.base import TokenSet
    from veri.connectors.service import store_tokens
    from veri.models.accounts import Role, User
    from veri.models.connectors import PlatformGrant, SyncState
    from veri.models.creators import Creator, Platform, SocialAccount, SocialAccountStatus

    now = datetime.now(UTC)
    handles = {p: [f"{prefix}_{p[:2]}_{i}" for i in range(count) if PLATFORMS[i % 4] == p] for p in PLATFORMS}
    issued = {
        p: httpx.post(f"{demo_url}/_demo/grants", json={"platform": p, "handles": hs}, timeout=120).json()["grants"]
        for p, hs in handles.items()
        if hs
    }
    import uuid

    users, creators, accounts, grants, states = [], [], [], [], []
    for platform, issued_grants in issued.items():
        for grant in issued_grants:
            user_id, creator_id, account_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            handle = grant["handle"]
            users.append(
                User(
                    id=user_id, email=f"{handle}@example.com", display_name=handle, password_hash="x", role=Role.CREATOR
                )
            )
            creators.append(
                Creator(id=creator_id, user_id=user_id, handle=handle, display_name=handle, platforms=[platform])
            )
            accounts.append(
                SocialAccount(
                    id=account_id,
                    creator_id=creator_id,
                    platform=Platform(platform),
                    handle=handle,
                    status=SocialAccountStatus.CONNECTED,
                    followers=0,
                )
            )
            row = PlatformGrant(
                social_account_id=account_id,
                creator_id=creator_id,
                platform=Platform(platform),
                external_account_id=grant["external_id"],
            )
            expires = now + timedelta(seconds=grant["expires_in"])
            store_tokens(row, TokenSet(grant["access_token"], grant["refresh_token"], expires, ""), cipher)
            grants.append(row)
            states.append(
                SyncState(
                    social_account_id=account_id,
                    platform=Platform(platform),
                    next_sync_at=now,
                    requested_at=now,
                    last_error="",
                    consecutive_failures=0,
                    posts_synced=0,
                    snapshots_synced=0,
                )
            )
    with database.transaction() as db:
        for rows in (users, creators, accounts, grants, states):
            db.add_all(rows)
            db.flush()
    return [a.id for a in accounts]
