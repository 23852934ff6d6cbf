"""What every adapter shares: OAuth2 Authorization Code + PKCE (S256), token refresh and
revocation through Authlib's httpx client, and one guarded way to call a platform: timeouts,
retries on 429 (honouring Retry-After) and on 5xx / timeouts (exponential backoff with jitter),
and a circuit breaker per platform. Failures come out as the port's typed errors, with messages
that never carry a token or a URL."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx2
import structlog
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import OAuth2Client

from veri.connectors.base import (
    AccountProfile,
    ConnectorError,
    GrantRejected,
    PlatformRefused,
    PlatformUnavailable,
    RateLimited,
    RemotePost,
    TokenSet,
    WebhookNotice,
)
from veri.connectors.breaker import CircuitBreaker
from veri.models.creators import Platform

__all__ = ["CallPolicy", "Endpoints", "OAuth2Adapter", "parse_moment"]

log = structlog.get_logger(__name__)
T = TypeVar("T")

# OAuth error codes that mean the grant itself is gone: the person must connect again.
_GRANT_ERRORS = {"invalid_grant", "invalid_token", "access_denied", "unauthorized_client", "token_invalid"}


@dataclass(frozen=True)
class Endpoints:
    """A platform's OAuth and API addresses. `under(base)` moves every one below `base`,
    keeping its path: how the demo platform (or a proxy) serves the same shapes."""

    authorize: str
    token: str
    revoke: str
    api: str

    def under(self, base: str) -> Endpoints:
        root = base.rstrip("/")

        def move(url: str) -> str:
            parts = urlsplit(url)
            return root + parts.path.rstrip("/") + ("/" if url.endswith("/") else "")

        return Endpoints(move(self.authorize), move(self.token), move(self.revoke), move(self.api))


@dataclass(frozen=True)
class CallPolicy:
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    attempts: int = 4
    backoff: float = 0.5
    max_retry_after: float = 30.0


def parse_moment(value: object) -> datetime:
    """An ISO 8601 moment (`Z` or an offset) or Unix seconds, as an aware UTC datetime."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC)
    text = str(value).strip().replace("Z", "+00:00")
    if text.endswith("+0000"):
        text = text[:-5] + "+00:00"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _retry_after(response: httpx2.Response, default: float) -> float:
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    if value:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            pass
    return default


