"""The port every platform adapter implements, the values that cross it, and the typed failures
a platform can answer with. Nothing here knows a platform or HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from veri.models.creators import Platform

__all__ = [
    "AccountProfile",
    "Connector",
    "ConnectorError",
    "GrantRejected",
    "PlatformRefused",
    "PlatformUnavailable",
    "RateLimited",
    "RemotePost",
    "TokenSet",
    "WebhookNotice",
]


@dataclass(frozen=True)
class TokenSet:
    """What a platform granted. `repr` hides the tokens (they must never reach a log line)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None
    scope: str = ""


@dataclass(frozen=True)
class AccountProfile:
    external_id: str
    handle: str
    display_name: str = ""
    followers: int = 0


@dataclass(frozen=True)
class RemotePost:
    external_id: str
    kind: str  # video, short, post, story, stream (content's vocabulary)
    published_at: datetime
    title: str = ""
    url: str = ""


@dataclass(frozen=True)
class WebhookNotice:
    """A platform telling Veri that an account has something new (a post, fresh numbers)."""

    account_external_id: str
    kind: str


class ConnectorError(Exception):
    """A platform call that did not give what was asked. Messages never carry tokens or URLs
    with credentials in them: they are logged and shown to operators."""


class RateLimited(ConnectorError):
    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class PlatformUnavailable(ConnectorError):
    """5xx, a timeout, a dropped connection, or the circuit breaker open: try again later."""


class GrantRejected(ConnectorError):
    """The platform refused the grant (revoked, expired, invalid): the person must reconnect."""


class PlatformRefused(ConnectorError):
    """A 4xx that retrying will not fix (a wrong code or verifier, a bad request)."""


class Connector(Protocol):
    """One social platform, as Veri uses it. Implementations are thread-safe: the sync calls
    one adapter from several threads."""

    @property
    def platform(self) -> Platform: ...

    @property
    def breaker_state(self) -> str:
        """closed, open or half_open: this process's circuit for the platform."""
        ...

    @property
    def authorize_origin(self) -> str:
        """The origin of the consent page (the connect form's Content-Security-Policy allows it)."""
        ...

    def authorize_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        """Where to send the person to consent (Authorization Code + PKCE S256)."""
        ...

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet: ...

    def refresh(self, tokens: TokenSet) -> TokenSet: ...

    def needs_refresh(self, tokens: TokenSet, now: datetime) -> bool: ...

    def revoke(self, tokens: TokenSet) -> None: ...

    def profile(self, tokens: TokenSet) -> AccountProfile: ...

    def posts(
        self, tokens: TokenSet, *, account_id: str, newer_than: datetime | None, max_pages: int
    ) -> list[RemotePost]:
        """The account's posts, newest first, stopping at the first one not newer than `newer_than`."""
        ...

    def post_metrics(self, tokens: TokenSet, *, account_id: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        """Cumulative counts per post, in the platform's own names (enrichment normalises them)."""
        ...

    def parse_webhook(self, body: bytes) -> list[WebhookNotice]:
        """The accounts a (verified) webhook body is about."""
        ...
