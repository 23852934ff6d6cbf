"""Composition: which handlers run in which consumer group, which adapters the settings choose,
and which chores the worker runs. The app, the worker and the CLI all build Veri from here, so
the infrastructure packages (`events/`, `db/`) depend on nothing above them; a new domain that
consumes events or needs an adapter plugs in here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from veri.config import Settings, get_settings

if TYPE_CHECKING:
    from redis import Redis

    from veri.agent.service import Agent
    from veri.connectors.service import ConnectorRuntime
    from veri.db.engine import Database
    from veri.events.bus.base import Bus
    from veri.events.handlers import Handler
    from veri.ledger.payouts import PayoutProvider
    from veri.live.hub import LiveHub
    from veri.memory.embeddings import Embedder
    from veri.migration.store import MongoStore
    from veri.signals.llm import MessageExtractor

__all__ = [
    "Chore",
    "bus",
    "chores",
    "connectors",
    "document_store",
    "embedder",
    "family",
    "group_names",
    "handlers",
    "handlers_by_group",
    "live",
    "message_extractor",
    "payout_provider",
    "redis_client",
    "replay_handlers",
]

log = structlog.get_logger(__name__)

# A periodic job of the worker that belongs to no consumer group.
Chore = Callable[[], None]


def redis_client(settings: Settings) -> Redis | None:
    """Redis when configured (`VERI_REDIS_URL`); None: Postgres and in-process stand in."""
    if not settings.redis.redis_url:
        return None
    import redis

    # Bounded waits: a Redis that stopped answering makes a request fail (503) in seconds, never hang.
    return redis.Redis.from_url(settings.redis.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)


def live(settings: Settings, database: Database, redis: Redis | None) -> LiveHub:
    """Live updates: Redis pub/sub when Redis is configured, else Postgres LISTEN/NOTIFY. Sessions
    on `database` publish through it from now on; the hub (not started: it starts with the first
    stream) fans out what any process published to this process's open pages. The worker calls it
    too, for the publishing side."""
    from veri.live.broker import LiveBroker, use_broker
    from veri.live.hub import LiveHub

    chosen: LiveBroker
    if redis is not None:
        from veri.live.redis_pubsub import RedisBroker

        chosen = RedisBroker(redis)
    else:
        from veri.live.postgres import PostgresBroker

        chosen = PostgresBroker(database.engine.url)
    use_broker(database.engine, chosen)
    return LiveHub(chosen, engine=database.engine)


def embedder(settings: Settings) -> Embedder | None:
    """The configured embedder (`VERI_EMBEDDER`); None: memory is searched by full text only."""
    from veri.memory.embeddings import get_embedder

    return get_embedder(settings.memory.embedder)


def message_extractor(settings: Settings) -> MessageExtractor | None:
    """The LLM message extractor when configured; None: the rules."""
    memory = settings.memory
    if memory.message_extractor != "llm" or memory.anthropic_api_key is None:
        return None
    import anthropic

    from veri.signals.llm import LLMMessageExtractor

    client = anthropic.Anthropic(
        api_key=memory.anthropic_api_key.get_secret_value(), base_url=memory.anthropic_base_url, max_retries=1
    )
    return LLMMessageExtractor(client, memory.anthropic_model)


def agent(settings: Settings, database: Database, embedder: Embedder | None) -> Agent:
    """The agent of this process: Claude behind a circuit breaker when a key is set (and the
    provider is not forced offline), else the offline responder."""
    from veri.agent.providers import CircuitBreaker, Guarded, OfflineProvider, Provider
    from veri.agent.service import Agent

    config = settings.agent
    provider: Provider = OfflineProvider()
    use_claude = config.agent_provider == "anthropic" or (
        config.agent_provider == "auto" and config.anthropic_api_key is not None
    )
    if use_claude and config.anthropic_api_key is not None:
        import anthropic

        from veri.agent.claude import ClaudeProvider

        client = anthropic.Anthropic(
            api_key=config.anthropic_api_key.get_secret_value(),
            base_url=config.anthropic_base_url,
            max_retries=0,  # Guarded retries within the latency budget
            timeout=config.agent_first_token_seconds,  # to connect, and between two pieces of the stream
        )
        provider = Guarded(
            ClaudeProvider(client, model=config.agent_model, max_tokens=config.agent_max_tokens),
            CircuitBreaker(config.agent_breaker_failures, config.agent_breaker_cool_off_seconds),
        )
    return Agent(database, embedder, provider, config)


def handlers(settings: Settings | None = None, redis: Redis | None = None) -> list[Handler]:
    """Every consumer group, in the order the worker starts them."""
    from veri.analytics.cache import AnalyticsCache
    from veri.analytics.handlers import AnalyticsHandler
    from veri.events.lanes import lanes
    from veri.ledger.handlers import LedgerHandler
    from veri.memory.handlers import MemoryHandler
    from veri.scoring.boards import Leaderboards
    from veri.scoring.handlers import ScoringHandler

    settings = settings or get_settings()
    return [
        AnalyticsHandler(AnalyticsCache(redis) if redis is not None else None),
        ScoringHandler(Leaderboards(redis)),
        LedgerHandler(settings.ledger),
        *mongo_replicators(settings),
        # Formation is slow: a person's own action must not queue behind months of history.
        *lanes(MemoryHandler(embedder(settings), extractor=message_extractor(settings))),
    ]


def replay_handlers(settings: Settings | None = None) -> list[Handler]:
    """The groups whose state lives in PostgreSQL, built to apply the log inside one transaction
    and reach nothing outside it (`veri check consistency`): no Redis boards or cache, no
    notices, no embedding model (embeddings are not compared), the rules' message extractor
    (an LLM would make every replay cost tokens). Mongo's dual-write is checked by `veri migrate verify`."""
    from veri.analytics.handlers import AnalyticsHandler
    from veri.events.lanes import lanes
    from veri.ledger.handlers import LedgerHandler
    from veri.memory.handlers import MemoryHandler
    from veri.scoring.boards import Leaderboards
    from veri.scoring.handlers import ScoringHandler

    settings = settings or get_settings()
    return [
        AnalyticsHandler(None),
        ScoringHandler(Leaderboards(None), tell=False),
        LedgerHandler(settings.ledger, tell=False),
        *lanes(MemoryHandler(None)),
    ]


