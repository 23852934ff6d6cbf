"""Webhooks the demo platform sends when something new appears: each platform's payload shape,
signed `Webhook-Signature: sha256=HMAC-SHA256(secret, "<timestamp>." + body)` with
`Webhook-Timestamp` and a unique `Webhook-Id`, posted from a background thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from veri.demo_platform.world import DemoAccount, DemoPost

__all__ = ["WebhookSender", "payload_for", "signed_headers"]


def signed_headers(
    secret: str, body: bytes, *, timestamp: int | None = None, webhook_id: str | None = None
) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id or f"wh_{secrets.token_hex(12)}",
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"sha256={mac}",
    }


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def payload_for(
    platform: str, account: DemoAccount, kind: str, post: DemoPost | None, client_id: str, now: float
) -> dict[str, Any]:
    """What each platform says: a push notification (YouTube), a Graph webhook (Instagram), a
    Login Kit event (TikTok), an EventSub notification (Twitch)."""
    if platform == "youtube":
        return {
            "kind": "youtube#pushNotification",
            "channelId": account.external_id,
            "videoId": post.id if post else None,
            "published": _iso(post.published_at) if post else None,
            "updated": _iso(now),
        }
    if platform == "instagram":
        field = "media" if kind == "post" else "insights"
        value = {"media_id": post.id} if post else {}
        return {
            "object": "instagram",
            "entry": [{"id": account.external_id, "time": int(now), "changes": [{"field": field, "value": value}]}],
        }
    if platform == "tiktok":
        event = "video.publish.complete" if kind == "post" else "video.insights.updated"
        return {
            "client_key": client_id,
            "event": event,
            "create_time": int(now),
            "user_openid": account.external_id,
            "content": json.dumps({"video_id": post.id} if post else {}),
        }
    event_type = "stream.offline" if kind == "post" else "channel.update"
    return {
        "subscription": {
            "id": secrets.token_hex(8),
            "type": event_type,
            "version": "1",
            "condition": {"broadcaster_user_id": account.external_id},
        },
        "event": {"broadcaster_user_id": account.external_id, "broadcaster_user_login": account.handle},
    }


class WebhookSender:
    def __init__(self, url: str | None, secrets_by_platform: dict[str, str], clock: Callable[[], float]):
        self.url = url
        self.secrets = secrets_by_platform
        self.clock = clock
        self.sent = 0
        self.failed = 0
        self._lock = threading.Lock()

    def send(self, platform: str, payload: dict[str, Any], *, wait: bool = False) -> None:
        if not self.url or platform not in self.secrets:
            return
        thread = threading.Thread(target=self._post, args=(platform, payload), daemon=True, name="demo-webhook")
        thread.start()
        if wait:
            thread.join(10)

    def _post(self, platform: str, payload: dict[str, Any]) -> None:
        assert self.url is not None
        body = json.dumps(payload).encode()
        headers = signed_headers(self.secrets[platform], body, timestamp=int(self.clock()))
        try:
            response = httpx.post(self.url.format(platform=platform), content=body, headers=headers, timeout=10)
            ok = response.status_code < 300
        except httpx.HTTPError:
            ok = False
        with self._lock:
            if ok:
                self.sent += 1
            else:
                self.failed += 1
