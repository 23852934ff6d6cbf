"""YouTube: Google OAuth 2.0 for web server apps (offline access, PKCE) and the YouTube Data
API v3: the channel (`channels?mine=true`), its uploads playlist (`playlistItems`, newest first)
and each video's `statistics` (viewCount, likeCount, commentCount: strings in the API)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar

from veri.connectors.base import AccountProfile, RemotePost, TokenSet, WebhookNotice
from veri.connectors.oauth import Endpoints, OAuth2Adapter, parse_moment
from veri.models.creators import Platform

__all__ = ["YouTubeConnector"]

STATISTICS = ("viewCount", "likeCount", "commentCount", "favoriteCount")


class YouTubeConnector(OAuth2Adapter):
    platform: ClassVar[Platform] = Platform.YOUTUBE
    real: ClassVar[Endpoints] = Endpoints(
        authorize="https://accounts.google.com/o/oauth2/v2/auth",
        token="https://oauth2.googleapis.com/token",  # noqa: S106 (an endpoint, not a secret)  # nosec B106
        revoke="https://oauth2.googleapis.com/revoke",
        api="https://www.googleapis.com/youtube/v3",
    )
    scopes: ClassVar[tuple[str, ...]] = ("https://www.googleapis.com/auth/youtube.readonly",)
    # A refresh token only with offline access; `consent` so a reconnect gets a new one.
    authorize_params: ClassVar[dict[str, str]] = {"access_type": "offline", "prompt": "consent"}
    refresh_margin: ClassVar[timedelta] = timedelta(minutes=5)

    def _channel(self, tokens: TokenSet) -> dict[str, Any]:
        body = self.api(
            tokens,
            "GET",
            "/channels",
            "the channel",
            params={"part": "snippet,statistics,contentDetails", "mine": "true"},
        )
        items = body.get("items") or []
        if not items:
            raise ValueError("no channel")
        channel: dict[str, Any] = items[0]
        return channel

    def _uploads(self, tokens: TokenSet) -> str:
        return str(self._channel(tokens)["contentDetails"]["relatedPlaylists"]["uploads"])

    def profile(self, tokens: TokenSet) -> AccountProfile:
        channel = self._channel(tokens)
        snippet = channel.get("snippet", {})
        handle = str(snippet.get("customUrl") or channel["id"]).lstrip("@")
        return AccountProfile(
            external_id=str(channel["id"]),
            handle=handle[:80],
            display_name=str(snippet.get("title", "")),
            followers=int(channel.get("statistics", {}).get("subscriberCount", 0)),
        )

    def posts(
        self, tokens: TokenSet, *, account_id: str, newer_than: datetime | None, max_pages: int
    ) -> list[RemotePost]:
        # A channel's uploads playlist is its id with UU for UC (relatedPlaylists.uploads says
        # the same): no second `channels` call per sync.
        uploads = "UU" + account_id[2:] if account_id.startswith("UC") else self._uploads(tokens)
        found: list[RemotePost] = []
        page_token: str | None = None
        for _ in range(max_pages):
            params = {"part": "snippet,contentDetails", "playlistId": uploads, "maxResults": "50"}
            if page_token:
                params["pageToken"] = page_token
            body = self.api(tokens, "GET", "/playlistItems", "the uploads", params=params)
            for item in body.get("items", []):
                details = item["contentDetails"]
                published = parse_moment(details.get("videoPublishedAt") or item["snippet"]["publishedAt"])
                if newer_than is not None and published <= newer_than:
                    return found
                video = str(details["videoId"])
                found.append(
                    RemotePost(
                        external_id=video,
                        kind="video",
                        published_at=published,
                        title=str(item.get("snippet", {}).get("title", ""))[:300],
                        url=f"https://www.youtube.com/watch?v={video}",
                    )
                )
            page_token = body.get("nextPageToken")
            if not page_token:
                break
        return found

    def post_metrics(self, tokens: TokenSet, *, account_id: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        metrics: dict[str, dict[str, int]] = {}
        for start in range(0, len(post_ids), 50):  # `videos` takes at most 50 ids
            chunk = post_ids[start : start + 50]
            body = self.api(
                tokens, "GET", "/videos", "video statistics", params={"part": "statistics", "id": ",".join(chunk)}
            )
            for item in body.get("items", []):
                stats = item.get("statistics", {})
                metrics[str(item["id"])] = {k: int(stats[k]) for k in STATISTICS if k in stats}
        return metrics

    def parse_webhook(self, body: bytes) -> list[WebhookNotice]:
        # The JSON form of a push notification (PubSubHubbub's Atom entry: channel, video).
        payload = json.loads(body)
        channel = payload.get("channelId")
        return [WebhookNotice(account_external_id=str(channel), kind="video")] if channel else []