def document_store(settings: Settings) -> MongoStore | None:
    """The migration's MongoDB when configured (`VERI_MONGO_URL`), its indexes made; else None."""
    if not settings.mongo.mongo_url:
        return None
    from veri.migration.store import MongoStore

    store = MongoStore(settings.mongo.mongo_url, settings.mongo.mongo_db)
    try:
        store.ensure_indexes()
    except Exception as exc:  # Mongo down at start: dual-write retries; indexes are made next start
        log.warning("mongo_indexes_not_made", error=str(exc))
    return store


def mongo_replicators(settings: Settings) -> list[Handler]:
    """Dual-write, when a document store is configured."""
    store = document_store(settings)
    if store is None:
        return []
    from veri.migration.replicator import MongoReplicator

    return [MongoReplicator(store)]


def handlers_by_group(settings: Settings | None = None, redis: Redis | None = None) -> dict[str, Handler]:
    return {h.group: h for h in handlers(settings, redis)}


def family(group: str, settings: Settings | None = None) -> list[Handler]:
    """The groups that share `group`'s derived state (a slow group's lanes), to be rebuilt
    together; the live lane, which resets that state, first."""
    from veri.events.lanes import family_of

    every = handlers(settings)
    chosen = next((h for h in every if h.group == group), None)
    if chosen is None:
        return []
    return [h for h in every if family_of(h) == family_of(chosen)]


def group_names() -> list[str]:
    """The consumer groups' names, without building their adapters (no model, no Redis)."""
    from veri.analytics.handlers import AnalyticsHandler
    from veri.events.lanes import HISTORY_SUFFIX
    from veri.ledger.handlers import LedgerHandler
    from veri.memory.handlers import MemoryHandler
    from veri.scoring.handlers import ScoringHandler

    return [
        AnalyticsHandler.group,
        ScoringHandler.group,
        LedgerHandler.group,
        MemoryHandler.group,
        MemoryHandler.group + HISTORY_SUFFIX,
    ]


