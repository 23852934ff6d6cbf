"""TikTok: Login Kit v2 (the client is named `client_key`; PKCE; refresh tokens rotate) and the
Display API: `user/info` (follower_count), `video/list` (newest first, by cursor) and
`video/query` for each video's view_count, like_count, comment_count and share_count."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from authlib.common.urls import add_params_to_qs
from authlib.integrations.httpx_client import OAuth2Client

from veri.connectors.base import AccountProfile, RemotePost, TokenSet, WebhookNotice
from veri.connectors.oauth import Endpoints, OAuth2Adapter, parse_moment
from veri.models.creators import Platform

__all__ = ["TikTokConnector"]

COUNTS = ("view_count", "like_count", "comment_count", "share_count")


def _client_key_in_body(client: Any, method: str, uri: str, headers: dict[str, str], body: str) -> tuple[Any, ...]:
    """TikTok's client authentication: `client_key` and `client_secret` in the form body."""
    body = add_params_to_qs(body or "", [("client_key", client.client_id), ("client_secret", client.client_secret)])
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(body))
    return uri, headers, body


class TikTokConnector(OAuth2Adapter):
    platform: ClassVar[Platform] = Platform.TIKTOK
    real: ClassVar[Endpoints] = Endpoints(
        authorize="https://www.tiktok.com/v2/auth/authorize/",
        token="https://open.tiktokapis.com/v2/oauth/token/",  # noqa: S106 (an endpoint, not a secret)  # nosec B106
        revoke="https://open.tiktokapis.com/v2/oauth/revoke/",
        api="https://open.tiktokapis.com/v2",
    )
    scopes: ClassVar[tuple[str, ...]] = ("user.info.basic", "user.info.profile", "user.info.stats", "video.list")
    scope_separator: ClassVar[str] = ","
    token_auth_method: ClassVar[str] = "tiktok_client_key"  # noqa: S105 (a method name)

    def prepare(self, client: OAuth2Client) -> None:
        client.register_client_auth_method((self.token_auth_method, _client_key_in_body))

    def authorize_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        url, _ = self.oauth().create_authorization_url(
            self.endpoints.authorize,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            client_key=self.client_id,
        )
        return str(url)

    def _data(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        error = body.get("error", {})
        if error.get("code", "ok") != "ok":
            raise ValueError(f"{what}: {error.get('code')}")
        data: dict[str, Any] = body["data"]
        return data

    def profile(self, tokens: TokenSet) -> AccountProfile:
        fields = "open_id,union_id,avatar_url,display_name,username,follower_count"
        user = self._data(self.api(tokens, "GET", "/user/info/", "the profile", params={"fields": fields}), "profile")[
            "user"
        ]
        return AccountProfile(
            external_id=str(user["open_id"]),
            handle=str(user.get("username") or user["open_id"])[:80],
            display_name=str(user.get("display_name", "")),
            followers=int(user.get("follower_count", 0)),
        )

    def posts(
        self, tokens: TokenSet, *, account_id: str, newer_than: datetime | None, max_pages: int
    ) -> list[RemotePost]:
        found: list[RemotePost] = []
        cursor: int | None = None
        fields = "id,title,video_description,create_time,share_url"
        for _ in range(max_pages):
            request: dict[str, Any] = {"max_count": 20}
            if cursor is not None:
                request["cursor"] = cursor
            data = self._data(
                self.api(tokens, "POST", "/video/list/", "the videos", params={"fields": fields}, json=request),
                "videos",
            )
            for video in data.get("videos", []):
                published = parse_moment(int(video["create_time"]))
                if newer_than is not None and published <= newer_than:
                    return found
                found.append(
                    RemotePost(
                        external_id=str(video["id"]),
                        kind="short",
                        published_at=published,
                        title=str(video.get("title") or video.get("video_description") or "")[:300],
                        url=str(video.get("share_url", ""))[:500],
                    )
                )
            if not data.get("has_more"):
                break
            cursor = int(data["cursor"])
        return found

    def post_metrics(self, tokens: TokenSet, *, account_id: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        metrics: dict[str, dict[str, int]] = {}
        for start in range(0, len(post_ids), 20):  # `video/query` takes at most 20 ids
            request = {"filters": {"video_ids": post_ids[start : start + 20]}}
            data = self._data(
                self.api(
                    tokens,
                    "POST",
                    "/video/query/",
                    "video counts",
                    params={"fields": "id," + ",".join(COUNTS)},
                    json=request,
                ),
                "video counts",
            )
            for video in data.get("videos", []):
                metrics[str(video["id"])] = {k: int(video[k]) for k in COUNTS if k in video}
        return metrics

    def parse_webhook(self, body: bytes) -> list[WebhookNotice]:
        payload = json.loads(body)
        account = payload.get("user_openid")
        return [WebhookNotice(account_external_id=str(account), kind=str(payload.get("event", "")))] if account else []
