"""The four adapters against the demo platform over HTTP, as against the real ones: the OAuth
flow with PKCE (the platform checks the verifier), each platform's metric names, refresh and
revocation, expired tokens, rate limits (Retry-After honoured), 5xx retried, a hang cut short by
the timeout and the circuit breaker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.connectors.helpers import consent, query, settings_for, start_demo
from tests.factories import free_port
from veri.connectors.adapters import Connectors, build_connectors
from veri.connectors.base import GrantRejected, PlatformRefused, PlatformUnavailable, RateLimited, TokenSet
from veri.demo_platform import DemoPlatformServer

CALLBACK = "http://testserver/connectors/{}/callback"
VERIFIER = "v" * 43 + "-pkce-verifier"

# What each platform calls its numbers (the analytics enrichment maps them).
METRIC_NAMES = {
    "youtube": {"viewCount", "likeCount", "commentCount", "favoriteCount"},
    "instagram": {"impressions", "reach", "likes", "comments", "saved", "shares"},
    "tiktok": {"view_count", "like_count", "comment_count", "share_count"},
    "twitch": {"view_count"},
}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def adapters(tmp_path: Path, demo: DemoPlatformServer, sleep: Any = time.sleep, **settings: Any) -> Connectors:
    return build_connectors(settings_for(tmp_path, demo.port, **settings).connectors, env="test", sleep=sleep)


def granted(connectors: Connectors, platform: str, handle: str, verifier: str = VERIFIER) -> TokenSet:
    adapter = connectors.get(platform)
    redirect = CALLBACK.format(platform)
    url = adapter.authorize_url(state="state-123", code_verifier=VERIFIER, redirect_uri=redirect)
    back = query(consent(url, handle))
    assert back["state"] == "state-123"
    return adapter.exchange_code(code=back["code"], code_verifier=verifier, redirect_uri=redirect)


@pytest.mark.parametrize("platform", ["youtube", "instagram", "tiktok", "twitch"])
def test_the_whole_grant_against_the_platform(tmp_path: Path, demo: DemoPlatformServer, platform: str) -> None:
    connectors = adapters(tmp_path, demo)
    adapter = connectors.get(platform)
    url = adapter.authorize_url(state="s", code_verifier=VERIFIER, redirect_uri=CALLBACK.format(platform))
    sent = query(url)
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert VERIFIER not in url  # only the challenge travels through the browser
    tokens = granted(connectors, platform, f"ada_{platform}")
    profile = adapter.profile(tokens)
    assert profile.handle == f"ada_{platform}" and profile.followers > 0
    posts = adapter.posts(tokens, account_id=profile.external_id, newer_than=None, max_pages=5)
    assert len(posts) == demo.config.posts_per_account
    assert posts == sorted(posts, key=lambda p: p.published_at, reverse=True)  # newest first
    newer = adapter.posts(tokens, account_id=profile.external_id, newer_than=posts[2].published_at, max_pages=5)
    assert newer == posts[:2]
    metrics = adapter.post_metrics(tokens, account_id=profile.external_id, post_ids=[p.external_id for p in posts])
    assert set(metrics) == {p.external_id for p in posts}
    assert all(set(m) == METRIC_NAMES[platform] for m in metrics.values())
    assert sum(max(m.values()) for m in metrics.values()) > 0
    renewed = adapter.refresh(tokens)
    assert renewed.access_token != tokens.access_token and adapter.profile(renewed).external_id == profile.external_id
    adapter.revoke(renewed)
    with pytest.raises(GrantRejected):
        adapter.profile(renewed)


def test_the_platform_refuses_a_wrong_pkce_verifier_and_a_reused_code(tmp_path: Path, demo: DemoPlatformServer) -> None:
    connectors = adapters(tmp_path, demo)
    adapter = connectors.get("youtube")
    redirect = CALLBACK.format("youtube")
    url = adapter.authorize_url(state="s", code_verifier=VERIFIER, redirect_uri=redirect)
    code = query(consent(url, "pkce_check"))["code"]
    with pytest.raises(GrantRejected, match="invalid_grant"):
        adapter.exchange_code(code=code, code_verifier="w" * 50, redirect_uri=redirect)
    # The code was spent by the failed attempt: the right verifier cannot use it either.
    with pytest.raises(GrantRejected, match="invalid_grant"):
        adapter.exchange_code(code=code, code_verifier=VERIFIER, redirect_uri=redirect)
    code = query(consent(url, "pkce_check"))["code"]
    assert adapter.exchange_code(code=code, code_verifier=VERIFIER, redirect_uri=redirect).access_token


def test_a_denied_consent_and_a_request_without_pkce_go_back_with_an_error(
    demo: DemoPlatformServer, tmp_path: Path
) -> None:
    adapter = adapters(tmp_path, demo).get("tiktok")
    url = adapter.authorize_url(state="s", code_verifier=VERIFIER, redirect_uri=CALLBACK.format("tiktok"))
    assert query(consent(url, "shy_one", decision="deny"))["error"] == "access_denied"
    import httpx

    no_pkce = url.split("&code_challenge=")[0]
    answer = httpx.get(no_pkce)
    assert answer.status_code == 303 and query(answer.headers["location"])["error"] == "invalid_request"


def test_an_expired_access_token_is_refused_and_a_refresh_brings_a_new_one(tmp_path: Path) -> None:
    now = [time.time()]
    with start_demo(tmp_path, free_port(), access_ttl=60, clock=lambda: now[0]) as demo:
        connectors = adapters(tmp_path, demo)
        adapter = connectors.get("twitch")
        tokens = granted(connectors, "twitch", "short_lived")
        assert adapter.needs_refresh(tokens, tokens.expires_at) and not adapter.needs_refresh(
            TokenSet("x", expires_at=None), tokens.expires_at
        )
        now[0] += 61
        with pytest.raises(GrantRejected):
            adapter.profile(tokens)
        renewed = adapter.refresh(tokens)
        assert adapter.profile(renewed).handle == "short_lived"
        assert renewed.refresh_token != tokens.refresh_token  # Twitch rotates refresh tokens
        with pytest.raises(GrantRejected):  # ...and the old one is spent
            adapter.refresh(tokens)


def test_429s_are_retried_after_retry_after_and_500s_with_backoff(tmp_path: Path, demo: DemoPlatformServer) -> None:
    sleeps = Sleeps()
    connectors = adapters(tmp_path, demo, sleep=sleeps)
    tokens = granted(connectors, "youtube", "busy_channel")
    demo.config.set_faults(rate_429=1.0, retry_after=1, platforms=("youtube",))
    with pytest.raises(RateLimited) as limited:
        connectors.get("youtube").profile(tokens)
    assert limited.value.retry_after == 1.0
    assert sleeps.waits == [1.0, 1.0, 1.0]  # Retry-After honoured between the 4 attempts
    sleeps.waits.clear()
    demo.config.set_faults(rate_429=0.0, rate_500=1.0)
    with pytest.raises(PlatformUnavailable, match="500"):
        connectors.get("youtube").profile(tokens)
    assert len(sleeps.waits) == 3 and sleeps.waits[0] < sleeps.waits[1] < sleeps.waits[2]  # backing off


def test_a_retry_after_longer_than_allowed_is_not_waited_for(tmp_path: Path, demo: DemoPlatformServer) -> None:
    sleeps = Sleeps()
    connectors = adapters(tmp_path, demo, sleep=sleeps)
    tokens = granted(connectors, "tiktok", "patient_one")
    demo.config.set_faults(rate_429=1.0, retry_after=3600, platforms=("tiktok",))
    with pytest.raises(RateLimited) as limited:
        connectors.get("tiktok").profile(tokens)
    assert limited.value.retry_after == 3600 and sleeps.waits == []  # the sync reschedules instead


def test_the_platforms_own_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    with start_demo(tmp_path, free_port(), rate_limit_per_minute=2) as demo:
        sleeps = Sleeps()
        connectors = adapters(tmp_path, demo, sleep=sleeps, connector_max_retry_after_seconds=120)
        tokens = granted(connectors, "instagram", "chatty")
        adapter = connectors.get("instagram")
        adapter.profile(tokens)  # 2 calls a minute for this token
        adapter.profile(tokens)
        with pytest.raises(RateLimited):
            adapter.profile(tokens)
        assert sleeps.waits and all(55 <= w <= 60 for w in sleeps.waits)


def test_a_hanging_platform_costs_a_timeout_then_the_circuit_opens(tmp_path: Path, demo: DemoPlatformServer) -> None:
    connectors = adapters(
        tmp_path,
        demo,
        connector_timeout_seconds=0.3,
        connector_retry_attempts=2,
        connector_breaker_failures=3,
        connector_breaker_cool_off_seconds=30,
    )
    tokens = granted(connectors, "twitch", "frozen_stream")
    demo.config.set_faults(hang_share=1.0, hang_seconds=5.0, platforms=("twitch",))
    adapter = connectors.get("twitch")
    started = time.perf_counter()
    for _ in range(2):
        with pytest.raises(PlatformUnavailable):
            adapter.profile(tokens)
    assert time.perf_counter() - started < 3.0  # timeouts, never the 5 s hang
    assert connectors.breakers()["twitch"] == "open"
    started = time.perf_counter()
    with pytest.raises(PlatformUnavailable, match="circuit open"):
        adapter.profile(tokens)
    assert time.perf_counter() - started < 0.05  # fails fast while open
    assert connectors.breakers()["youtube"] == "closed"  # one breaker per platform


def test_a_wrong_client_secret_is_refused_not_retried(tmp_path: Path, demo: DemoPlatformServer) -> None:
    connectors = adapters(tmp_path, demo, connector_youtube_client_secret="not-the-secret")
    adapter = connectors.get("youtube")
    redirect = CALLBACK.format("youtube")
    url = adapter.authorize_url(state="s", code_verifier=VERIFIER, redirect_uri=redirect)
    code = query(consent(url, "misconfigured"))["code"]
    with pytest.raises(PlatformRefused, match="invalid_client"):
        adapter.exchange_code(code=code, code_verifier=VERIFIER, redirect_uri=redirect)