def payout_provider(settings: Settings) -> PayoutProvider:
    """Where payouts go: Stripe Connect when `VERI_PAYOUT_PROVIDER=stripe` (its key and webhook
    secret required), else offline (paid at once: the embedded default)."""
    ledger = settings.ledger
    if ledger.payout_provider == "stripe" and ledger.stripe_api_key and ledger.stripe_webhook_secret:
        from veri.ledger.stripe_connect import StripeConnect

        return StripeConnect(
            ledger.stripe_api_key.get_secret_value(),
            ledger.stripe_webhook_secret.get_secret_value(),
            api_base=ledger.stripe_api_base,
            tolerance_seconds=ledger.stripe_webhook_tolerance_seconds,
        )
    from veri.ledger.payouts import OfflinePayouts

    return OfflinePayouts()


def bus(settings: Settings, database: Database) -> Bus:
    """The event bus the settings choose, with its topics made when it is a broker."""
    from veri.events.bus.factory import open_bus

    chosen = open_bus(settings.events, database)
    if settings.events.event_bus == "kafka":
        from veri.events.bus.kafka import KafkaBus

        assert isinstance(chosen, KafkaBus)
        chosen.ensure_topics()
    return chosen


def chores(settings: Settings, database: Database) -> list[Chore]:
    """The worker's periodic jobs: expired sessions; memory decay (with MEMORY_DECAY), embeddings
    that failed at formation, and the lexeme statistics; the ROI model retrained once 20 new
    outcomes are remembered (promoted only if not worse); proofs whose evidence never came,
    settled; payouts the provider has not taken yet (it was down, a process died), sent."""
    from veri.identity.service import purge_expired_sessions
    from veri.memory.service import memory_chores

    def sessions() -> None:
        with database.transaction() as db:
            purge_expired_sessions(db)

    chosen = embedder(settings)

    def memory() -> None:
        memory_chores(database, settings, chosen)

    def models() -> None:
        from veri.recommend.service import TooFewOutcomes, retrain

        try:
            with database.transaction() as db:
                result = retrain(db, min_new_outcomes=20)
        except TooFewOutcomes as exc:
            log.debug("roi_model_not_trained", reason=str(exc))
            return
        if result.status != "skipped":
            log.info("roi_model_retrained", status=result.status, reason=result.reason)

    def proofs() -> None:
        from veri.scoring.service import settle_pending

        with database.transaction() as db:
            settled = settle_pending(db)
        if settled:
            log.info("proofs_settled", count=settled)

    provider = payout_provider(settings)

    def payouts() -> None:
        from veri.ledger.service import send_due_payouts

        sent = send_due_payouts(database, provider, settings=settings.ledger)
        if sent:
            log.info("payouts_sent", count=sent)

    return [sessions, memory, models, proofs, payouts, *connector_chores(settings, database)]


def connectors(settings: Settings) -> ConnectorRuntime:
    """The platform adapters the settings configure (real endpoints in production, the demo
    platform's otherwise, or the URLs set), the token cipher under the configured keys."""
    from veri.connectors.adapters import build_connectors
    from veri.connectors.crypto import TokenCipher, new_key
    from veri.connectors.service import ConnectorRuntime

    config = settings.connectors
    keys = config.connector_token_keys
    # No keys only in production with no platform configured: nothing is ever encrypted then.
    cipher = TokenCipher.from_setting(keys.get_secret_value()) if keys is not None else TokenCipher([new_key()])
    return ConnectorRuntime(build_connectors(config, env=settings.env), cipher, config)


def connector_chores(settings: Settings, database: Database) -> list[Chore]:
    """The connectors' sync (its own thread, every few seconds: due accounts, webhooks and
    sync-now requests) and the purge of expired connection states and old webhook receipts."""
    if not settings.connectors.configured():
        return []
    from veri.connectors.service import purge
    from veri.connectors.sync import SyncRunner
    from veri.events.worker import Periodic

    runner = SyncRunner(database, connectors(settings))

    def sync() -> None:
        runner.run_once()

    def connector_purge() -> None:
        with database.transaction() as db:
            purge(db)

    return [Periodic("connector-sync", settings.connectors.connector_poll_seconds, sync), connector_purge]
