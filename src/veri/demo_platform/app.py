"""The demo platform's HTTP face: one app, a path prefix per platform (/youtube, /instagram,
/tiktok, /twitch) with that platform's endpoint paths, response shapes and metric names, its
consent page, and /_demo/ controls for tests and benchmarks (faults, grants, new posts,
revocation, webhooks on request, counters)."""

from __future__ import annotations

import asyncio
import base64
import html
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from veri.demo_platform.config import PLATFORMS, DemoClient, DemoConfig
from veri.demo_platform.oauth import Authorization, OAuthError, TokenStore
from veri.demo_platform.webhooks import WebhookSender, payload_for
from veri.demo_platform.world import DemoAccount, DemoPost, World

__all__ = ["create_demo_platform"]

AUTHORIZE = {
    "youtube": "/youtube/o/oauth2/v2/auth",
    "instagram": "/instagram/oauth/authorize",
    "tiktok": "/tiktok/v2/auth/authorize/",
    "twitch": "/twitch/oauth2/authorize",
}
TOKEN = {
    "youtube": "/youtube/token",
    "instagram": "/instagram/oauth/access_token",
    "tiktok": "/tiktok/v2/oauth/token/",
    "twitch": "/twitch/oauth2/token",
}
NAMES = {"youtube": "YouTube", "instagram": "Instagram", "tiktok": "TikTok", "twitch": "Twitch"}
SCOPE_TEXT = {
    "youtube": "See your YouTube channel, its videos and their statistics",
    "instagram": "Read your profile, your media and their insights",
    "tiktok": "Read your profile, follower count and public videos with their counts",
    "twitch": "Read your user, follower total and videos",
}


CONSENT_CSS = " ".join(
    (
        "body{font-family:system-ui,sans-serif;background:#f4f4f5;margin:0}",
        "main{max-width:420px;margin:4rem auto;background:#fff;border-radius:12px;padding:2rem;",
        "box-shadow:0 2px 12px #0002} h1{font-size:1.3rem}",
        ".scope{background:#f4f4f5;padding:.75rem;border-radius:8px}",
        "label{display:block;margin:1rem 0 .3rem;font-weight:600}",
        "input[type=text]{width:100%;padding:.5rem;box-sizing:border-box;font-size:1rem}",
        ".actions{display:flex;gap:.75rem;margin-top:1.5rem}",
        "button{flex:1;padding:.65rem;font-size:1rem;border-radius:8px;border:1px solid #999;cursor:pointer}",
        "button.approve{background:#111827;color:#fff;border-color:#111827}",
        ".error{color:#b91c1c} .demo{color:#6b7280;font-size:.85rem}",
    )
)


class _Answer(Exception):
    """A response decided deep in a handler (an OAuth error, a 401, a 429)."""

    def __init__(self, response: Response):
        self.response = response


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(text.removeprefix("o:")))
    except (ValueError, UnicodeDecodeError):
        raise _Answer(JSONResponse({"error": "invalid cursor"}, status_code=400)) from None


def _unauthorized(platform: str, description: str) -> Response:
    if platform == "youtube":
        body: dict[str, Any] = {"error": {"code": 401, "message": description, "status": "UNAUTHENTICATED"}}
        return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if platform == "instagram":  # the Graph API: 400 with OAuthException code 190
        body = {
            "error": {"message": f"Error validating access token: {description}", "type": "OAuthException", "code": 190}
        }
        return JSONResponse(body, status_code=400)
    if platform == "tiktok":
        body = {"data": {}, "error": {"code": "access_token_invalid", "message": description, "log_id": "demo"}}
        return JSONResponse(body, status_code=401)
    return JSONResponse({"error": "Unauthorized", "status": 401, "message": description}, status_code=401)


