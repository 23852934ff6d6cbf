"""The demo platform's authorization server state: codes (single use, bound to the client, the
redirect URI and the PKCE challenge), grants, access tokens that expire, refresh tokens (rotated
where the real platform rotates them), revocation, and a per-token rate limit. Thread-safe."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Authorization", "Grant", "OAuthError", "TokenStore"]

# Platforms whose refresh tokens change at every refresh (TikTok's do; Google's do not).
ROTATING = {"tiktok", "twitch"}


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class Grant:
    id: str
    platform: str
    client_id: str
    handle: str
    scope: str
    revoked: bool = False
    refresh_token: str | None = None
    tokens: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Authorization:
    """An access token's grant, as an API call sees it."""

    grant: Grant
    token: str


@dataclass
class _Code:
    platform: str
    client_id: str
    redirect_uri: str
    challenge: str
    handle: str
    scope: str
    expires_at: float
    used: bool = False


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class TokenStore:
    def __init__(self, *, clock: Callable[[], float], access_ttl: int, code_ttl: int, per_minute: int):
        self.clock = clock
        self.access_ttl = access_ttl
        self.code_ttl = code_ttl
        self.per_minute = per_minute
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._grants: dict[str, Grant] = {}
        self._access: dict[str, tuple[str, float]] = {}  # token -> (grant id, expires at)
        self._refresh: dict[str, str] = {}  # refresh token -> grant id
        self._calls: dict[str, deque[float]] = {}

    # -- codes -----------------------------------------------------------------------------------

    def issue_code(
        self, *, platform: str, client_id: str, redirect_uri: str, challenge: str, handle: str, scope: str
    ) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                platform, client_id, redirect_uri, challenge, handle, scope, self.clock() + self.code_ttl
            )
        return code

    def redeem_code(self, *, platform: str, client_id: str, code: str, redirect_uri: str, verifier: str) -> Grant:
        """The grant a code stands for, once: a reused or expired code, another client's, another
        redirect URI, or a verifier whose S256 is not the challenge is `invalid_grant`."""
        with self._lock:
            entry = self._codes.get(code)
            if entry is None or entry.platform != platform:
                raise OAuthError("invalid_grant", "unknown authorization code")
            if entry.used:
                raise OAuthError("invalid_grant", "authorization code already used")
            entry.used = True
            if entry.expires_at < self.clock():
                raise OAuthError("invalid_grant", "authorization code expired")
            if entry.client_id != client_id:
                raise OAuthError("invalid_grant", "authorization code issued to another client")
            if entry.redirect_uri != redirect_uri:
                raise OAuthError("invalid_grant", "redirect_uri does not match the authorization request")
            if not verifier or not hmac.compare_digest(s256(verifier), entry.challenge):
                raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
            grant = Grant(
                id=secrets.token_hex(8),
                platform=platform,
                client_id=client_id,
                handle=entry.handle,
                scope=entry.scope,
            )
            self._grants[grant.id] = grant
            return grant

    # -- tokens ----------------------------------------------------------------------------------

    def grant_direct(self, *, platform: str, client_id: str, handle: str, scope: str) -> Grant:
        """A grant without the consent page (the demo's test and benchmark controls)."""
        with self._lock:
            grant = Grant(id=secrets.token_hex(8), platform=platform, client_id=client_id, handle=handle, scope=scope)
            self._grants[grant.id] = grant
            return grant

    def issue_tokens(self, grant: Grant, *, ttl: int | None = None, with_refresh: bool = True) -> tuple[str, int]:
        """A new access token (and a refresh token the first time, or a new one where they
        rotate); its lifetime in seconds."""
        lifetime = ttl or self.access_ttl
        access = secrets.token_urlsafe(32)
        with self._lock:
            self._access[access] = (grant.id, self.clock() + lifetime)
            grant.tokens.add(access)
            if with_refresh and (grant.refresh_token is None or grant.platform in ROTATING):
                if grant.refresh_token is not None:
                    self._refresh.pop(grant.refresh_token, None)
                grant.refresh_token = secrets.token_urlsafe(32)
                self._refresh[grant.refresh_token] = grant.id
        return access, lifetime

    def by_refresh_token(self, *, platform: str, client_id: str, refresh_token: str) -> Grant:
        with self._lock:
            grant = self._grants.get(self._refresh.get(refresh_token, ""))
            if grant is None or grant.revoked or grant.platform != platform:
                raise OAuthError("invalid_grant", "refresh token is invalid or revoked")
            if grant.client_id != client_id:
                raise OAuthError("invalid_grant", "refresh token issued to another client")
            return grant

    def authorize(self, platform: str, token: str) -> Authorization:
        """The grant behind a bearer token: a missing, unknown, expired or revoked one is 401."""
        with self._lock:
            found = self._access.get(token)
            grant = self._grants.get(found[0]) if found else None
            if found is None or grant is None or grant.platform != platform:
                raise OAuthError("invalid_token", "unknown access token", status=401)
            if grant.revoked:
                raise OAuthError("invalid_token", "the grant was revoked", status=401)
            if found[1] < self.clock():
                raise OAuthError("invalid_token", "the access token expired", status=401)
            return Authorization(grant=grant, token=token)

    def revoke_token(self, platform: str, token: str) -> bool:
        """Revoke the grant an access or refresh token belongs to (Google and TikTok revoke the
        whole grant); True if there was one."""
        with self._lock:
            grant_id = self._refresh.get(token) or (self._access.get(token) or ("", 0.0))[0]
            grant = self._grants.get(grant_id)
            if grant is None or grant.platform != platform:
                return False
            grant.revoked = True
            return True

    def revoke_account(self, platform: str, handle: str) -> int:
        """The person removed the app's access on the platform: every grant of theirs ends."""
        with self._lock:
            found = [
                g for g in self._grants.values() if g.platform == platform and g.handle == handle and not g.revoked
            ]
            for grant in found:
                grant.revoked = True
            return len(found)

    def connected_handles(self, platform: str) -> list[str]:
        with self._lock:
            return sorted({g.handle for g in self._grants.values() if g.platform == platform and not g.revoked})

    # -- rate limits -----------------------------------------------------------------------------

    def over_limit(self, token: str) -> float:
        """Seconds until `token` may call again (0: it may now); counts this call when allowed."""
        now = self.clock()
        with self._lock:
            calls = self._calls.setdefault(token, deque())
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return max(1.0, calls[0] + 60 - now)
            calls.append(now)
            return 0.0
