"""Choose the bus from the settings, in one place."""

from __future__ import annotations

from veri.config import EventSettings
from veri.db.engine import Database
from veri.events.bus.base import Bus
from veri.events.bus.embedded import EmbeddedLog

__all__ = ["open_bus"]


def open_bus(settings: EventSettings, database: Database) -> Bus:
    if settings.event_bus == "kafka":
        from veri.events.bus.kafka import KafkaBus

        return KafkaBus(
            settings.kafka_bootstrap,
            topic_prefix=settings.kafka_topic_prefix,
            partitions=settings.event_partitions,
        )
    return EmbeddedLog(database, partitions=settings.event_partitions, lease_seconds=settings.event_lease_seconds)
