"""Twitch: the OAuth authorization code flow at id.twitch.tv (PKCE sent too) and the Helix API
(`Client-Id` on every call): the user, their follower total (`channels/followers`) and their
videos (`videos`, newest first, by cursor) with each video's view_count."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from veri.connectors.base import AccountProfile, RemotePost, TokenSet, WebhookNotice
from veri.connectors.oauth import Endpoints, OAuth2Adapter, parse_moment
from veri.models.creators import Platform

__all__ = ["TwitchConnector"]


class TwitchConnector(OAuth2Adapter):
    platform: ClassVar[Platform] = Platform.TWITCH
    real: ClassVar[Endpoints] = Endpoints(
        authorize="https://id.twitch.tv/oauth2/authorize",
        token="https://id.twitch.tv/oauth2/token",  # noqa: S106 (an endpoint, not a secret)  # nosec B106
        revoke="https://id.twitch.tv/oauth2/revoke",
        api="https://api.twitch.tv/helix",
    )
    scopes: ClassVar[tuple[str, ...]] = ("user:read:email", "moderator:read:followers")

    def _helix(self, tokens: TokenSet, path: str, what: str, params: Any) -> dict[str, Any]:
        return self.api(tokens, "GET", path, what, params=params, headers={"Client-Id": self.client_id})

    def profile(self, tokens: TokenSet) -> AccountProfile:
        user = self._helix(tokens, "/users", "the user", None)["data"][0]
        followers = self._helix(
            tokens, "/channels/followers", "the followers", {"broadcaster_id": user["id"], "first": "1"}
        )
        return AccountProfile(
            external_id=str(user["id"]),
            handle=str(user["login"])[:80],
            display_name=str(user.get("display_name", "")),
            followers=int(followers.get("total", 0)),
        )

    def posts(
        self, tokens: TokenSet, *, account_id: str, newer_than: datetime | None, max_pages: int
    ) -> list[RemotePost]:
        found: list[RemotePost] = []
        after: str | None = None
        for _ in range(max_pages):
            params = {"user_id": account_id, "first": "20", "sort": "time"}
            if after:
                params["after"] = after
            body = self._helix(tokens, "/videos", "the videos", params)
            for video in body.get("data", []):
                published = parse_moment(video.get("published_at") or video["created_at"])
                if newer_than is not None and published <= newer_than:
                    return found
                found.append(
                    RemotePost(
                        external_id=str(video["id"]),
                        kind="stream",
                        published_at=published,
                        title=str(video.get("title", ""))[:300],
                        url=str(video.get("url", ""))[:500],
                    )
                )
            after = body.get("pagination", {}).get("cursor")
            if not after:
                break
        return found

    def post_metrics(self, tokens: TokenSet, *, account_id: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        metrics: dict[str, dict[str, int]] = {}
        for start in range(0, len(post_ids), 100):  # `videos` takes at most 100 ids
            params = [("id", video) for video in post_ids[start : start + 100]]
            for video in self._helix(tokens, "/videos", "video views", params).get("data", []):
                metrics[str(video["id"])] = {"view_count": int(video.get("view_count", 0))}
        return metrics

    def parse_webhook(self, body: bytes) -> list[WebhookNotice]:
        payload = json.loads(body)
        event = payload.get("event", {})
        account = event.get("broadcaster_user_id")
        kind = str(payload.get("subscription", {}).get("type", ""))
        return [WebhookNotice(account_external_id=str(account), kind=kind)] if account else []