def _consent_page(platform: str, params: dict[str, str], client: DemoClient, error: str = "") -> HTMLResponse:
    name = NAMES[platform]
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k != "handle"
    )
    suggestion = html.escape(params.get("login_hint") or params.get("handle") or "")
    alert = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    client_name = html.escape(client.client_id)
    return HTMLResponse(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Sign in with {name} (demo)</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{CONSENT_CSS}</style></head>"
        f'<body><main><p class="demo">{name} · demo platform</p>'
        f"<h1>{client_name} wants to access your {name} account</h1>"
        f'<p class="scope">{SCOPE_TEXT[platform]}.</p>{alert}'
        f'<form method="post"><label for="handle">Signed in as (your {name} handle)</label>'
        f'<input id="handle" type="text" name="handle" value="{suggestion}" required pattern="[A-Za-z0-9._]{{2,40}}">'
        f"{hidden}"
        '<div class="actions"><button type="submit" name="decision" value="deny">Deny</button>'
        '<button class="approve" type="submit" name="decision" value="approve">Approve</button></div>'
        "</form></main></body></html>"
    )


def create_demo_platform(config: DemoConfig) -> FastAPI:
    world = World(seed=config.seed, posts_per_account=config.posts_per_account, clock=config.clock)
    store = TokenStore(
        clock=config.clock,
        access_ttl=config.access_ttl,
        code_ttl=config.code_ttl,
        per_minute=config.rate_limit_per_minute,
    )
    sender = WebhookSender(config.webhook_url, config.webhook_secrets, config.clock)
    statuses: Counter[str] = Counter()
    counter_lock = threading.Lock()
    chance = random.Random(config.seed)
    app = FastAPI(title="Veri demo platform", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.world, app.state.store, app.state.sender, app.state.config = world, store, sender, config

    @app.exception_handler(_Answer)
    async def answer(request: Request, exc: _Answer) -> Response:
        return exc.response

    @app.exception_handler(OAuthError)
    async def oauth_error(request: Request, exc: OAuthError) -> Response:
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status)

    @app.middleware("http")
    async def faults_and_counts(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Injected faults on API and token calls (never on the consent page or the controls)."""
        path = request.url.path
        platform = path.strip("/").split("/")[0]
        faults = config.faults
        if platform in PLATFORMS and path != AUTHORIZE[platform] and faults.applies_to(platform):
            with counter_lock:
                roll = chance.random()
            if roll < faults.hang_share:
                await asyncio.sleep(faults.hang_seconds)
            elif roll < faults.hang_share + faults.rate_429:
                return _count(
                    platform, JSONResponse({"error": "rate_limited"}, 429, {"Retry-After": str(faults.retry_after)})
                )
            elif roll < faults.hang_share + faults.rate_429 + faults.rate_500:
                return _count(platform, JSONResponse({"error": "internal error (injected)"}, status_code=500))
        response = await call_next(request)
        return _count(platform, response) if platform in PLATFORMS else response

    def _count(platform: str, response: Response) -> Response:
        with counter_lock:
            statuses[f"{platform}:{response.status_code}"] += 1
        return response

    # -- OAuth -----------------------------------------------------------------------------------

    def client_for(platform: str, client_id: str | None) -> DemoClient:
        client = config.clients.get(platform)
        if client is None or not client_id or client.client_id != client_id:
            raise OAuthError("invalid_client", "unknown client", status=401)
        return client

    def authenticate_client(platform: str, request: Request, form: dict[str, str]) -> DemoClient:
        """HTTP Basic, or the id and secret in the form (TikTok names the id `client_key`)."""
        client_id, secret = form.get("client_key") or form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError("invalid_client", "malformed basic credentials", status=401) from None
        client = client_for(platform, client_id)
        if secret != client.client_secret:
            raise OAuthError("invalid_client", "client authentication failed", status=401)
        return client

    def consent(platform: str) -> Callable[[Request], Awaitable[Response]]:
        async def page(request: Request) -> Response:
            params = dict(request.query_params)
            if request.method == "POST":
                params |= {k: str(v) for k, v in (await request.form()).items()}
            client_id = params.get("client_key") or params.get("client_id")
            client = config.clients.get(platform)
            redirect_uri = params.get("redirect_uri", "")
            if client is None or client.client_id != client_id:
                return HTMLResponse("<h1>Unknown application</h1>", status_code=400)
            if not redirect_uri.startswith(client.redirect_prefixes):
                return HTMLResponse("<h1>This redirect_uri is not registered for the application</h1>", status_code=400)

            def back(**values: str) -> Response:
                query = urlencode({**values, "state": params.get("state", "")})
                return RedirectResponse(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{query}", status_code=303)

            if params.get("response_type") != "code":
                return back(error="unsupported_response_type")
            if params.get("code_challenge_method") != "S256" or len(params.get("code_challenge", "")) < 43:
                return back(error="invalid_request", error_description="PKCE with S256 is required")
            if request.method == "GET":
                return _consent_page(platform, params, client)
            if params.get("decision") != "approve":
                return back(error="access_denied", error_description="The user denied access")
            handle = params.get("handle", "").strip()
            if not (2 <= len(handle) <= 40 and all(c.isalnum() or c in "._" for c in handle)):
                return _consent_page(platform, params, client, error="Enter a handle of 2-40 letters, digits, . or _")
            world.account(platform, handle)
            code = store.issue_code(
                platform=platform,
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                challenge=params["code_challenge"],
                handle=handle,
                scope=params.get("scope", ""),
            )
            return back(code=code)

        return page

    def token_response(platform: str, grant: Any, access: str, lifetime: int) -> dict[str, Any]:
        account = world.account(platform, grant.handle)
        if platform == "instagram":  # the short-lived token, then `ig_exchange_token`
            return {"access_token": access, "user_id": int(account.external_id), "permissions": grant.scope}
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": lifetime,
            "refresh_token": grant.refresh_token,
            "token_type": "Bearer",  # a type name, not a secret  # nosec B105
            "scope": grant.scope,
        }
        if platform == "tiktok":
            body |= {"open_id": account.external_id, "refresh_expires_in": 365 * 86400}
        if platform == "twitch":
            body["scope"] = grant.scope.split()
            body["token_type"] = "bearer"  # noqa: S105 (a type name)  # nosec B105
        return body

    def token(platform: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            client = authenticate_client(platform, request, form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                grant = store.redeem_code(
                    platform=platform,
                    client_id=client.client_id,
                    code=form.get("code", ""),
                    redirect_uri=form.get("redirect_uri", ""),
                    verifier=form.get("code_verifier", ""),
                )
                ttl = 3600 if platform == "instagram" else None
                access, lifetime = store.issue_tokens(grant, ttl=ttl, with_refresh=platform != "instagram")
            elif grant_type == "refresh_token" and platform != "instagram":
                grant = store.by_refresh_token(
                    platform=platform, client_id=client.client_id, refresh_token=form.get("refresh_token", "")
                )
                access, lifetime = store.issue_tokens(grant)
            else:
                raise OAuthError("unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
            return JSONResponse(
                token_response(platform, grant, access, lifetime), headers={"Cache-Control": "no-store"}
            )

        return endpoint

    for name in PLATFORMS:
        app.add_api_route(AUTHORIZE[name], consent(name), methods=["GET", "POST"], include_in_schema=False)
        app.add_api_route(TOKEN[name], token(name), methods=["POST"], include_in_schema=False)

    def bearer(platform: str, request: Request) -> Authorization:
        header = request.headers.get("authorization", "")
        token = (
            header[7:].strip() if header.lower().startswith("bearer ") else request.query_params.get("access_token", "")
        )
        try:
            auth = store.authorize(platform, token)
        except OAuthError as exc:
            raise _Answer(_unauthorized(platform, exc.description)) from None
        if platform == "twitch" and request.headers.get("client-id") != auth.grant.client_id:
            raise _Answer(_unauthorized(platform, "Client-Id header does not match the token"))
        wait = store.over_limit(auth.token)
        if wait:
            raise _Answer(JSONResponse({"error": "rate limit exceeded"}, 429, {"Retry-After": str(int(wait + 0.999))}))
        return auth

    def account_of(auth: Authorization) -> DemoAccount:
        return world.account(auth.grant.platform, auth.grant.handle)

    def page_of(posts: list[DemoPost], cursor: str | None, size: int) -> tuple[list[DemoPost], str | None]:
        start = _offset(cursor)
        chunk = posts[start : start + size]
        return chunk, _cursor(start + size) if start + size < len(posts) else None

    def size_of(value: str | None, default: int, most: int) -> int:
        try:
            return max(1, min(most, int(value or default)))
        except ValueError:
            raise _Answer(JSONResponse({"error": "invalid page size"}, status_code=400)) from None

    # -- YouTube Data API v3 -----------------------------------------------------------------------

    @app.post("/youtube/revoke", include_in_schema=False)
    async def youtube_revoke(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        token = form.get("token") or request.query_params.get("token", "")
        if not store.revoke_token("youtube", token):
            return JSONResponse({"error": "invalid_token"}, status_code=400)
        return JSONResponse({})

    @app.get("/youtube/youtube/v3/channels", include_in_schema=False)
    def youtube_channels(request: Request) -> dict[str, Any]:
        account = account_of(bearer("youtube", request))
        now = config.clock()
        return {
            "kind": "youtube#channelListResponse",
            "items": [
                {
                    "kind": "youtube#channel",
                    "id": account.external_id,
                    "snippet": {"title": account.display_name, "customUrl": f"@{account.handle}"},
                    "statistics": {
                        "subscriberCount": str(account.followers(now)),
                        "videoCount": str(len(account.newest_first(now))),
                    },
                    "contentDetails": {"relatedPlaylists": {"uploads": "UU" + account.external_id[2:]}},
                }
            ],
        }

    @app.get("/youtube/youtube/v3/playlistItems", include_in_schema=False)
    def youtube_uploads(request: Request) -> dict[str, Any]:
        account = account_of(bearer("youtube", request))
        if request.query_params.get("playlistId") != "UU" + account.external_id[2:]:
            raise _Answer(JSONResponse({"error": {"code": 404, "message": "playlist not found"}}, status_code=404))
        size = size_of(request.query_params.get("maxResults"), 5, 50)
        chunk, next_token = page_of(account.newest_first(config.clock()), request.query_params.get("pageToken"), size)
        body: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "items": [
                {
                    "kind": "youtube#playlistItem",
                    "snippet": {"publishedAt": _iso(p.published_at), "title": p.title},
                    "contentDetails": {"videoId": p.id, "videoPublishedAt": _iso(p.published_at)},
                }
                for p in chunk
            ],
        }
        if next_token:
            body["nextPageToken"] = next_token
        return body

    @app.get("/youtube/youtube/v3/videos", include_in_schema=False)
    def youtube_videos(request: Request) -> dict[str, Any]:
        account = account_of(bearer("youtube", request))
        ids = [i for i in request.query_params.get("id", "").split(",") if i][:50]
        now = config.clock()
        items = []
        for video in ids:
            found = world.post("youtube", video)
            if found is None or found[0] is not account:
                continue
            n = found[1].numbers(now)
            stats = {"viewCount": n.views, "likeCount": n.likes, "favoriteCount": 0, "commentCount": n.comments}
            items.append({"kind": "youtube#video", "id": video, "statistics": {k: str(v) for k, v in stats.items()}})
        return {"kind": "youtube#videoListResponse", "items": items}

    # -- Instagram Graph API -----------------------------------------------------------------------

    @app.get("/instagram/access_token", include_in_schema=False)
    def instagram_exchange(request: Request) -> dict[str, Any]:
        if request.query_params.get("grant_type") != "ig_exchange_token":
            raise OAuthError("unsupported_grant_type", "expected ig_exchange_token")
        client = config.clients.get("instagram")
        if client is None or request.query_params.get("client_secret") != client.client_secret:
            raise OAuthError("invalid_client", "client_secret does not match", status=401)
        auth = bearer("instagram", request)
        access, lifetime = store.issue_tokens(auth.grant, ttl=config.long_lived_ttl, with_refresh=False)
        return {"access_token": access, "token_type": "bearer", "expires_in": lifetime}  # a type  # nosec B105

    @app.get("/instagram/refresh_access_token", include_in_schema=False)
    def instagram_refresh(request: Request) -> dict[str, Any]:
        if request.query_params.get("grant_type") != "ig_refresh_token":
            raise OAuthError("unsupported_grant_type", "expected ig_refresh_token")
        auth = bearer("instagram", request)
        access, lifetime = store.issue_tokens(auth.grant, ttl=config.long_lived_ttl, with_refresh=False)
        return {"access_token": access, "token_type": "bearer", "expires_in": lifetime}  # a type  # nosec B105

    @app.delete("/instagram/me/permissions", include_in_schema=False)
    def instagram_revoke(request: Request) -> dict[str, Any]:
        auth = bearer("instagram", request)
        store.revoke_token("instagram", auth.token)
        return {"success": True}

    @app.get("/instagram/me", include_in_schema=False)
    def instagram_me(request: Request) -> dict[str, Any]:
        account = account_of(bearer("instagram", request))
        now = config.clock()
        return {
            "id": account.external_id,
            "user_id": account.external_id,
            "username": account.handle,
            "name": account.display_name,
            "followers_count": account.followers(now),
            "media_count": len(account.newest_first(now)),
        }

    @app.get("/instagram/me/media", include_in_schema=False)
    def instagram_media(request: Request) -> dict[str, Any]:
        account = account_of(bearer("instagram", request))
        size = size_of(request.query_params.get("limit"), 25, 100)
        chunk, after = page_of(account.newest_first(config.clock()), request.query_params.get("after"), size)
        body: dict[str, Any] = {
            "data": [
                {
                    "id": p.id,
                    "caption": p.title,
                    "media_type": "VIDEO",
                    "media_product_type": "REELS",
                    "timestamp": datetime.fromtimestamp(p.published_at, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                    "permalink": f"https://www.instagram.com/reel/{p.id}/",
                }
                for p in chunk
            ],
            "paging": {"cursors": {"before": _cursor(0), "after": after or ""}},
        }
        if after:
            body["paging"]["next"] = f"/instagram/me/media?after={after}"
        return body

    @app.get("/instagram/{media_id}/insights", include_in_schema=False)
    def instagram_insights(media_id: str, request: Request) -> dict[str, Any]:
        account = account_of(bearer("instagram", request))
        found = world.post("instagram", media_id)
        if found is None or found[0] is not account:
            body = {"error": {"message": "Unsupported get request", "type": "GraphMethodException", "code": 100}}
            raise _Answer(JSONResponse(body, status_code=400))
        n = found[1].numbers(config.clock())
        values = {
            "impressions": n.views,
            "reach": n.reach,
            "likes": n.likes,
            "comments": n.comments,
            "saved": n.saves,
            "shares": n.shares,
        }
        wanted = [m for m in request.query_params.get("metric", "").split(",") if m in values]
        return {
            "data": [
                {
                    "name": m,
                    "period": "lifetime",
                    "values": [{"value": values[m]}],
                    "id": f"{media_id}/insights/{m}/lifetime",
                }
                for m in wanted
            ]
        }

    # -- TikTok Display API ------------------------------------------------------------------------

    def tiktok_ok(data: dict[str, Any]) -> dict[str, Any]:
        return {"data": data, "error": {"code": "ok", "message": "", "log_id": "demo"}}

    @app.post("/tiktok/v2/oauth/revoke/", include_in_schema=False)
    async def tiktok_revoke(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        authenticate_client("tiktok", request, form)
        store.revoke_token("tiktok", form.get("token", ""))
        return JSONResponse({})

    @app.get("/tiktok/v2/user/info/", include_in_schema=False)
    def tiktok_user(request: Request) -> dict[str, Any]:
        account = account_of(bearer("tiktok", request))
        user = {
            "open_id": account.external_id,
            "union_id": "u" + account.external_id[4:],
            "display_name": account.display_name,
            "username": account.handle,
            "follower_count": account.followers(config.clock()),
        }
        wanted = set(request.query_params.get("fields", "").split(","))
        return tiktok_ok({"user": {k: v for k, v in user.items() if k in wanted}})

    def tiktok_video(post: DemoPost, now: float) -> dict[str, Any]:
        n = post.numbers(now)
        return {
            "id": post.id,
            "title": post.title,
            "video_description": post.title,
            "create_time": int(post.published_at),
            "share_url": f"https://www.tiktok.com/@demo/video/{post.id}",
            "view_count": n.views,
            "like_count": n.likes,
            "comment_count": n.comments,
            "share_count": n.shares,
        }

    async def json_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _Answer(JSONResponse(tiktok_ok({}) | {"error": {"code": "invalid_params"}}, status_code=400))
        return body

    @app.post("/tiktok/v2/video/list/", include_in_schema=False)
    async def tiktok_list(request: Request) -> dict[str, Any]:
        account = account_of(bearer("tiktok", request))
        body = await json_body(request)
        now = config.clock()
        size = size_of(str(body.get("max_count", 20)), 20, 20)
        posts = account.newest_first(now)
        start = int(body.get("cursor") or 0)
        chunk = posts[start : start + size]
        fields = set(request.query_params.get("fields", "").split(","))
        videos = [{k: v for k, v in tiktok_video(p, now).items() if k in fields} for p in chunk]
        return tiktok_ok({"videos": videos, "cursor": start + len(chunk), "has_more": start + size < len(posts)})

    @app.post("/tiktok/v2/video/query/", include_in_schema=False)
    async def tiktok_query(request: Request) -> dict[str, Any]:
        account = account_of(bearer("tiktok", request))
        body = await json_body(request)
        ids = list(body.get("filters", {}).get("video_ids", []))[:20]
        now = config.clock()
        fields = set(request.query_params.get("fields", "").split(","))
        videos = []
        for video in ids:
            found = world.post("tiktok", str(video))
            if found is not None and found[0] is account:
                videos.append({k: v for k, v in tiktok_video(found[1], now).items() if k in fields})
        return tiktok_ok({"videos": videos})

    # -- Twitch Helix ------------------------------------------------------------------------------

    @app.post("/twitch/oauth2/revoke", include_in_schema=False)
    async def twitch_revoke(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_for("twitch", form.get("client_id"))
        if not store.revoke_token("twitch", form.get("token", "")):
            return JSONResponse({"status": 400, "message": "Invalid token"}, status_code=400)
        return Response(status_code=200)

    @app.get("/twitch/helix/users", include_in_schema=False)
    def twitch_users(request: Request) -> dict[str, Any]:
        account = account_of(bearer("twitch", request))
        return {
            "data": [
                {
                    "id": account.external_id,
                    "login": account.handle.lower(),
                    "display_name": account.display_name,
                    "type": "",
                    "broadcaster_type": "affiliate",
                    "created_at": _iso(account.created_at),
                }
            ]
        }

    @app.get("/twitch/helix/channels/followers", include_in_schema=False)
    def twitch_followers(request: Request) -> dict[str, Any]:
        account = account_of(bearer("twitch", request))
        if request.query_params.get("broadcaster_id") != account.external_id:
            raise _Answer(JSONResponse({"error": "Bad Request", "status": 400, "message": "broadcaster_id"}, 400))
        return {"total": account.followers(config.clock()), "data": [], "pagination": {}}

    @app.get("/twitch/helix/videos", include_in_schema=False)
    def twitch_videos(request: Request) -> dict[str, Any]:
        account = account_of(bearer("twitch", request))
        now = config.clock()

        def video(p: DemoPost) -> dict[str, Any]:
            return {
                "id": p.id,
                "user_id": account.external_id,
                "user_login": account.handle.lower(),
                "title": p.title,
                "created_at": _iso(p.published_at),
                "published_at": _iso(p.published_at),
                "url": f"https://www.twitch.tv/videos/{p.id}",
                "view_count": p.numbers(now).views,
                "type": "archive",
            }

        ids = request.query_params.getlist("id")
        if ids:
            found = [world.post("twitch", i) for i in ids[:100]]
            return {"data": [video(f[1]) for f in found if f is not None and f[0] is account], "pagination": {}}
        if request.query_params.get("user_id") != account.external_id:
            return {"data": [], "pagination": {}}
        size = size_of(request.query_params.get("first"), 20, 100)
        chunk, after = page_of(account.newest_first(now), request.query_params.get("after"), size)
        return {"data": [video(p) for p in chunk], "pagination": {"cursor": after} if after else {}}

    # -- the controls --------------------------------------------------------------------------------

    def admin(request: Request) -> None:
        if config.admin_token and request.headers.get("x-demo-admin") != config.admin_token:
            raise _Answer(JSONResponse({"error": "the demo controls need X-Demo-Admin"}, status_code=403))

    def platform_of(name: str) -> str:
        if name not in PLATFORMS:
            raise _Answer(JSONResponse({"error": f"no platform {name!r}"}, status_code=404))
        return name

    def notify(platform: str, account: DemoAccount, kind: str, post: DemoPost | None, *, wait: bool = False) -> None:
        client = config.clients.get(platform)
        body = payload_for(platform, account, kind, post, client.client_id if client else "", config.clock())
        sender.send(platform, body, wait=wait)

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        rows = "".join(
            f"<li><b>{NAMES[p]}</b>: consent at <code>{AUTHORIZE[p]}</code>, tokens at <code>{TOKEN[p]}</code></li>"
            for p in PLATFORMS
        )
        return HTMLResponse(f"<!doctype html><title>Demo platform</title><h1>Veri demo platform</h1><ul>{rows}</ul>")

    @app.get("/_demo/stats", include_in_schema=False)
    def stats(request: Request) -> dict[str, Any]:
        admin(request)
        with counter_lock:
            counts = dict(statuses)
        return {"responses": counts, "webhooks_sent": sender.sent, "webhooks_failed": sender.failed}

    @app.post("/_demo/faults", include_in_schema=False)
    async def set_faults(request: Request) -> dict[str, Any]:
        admin(request)
        body = await request.json()
        allowed = {"rate_429", "rate_500", "hang_share", "hang_seconds", "retry_after", "platforms"}
        changes = {k: tuple(v) if k == "platforms" else v for k, v in body.items() if k in allowed}
        return vars(config.set_faults(**changes))

    @app.post("/_demo/grants", include_in_schema=False)
    async def grants(request: Request) -> dict[str, Any]:
        """Grants without the consent page, for many accounts at once (tests and benchmarks)."""
        admin(request)
        body = await request.json()
        platform = platform_of(str(body.get("platform")))
        client = config.clients[platform]
        out = []
        for handle in body.get("handles", [])[:10_000]:
            account = world.account(platform, str(handle))
            grant = store.grant_direct(platform=platform, client_id=client.client_id, handle=account.handle, scope="")
            # Instagram's connected accounts hold long-lived tokens (ig_exchange_token).
            ttl = config.long_lived_ttl if platform == "instagram" else None
            access, lifetime = store.issue_tokens(grant, ttl=ttl, with_refresh=platform != "instagram")
            out.append(
                {
                    "handle": account.handle,
                    "external_id": account.external_id,
                    "access_token": access,
                    "refresh_token": grant.refresh_token,
                    "expires_in": lifetime,
                    "posts": len(account.posts),
                }
            )
        return {"grants": out}

    @app.post("/_demo/{platform}/accounts/{handle}/publish", include_in_schema=False)
    def publish(platform: str, handle: str, request: Request) -> dict[str, Any]:
        admin(request)
        post = world.publish(platform_of(platform), handle)
        notify(platform, world.account(platform, handle), "post", post, wait=True)
        return {"id": post.id, "title": post.title, "published_at": _iso(post.published_at)}

    @app.post("/_demo/{platform}/accounts/{handle}/webhook", include_in_schema=False)
    def send_webhook(platform: str, handle: str, request: Request) -> dict[str, Any]:
        admin(request)
        notify(platform_of(platform), world.account(platform, handle), "metrics", None, wait=True)
        return {"sent": True}

    @app.post("/_demo/{platform}/accounts/{handle}/revoke", include_in_schema=False)
    def revoke_account(platform: str, handle: str, request: Request) -> dict[str, Any]:
        admin(request)
        return {"revoked": store.revoke_account(platform_of(platform), handle)}

    @app.get("/_demo/{platform}/accounts/{handle}", include_in_schema=False)
    def account_view(platform: str, handle: str, request: Request) -> dict[str, Any]:
        admin(request)
        account = world.account(platform_of(platform), handle)
        now = config.clock()
        return {
            "external_id": account.external_id,
            "followers": account.followers(now),
            "posts": [{"id": p.id, "views": p.numbers(now).views} for p in account.newest_first(now)],
        }

    if config.publish_every_seconds > 0:
        _start_publisher(config, world, store, notify)
    return app


def _start_publisher(
    config: DemoConfig,
    world: World,
    store: TokenStore,
    notify: Callable[..., None],
) -> None:
    """Now and then, a connected account posts (and the platform sends its webhook)."""
    rng = random.Random(config.seed + 1)

    def loop() -> None:
        while not stop.wait(config.publish_every_seconds):
            choices = [(p, h) for p in PLATFORMS for h in store.connected_handles(p)]
            if choices:
                platform, handle = rng.choice(choices)
                post = world.publish(platform, handle)
                notify(platform, world.account(platform, handle), "post", post)

    stop = threading.Event()
    threading.Thread(target=loop, daemon=True, name="demo-publisher").start()
