"""The adapters a process uses, built from settings in this one place: one per platform whose
secrets are configured, pointed at the platform's real endpoints (production) or at the base
URL the settings give (the demo platform by default in development and tests)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from veri.config import ConnectorSettings
from veri.connectors.base import Connector
from veri.connectors.breaker import CircuitBreaker
from veri.connectors.instagram import InstagramConnector
from veri.connectors.oauth import CallPolicy, OAuth2Adapter
from veri.connectors.tiktok import TikTokConnector
from veri.connectors.twitch import TwitchConnector
from veri.connectors.youtube import YouTubeConnector
from veri.errors import NotFound
from veri.models.creators import Platform

__all__ = ["ADAPTERS", "Connectors", "build_connectors"]

ADAPTERS: dict[Platform, type[OAuth2Adapter]] = {
    Platform.YOUTUBE: YouTubeConnector,
    Platform.INSTAGRAM: InstagramConnector,
    Platform.TIKTOK: TikTokConnector,
    Platform.TWITCH: TwitchConnector,
}


class Connectors:
    """The platforms this process can connect to, by name."""

    def __init__(self, adapters: dict[Platform, Connector], *, webhook_secrets: dict[Platform, str]):
        self._adapters = adapters
        self._webhook_secrets = webhook_secrets

    def __iter__(self) -> Iterator[Connector]:
        return iter(self._adapters.values())

    @property
    def platforms(self) -> list[Platform]:
        return list(self._adapters)

    def get(self, platform: Platform | str) -> Connector:
        try:
            adapter = self._adapters.get(Platform(platform))
        except ValueError:
            adapter = None
        if adapter is None:
            raise NotFound(f"Veri does not connect to {platform}")
        return adapter

    def authorize_origins(self) -> list[str]:
        """Where the connect buttons send people (a form's redirect must be allowed to go there)."""
        return sorted({adapter.authorize_origin for adapter in self._adapters.values()})

    def webhook_secret(self, platform: Platform) -> str:
        return self._webhook_secrets[platform]

    def breakers(self) -> dict[str, str]:
        """Each platform's circuit in this process: closed, open or half_open."""
        return {adapter.platform.value: adapter.breaker_state for adapter in self._adapters.values()}


def build_connectors(
    settings: ConnectorSettings, *, env: str, sleep: Callable[[float], None] = time.sleep
) -> Connectors:
    policy = CallPolicy(
        connect_timeout=settings.connector_connect_timeout_seconds,
        read_timeout=settings.connector_timeout_seconds,
        attempts=settings.connector_retry_attempts,
        backoff=settings.connector_backoff_seconds,
        max_retry_after=settings.connector_max_retry_after_seconds,
    )
    adapters: dict[Platform, Connector] = {}
    secrets: dict[Platform, str] = {}
    for name in settings.configured():
        platform = Platform(name)
        adapter_class = ADAPTERS[platform]
        base = settings.platform_url(name)
        if base is None and env != "production":
            base = f"{settings.demo_platform_url}/{name}"
        endpoints = adapter_class.real if base is None else adapter_class.real.under(base)
        adapters[platform] = adapter_class(
            client_id=settings.client_id(name),
            client_secret=settings.client_secret(name),
            endpoints=endpoints,
            policy=policy,
            breaker=CircuitBreaker(settings.connector_breaker_failures, settings.connector_breaker_cool_off_seconds),
            sleep=sleep,
        )
        secrets[platform] = settings.webhook_secret(name)
    return Connectors(adapters, webhook_secrets=secrets)