class OAuth2Adapter:
    """The base of the four adapters. Subclasses name their endpoints, scopes and extra
    authorization parameters, and read their API's shapes; the OAuth flow and the guarded call
    are here, once."""

    platform: ClassVar[Platform]
    real: ClassVar[Endpoints]
    scopes: ClassVar[tuple[str, ...]]
    scope_separator: ClassVar[str] = " "
    # How the client authenticates at the token endpoint (Authlib's names).
    token_auth_method: ClassVar[str] = "client_secret_post"  # noqa: S105 (a method name)
    # Tokens are refreshed this long before they expire.
    refresh_margin: ClassVar[timedelta] = timedelta(minutes=5)
    # Extra parameters of the authorization request (offline access, a forced consent).
    authorize_params: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        endpoints: Endpoints,
        policy: CallPolicy,
        breaker: CircuitBreaker,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client_id = client_id
        self._client_secret = client_secret
        self.endpoints = endpoints
        self.policy = policy
        self.breaker = breaker
        self._sleep = sleep
        # One connection pool per platform, shared by the short-lived clients of each call
        # (an OAuth2Client holds one token: per call keeps threads apart).
        self._transport = httpx2.HTTPTransport(retries=0)
        self._random = random.Random()
        self._lock = threading.Lock()
        self.calls = 0  # requests answered (the benchmark counts them)

    # -- OAuth -------------------------------------------------------------------------------

    @property
    def authorize_origin(self) -> str:
        parts = urlsplit(self.endpoints.authorize)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def breaker_state(self) -> str:
        return self.breaker.state

    @property
    def scope(self) -> str:
        return self.scope_separator.join(self.scopes)

    def oauth(self, tokens: TokenSet | None = None, **extra: Any) -> OAuth2Client:
        """A fresh Authlib client on the shared pool (with `tokens`: for API calls)."""
        client = OAuth2Client(
            client_id=self.client_id,
            client_secret=self._client_secret,
            token_endpoint_auth_method=self.token_auth_method,
            revocation_endpoint_auth_method=self.token_auth_method,
            scope=self.scope,
            code_challenge_method="S256",
            token={"access_token": tokens.access_token, "token_type": "Bearer"} if tokens else None,  # a type  # nosec B105
            timeout=httpx2.Timeout(self.policy.read_timeout, connect=self.policy.connect_timeout),
            transport=self._transport,
            trust_env=False,
            event_hooks={"response": [self._check_status]},
            **extra,
        )
        self.prepare(client)
        return client

    def prepare(self, client: OAuth2Client) -> None:
        """Register a platform's compliance hooks or client authentication (TikTok's client_key)."""

    def authorize_url(self, *, state: str, code_verifier: str, redirect_uri: str) -> str:
        url, _ = self.oauth().create_authorization_url(
            self.endpoints.authorize,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=redirect_uri,
            **self.authorize_params,
        )
        return str(url)

    def exchange_code(self, *, code: str, code_verifier: str, redirect_uri: str) -> TokenSet:
        def exchange() -> TokenSet:
            fetched = self.oauth().fetch_token(
                self.endpoints.token,
                grant_type="authorization_code",
                code=code,
                code_verifier=code_verifier,
                redirect_uri=redirect_uri,
            )
            return self.token_set(fetched)

        return self.call("the token exchange", exchange)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        if not tokens.refresh_token:
            raise GrantRejected(f"{self.platform.value} gave no refresh token: connect again")
        refresh_token = tokens.refresh_token

        def refresh() -> TokenSet:
            fetched = self.oauth().refresh_token(self.endpoints.token, refresh_token=refresh_token)
            renewed = self.token_set(fetched)
            # A platform that does not rotate refresh tokens keeps the one it gave.
            return TokenSet(
                renewed.access_token,
                renewed.refresh_token or refresh_token,
                renewed.expires_at,
                renewed.scope or tokens.scope,
            )

        return self.call("a token refresh", refresh)

    def needs_refresh(self, tokens: TokenSet, now: datetime) -> bool:
        return tokens.expires_at is not None and tokens.expires_at - now <= self.refresh_margin

    def revoke(self, tokens: TokenSet) -> None:
        token = tokens.refresh_token or tokens.access_token
        hint = "refresh_token" if tokens.refresh_token else "access_token"

        def revoke() -> None:
            response = self.oauth().revoke_token(self.endpoints.revoke, token=token, token_type_hint=hint)
            if response.status_code >= 400 and response.status_code != 401:
                raise PlatformRefused(f"{self.platform.value} refused the revocation ({response.status_code})")

        self.call("a revocation", revoke)

    def token_set(self, fetched: Mapping[str, Any]) -> TokenSet:
        access = fetched.get("access_token")
        if not isinstance(access, str) or not access:
            raise PlatformUnavailable(f"{self.platform.value} answered without an access token")
        expires_at = fetched.get("expires_at")
        if expires_at is None and fetched.get("expires_in") is not None:
            expires_at = time.time() + float(fetched["expires_in"])
        scope = fetched.get("scope", "")
        if isinstance(scope, list):
            scope = " ".join(str(s) for s in scope)
        refresh = fetched.get("refresh_token")
        return TokenSet(
            access_token=access,
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            expires_at=datetime.fromtimestamp(float(expires_at), UTC) if expires_at is not None else None,
            scope=str(scope).replace(",", " "),
        )

    # -- the API -------------------------------------------------------------------------------

    def profile(self, tokens: TokenSet) -> AccountProfile:
        raise NotImplementedError

    def posts(
        self, tokens: TokenSet, *, account_id: str, newer_than: datetime | None, max_pages: int
    ) -> list[RemotePost]:
        raise NotImplementedError

    def post_metrics(self, tokens: TokenSet, *, account_id: str, post_ids: list[str]) -> dict[str, dict[str, int]]:
        raise NotImplementedError

    def parse_webhook(self, body: bytes) -> list[WebhookNotice]:
        raise NotImplementedError

    def api(
        self,
        tokens: TokenSet,
        method: str,
        path: str,
        what: str,
        *,
        params: Any = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One guarded API call, its JSON object back."""

        def request() -> dict[str, Any]:
            response = self.oauth(tokens).request(
                method, self.endpoints.api + path, params=params, json=json, headers=headers
            )
            return self.json_of(response, what)

        return self.call(what, request)

    def json_of(self, response: httpx2.Response, what: str) -> dict[str, Any]:
        if response.status_code >= 400:
            raise PlatformRefused(f"{self.platform.value} refused {what} ({response.status_code})")
        try:
            body = response.json()
        except ValueError:
            raise PlatformUnavailable(f"{self.platform.value} answered {what} with something not JSON") from None
        if not isinstance(body, dict):
            raise PlatformUnavailable(f"{self.platform.value} answered {what} with something not an object")
        return body

    # -- the guard -----------------------------------------------------------------------------

    def _check_status(self, response: httpx2.Response) -> None:
        """Every response, before anything reads it: the statuses retrying or reconnecting fixes."""
        with self._lock:
            self.calls += 1
        status = response.status_code
        if status == 429:
            raise RateLimited(
                f"{self.platform.value} is rate limiting Veri", retry_after=_retry_after(response, self.policy.backoff)
            )
        if status >= 500:
            raise PlatformUnavailable(f"{self.platform.value} answered {status}")
        if status == 401 and str(response.request.url).split("?")[0] != self.endpoints.token:
            raise GrantRejected(f"{self.platform.value} no longer accepts the grant (401)")

    def call(self, what: str, attempt: Callable[[], T]) -> T:
        """`attempt` under the breaker, with retries; typed errors out."""
        policy = self.policy
        for number in range(1, policy.attempts + 1):
            if not self.breaker.allow():
                raise PlatformUnavailable(
                    f"{self.platform.value} is failing: calls paused for {self.breaker.retry_in():.0f} s (circuit open)"
                )
            last = number == policy.attempts
            try:
                result = attempt()
            except RateLimited as exc:
                self.breaker.success()  # the platform answered: it is up, only busy
                if last or exc.retry_after > policy.max_retry_after:
                    raise
                log.info("platform_rate_limited", platform=self.platform.value, what=what, wait=exc.retry_after)
                self._sleep(exc.retry_after)
            except PlatformUnavailable as exc:
                self._failed(what, str(exc), number)
                if last:
                    raise
            except httpx2.TimeoutException:
                self._failed(what, "timed out", number)
                if last:
                    raise PlatformUnavailable(f"{self.platform.value} did not answer {what} in time") from None
            except httpx2.TransportError as exc:
                self._failed(what, type(exc).__name__, number)
                if last:
                    raise PlatformUnavailable(f"{self.platform.value} could not be reached for {what}") from None
            except AuthlibBaseError as exc:
                self.breaker.success()
                error = str(exc.error or "")
                if error in _GRANT_ERRORS:
                    raise GrantRejected(f"{self.platform.value} refused {what}: {error}") from None
                raise PlatformRefused(f"{self.platform.value} refused {what}: {error or 'error'}") from None
            except ConnectorError:
                self.breaker.success()
                raise
            except (KeyError, TypeError, ValueError) as exc:
                self._failed(what, f"unexpected answer ({type(exc).__name__})", number)
                if last:
                    raise PlatformUnavailable(f"{self.platform.value} answered {what} in an unexpected shape") from None
            else:
                self.breaker.success()
                return result
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _failed(self, what: str, reason: str, number: int) -> None:
        self.breaker.failure()
        log.info("platform_call_failed", platform=self.platform.value, what=what, reason=reason, attempt=number)
        if number < self.policy.attempts:
            with self._lock:
                jitter = self._random.uniform(0, self.policy.backoff)
            self._sleep(self.policy.backoff * 2 ** (number - 1) + jitter)
