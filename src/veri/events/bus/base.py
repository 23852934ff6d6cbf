"""The bus interface both adapters implement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from veri.events.outbox import LogRecord

__all__ = ["Bus", "BusConsumer", "Delivery", "LeaseLost"]


class LeaseLost(RuntimeError):
    """Another worker owns the partition now: this worker's batch must not commit."""


@dataclass(frozen=True)
class Delivery:
    record: LogRecord
    partition: int
    # The adapter's own position: (txid, position) in the embedded log, an offset in Kafka.
    offset: tuple[int, int] | int
    topic: str = ""


class BusConsumer(Protocol):
    group: str
    member: str

    def poll(self, max_records: int, timeout: float) -> list[Delivery]:
        """The next records of the partitions this member owns (may be empty)."""
        ...

    def commit_in_transaction(self, db: Session, deliveries: Sequence[Delivery]) -> None:
        """Record progress inside the transaction that applied the deliveries' effects."""
        ...

    def commit_after(self, deliveries: Sequence[Delivery]) -> None:
        """Record progress after that transaction committed (brokers that keep offsets)."""
        ...

    def lag(self) -> dict[int, int]:
        """Records not yet consumed, per owned partition."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    name: str
    # The embedded log is the outbox itself; only a broker needs the relay.
    needs_relay: bool

    def consumer(self, group: str, member: str) -> BusConsumer: ...

    def publish(self, records: Sequence[LogRecord]) -> None:
        """Send records to the broker and wait until it has them all; raise if it did not."""
        ...

    def close(self) -> None: ...
