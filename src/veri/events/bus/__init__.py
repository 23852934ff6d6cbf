"""The event bus behind one small interface: Kafka protocol (production) or the embedded log
(the outbox read as a partitioned log, the zero-set-up default). Chosen by settings in
`veri.events.bus.open_bus`."""

from __future__ import annotations

from veri.events.bus.base import Bus, BusConsumer, Delivery

__all__ = ["Bus", "BusConsumer", "Delivery"]
