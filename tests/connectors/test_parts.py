"""The connectors' pure parts: the token cipher and its key rotation, the circuit breaker, the
webhook signature, where each adapter's endpoints go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from veri.connectors.breaker import CircuitBreaker
from veri.connectors.crypto import TokenCipher, new_key
from veri.connectors.oauth import Endpoints
from veri.connectors.tiktok import TikTokConnector
from veri.connectors.webhooks import WebhookRefused, sign, verify
from veri.connectors.youtube import YouTubeConnector


def test_the_newest_key_encrypts_and_every_key_decrypts() -> None:
    old, new = new_key(), new_key()
    before = TokenCipher([old]).encrypt("ya29.secret-token")
    rotated = TokenCipher([new, old])
    assert rotated.decrypt(before) == "ya29.secret-token"  # an old ciphertext still opens
    assert not rotated.is_current(before)
    after = rotated.rotate(before)
    assert rotated.is_current(after) and rotated.decrypt(after) == "ya29.secret-token"
    assert TokenCipher([new]).decrypt(after) == "ya29.secret-token"  # the old key can go now
    with pytest.raises(ValueError, match="none of the configured keys"):
        TokenCipher([new]).decrypt(before)
    assert "secret-token" not in after and "secret-token" not in rotated.encrypt("ya29.secret-token")


def test_a_key_that_is_not_a_fernet_key_is_refused_with_how_to_make_one() -> None:
    with pytest.raises(ValueError, match="veri connectors new-key"):
        TokenCipher(["not a key"])
    assert TokenCipher.from_setting(f" {new_key()} , {new_key()} ")  # spaces and several keys


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_after_consecutive_failures_and_half_opens_after_the_cool_off() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 10.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    breaker.success()  # a success in between: the count starts over
    for _ in range(3):
        assert breaker.allow()
        breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10.0
    assert breaker.state == "half_open"
    assert breaker.allow()  # one trial call...
    assert not breaker.allow()  # ...and only one
    breaker.failure()  # the trial failed: open again, for another cool-off
    assert breaker.state == "open" and not breaker.allow()
    clock.now = 20.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _headers(secret: str, body: bytes, at: datetime, webhook_id: str = "wh_1") -> dict[str, str]:
    stamp = int(at.timestamp())
    return {"webhook-id": webhook_id, "webhook-timestamp": str(stamp), "webhook-signature": sign(secret, stamp, body)}


def test_a_webhook_signed_over_timestamp_and_body_passes_and_any_change_fails() -> None:
    body = b'{"channelId": "UC1"}'
    signed = verify(_headers("s3cret", body, NOW), body, secret="s3cret", now=NOW, tolerance=300)
    assert signed.webhook_id == "wh_1" and signed.sent_at == NOW
    for headers, sent, forged in [
        (_headers("wrong", body, NOW), body, True),  # another secret
        (_headers("s3cret", body, NOW), body + b" ", True),  # the body changed
        ({**_headers("s3cret", body, NOW), "webhook-timestamp": str(int(NOW.timestamp()) + 1)}, body, True),
        (_headers("s3cret", body, NOW - timedelta(seconds=301)), body, False),  # too old
        (_headers("s3cret", body, NOW + timedelta(seconds=301)), body, False),  # from the future
        ({"webhook-id": "x", "webhook-timestamp": "soon", "webhook-signature": "sha256=0"}, body, False),
        ({}, body, False),
    ]:
        with pytest.raises(WebhookRefused) as refused:
            verify(headers, sent, secret="s3cret", now=NOW, tolerance=300)
        assert refused.value.forged is forged, refused.value.reason


def test_endpoints_move_under_a_base_url_keeping_each_path() -> None:
    moved = YouTubeConnector.real.under("http://127.0.0.1:8001/youtube/")
    assert moved == Endpoints(
        authorize="http://127.0.0.1:8001/youtube/o/oauth2/v2/auth",
        token="http://127.0.0.1:8001/youtube/token",
        revoke="http://127.0.0.1:8001/youtube/revoke",
        api="http://127.0.0.1:8001/youtube/youtube/v3",
    )
    assert TikTokConnector.real.under("http://h/tiktok").token.endswith("/tiktok/v2/oauth/token/")
