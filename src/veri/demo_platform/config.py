"""How the demo platform behaves: the OAuth clients it knows, token lifetimes, rate limits,
injected faults and where its webhooks go."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

__all__ = ["PLATFORMS", "DemoClient", "DemoConfig", "Faults"]

PLATFORMS = ("youtube", "instagram", "tiktok", "twitch")


@dataclass(frozen=True)
class DemoClient:
    """An app registered with a platform: its id and secret, and the redirect URIs it may use
    (a prefix each: the demo accepts any port of a registered host)."""

    client_id: str
    client_secret: str
    redirect_prefixes: tuple[str, ...] = ("http://127.0.0.1", "http://localhost", "http://testserver")


@dataclass(frozen=True)
class Faults:
    """A share of API and token calls answered 429 (with Retry-After) or 500, or held for
    `hang_seconds` before answering (a platform that hangs); optionally only on some platforms."""

    rate_429: float = 0.0
    rate_500: float = 0.0
    hang_share: float = 0.0
    hang_seconds: float = 30.0
    retry_after: int = 1
    platforms: tuple[str, ...] = ()

    def applies_to(self, platform: str) -> bool:
        return not self.platforms or platform in self.platforms


@dataclass
class DemoConfig:
    clients: dict[str, DemoClient]
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    # Where webhooks go: "{platform}" is replaced; None sends none.
    webhook_url: str | None = None
    access_ttl: int = 3600
    # Instagram's long-lived tokens (ig_exchange_token): 60 days.
    long_lived_ttl: int = 60 * 24 * 3600
    code_ttl: int = 600
    # Requests per access token per minute before 429.
    rate_limit_per_minute: int = 600
    posts_per_account: int = 6
    page_size: int = 10
    seed: int = 17
    # A new post every so often on some connected account (and its webhook); 0: never.
    publish_every_seconds: float = 0.0
    # Guards /_demo/ (the test and benchmark controls) when set.
    admin_token: str | None = None
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_faults(self, **changes: object) -> Faults:
        with self._lock:
            self.faults = replace(self.faults, **changes)  # type: ignore[arg-type]
            return self.faults
