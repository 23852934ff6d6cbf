"""Instagram: the Instagram API with Instagram Login (business and creator accounts). The code
is exchanged for a short-lived token, that for a long-lived one (`ig_exchange_token`, 60 days),
refreshed with `ig_refresh_token` (Instagram has no refresh tokens). Media come from `me/media`;
each post's numbers from its `insights` (impressions, reach, likes, comments, saved, shares)."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx2

from veri.connectors.base import AccountProfile, GrantRejected, RemotePost, TokenSet, WebhookNotice
from veri.connectors.oauth import Endpoints, OAuth2Adapter, parse_moment
from veri.models.creators import Platform

__all__ = ["InstagramConnector"]

INSIGHTS = ("impressions", "reach", "likes", "comments", "saved", "shares")
_KINDS = {"REELS": "short", "STORY": "story"}


class InstagramConnector(OAuth2Adapter):
    platform: ClassVar[Platform] = Platform.INSTAGRAM
    real: ClassVar[Endpoints] = Endpoints(
        authorize="https://www.instagram.com/oauth/authorize",
        token="https://api.instagram.com/oauth/access_token",  # noqa: S106 (an endpoint, not a secret)  # nosec B106
        revoke="https://graph.instagram.com/me/permissions",
        api="https://graph.instagram.com",
    )
    scopes: ClassVar[tuple[str, ...]] = ("instagram_business_basic", "instagram_business_manage_insights")
    scope_separator: ClassVar[str] = ","
    # Long-lived tokens last 60 days and are refreshed well before.
    refresh_margin: ClassVar[timedelta] = timedelta(days=7)

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        short = super().exchange_code(code=code, code_verifier=code_verifier, redirect_uri=redirect_uri)
        return self._long_lived(short, "ig_exchange_token", "/access_token", "the long-lived token exchange")

    def refresh(self, tokens: TokenSet) -> TokenSet:
        return self._long_lived(tokens, "ig_refresh_token", "/refresh_access_token", "a token refresh")

    def _long_lived(self, tokens: TokenSet, grant: str, path: str, what: str) -> TokenSet:
        params = {"grant_type": grant, "access_token": tokens.access_token}
        if grant == "ig_exchange_token":
            params["client_secret"] = self._client_secret

        def request() -> TokenSet:
            response = self.oauth().request("GET", self.endpoints.api + path, params=params, withhold_token=True)
            body = self.json_of(response, what)
            renewed = self.token_set({**body, "expires_at": time.time() + float(body["expires_in"])})
            return TokenSet(renewed.access_token, None, renewed.expires_at, tokens.scope or self.scope)

        return self.call(what, request)

    def json_of(self, response: httpx2.Response, what: str) -> dict[str, Any]:
        # The Graph API says a token is dead with a 400 and OAuthException code 190, not a 401.
        if response.status_code == 400:
            try:
                error = response.json().get("error", {})
            except (ValueError, AttributeError):
                error = {}
            if isinstance(error, dict) and error.get("code") == 190:
                raise GrantRejected(f"instagram no longer accepts the grant ({what})")
        return super().json_of(response, what)

    def revoke(self, tokens: TokenSet) -> None:
        self.api(tokens, "DELETE", "/me/permissions", "a revocation")

    def profile(self, tokens: TokenSet) -> AccountProfile:
        body = self.api(
            tokens, "GET", "/me", "the profile", params={"fields": "user_id,username,name,followers_count,media_count"}
        )
        return AccountProfile(
            external_id=str(body.get("user_id") or body["id"]),
            handle=str(body["username"])[:80],
            display_name=str(body.get("name", "")),
            followers=int(body.get("followers_count", 0)),
        )

    def posts(
        self, tokens: TokenSet, *, account_id: str, newer_than: datetime | None, max_pages: int
    ) -> list[RemotePost]:
        found: list[RemotePost] = []
        after: str | None = None
        for _ in range(max_pages):
            params = {"fields": "id,caption,media_type,media_product_type,timestamp,permalink", "limit": "25"}
            if after:
                params["after"] = after
            body = self.api(tokens, "GET", "/me/media", "the media", params=params)
            for item in body.get("data", []):
                published = parse_moment(item["timestamp"])
                if newer_than is not None and published <= newer_than:
                    return found
                found.append(
                    RemotePost(
                        external_id=str(item["id"]),
                        kind=_KINDS.get(str(item.get("media_product_type", "")), "post"),
                        published_at=published,
                        title=str(item.get("caption", ""))[:300],
                        url=str(item.get("permalink", ""))[:500],
                    )
                )
            paging = body.get("paging", {})
            after = paging.get("cursors", {}).get("after") if paging.get("next") else None
            if not after:
                break
        return found

    def post_metrics(self, tokens: TokenSet, *, account_id: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        metrics: dict[str, dict[str, int]] = {}
        for media in post_ids:  # insights are asked post by post
            body = self.api(
                tokens, "GET", f"/{media}/insights", "media insights", params={"metric": ",".join(INSIGHTS)}
            )
            metrics[media] = {str(row["name"]): _value(row) for row in body.get("data", [])}
        return metrics

    def parse_webhook(self, body: bytes) -> list[WebhookNotice]:
        payload = json.loads(body)
        notices = []
        for entry in payload.get("entry", []):
            fields = [str(change.get("field", "")) for change in entry.get("changes", [])]
            notices.append(WebhookNotice(account_external_id=str(entry["id"]), kind=",".join(fields) or "media"))
        return notices


def _value(row: dict[str, Any]) -> int:
    if "total_value" in row:
        return int(row["total_value"]["value"])
    values = row.get("values") or [{"value": 0}]
    return int(values[-1]["value"])
