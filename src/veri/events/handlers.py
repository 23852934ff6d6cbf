"""What a consumer group is: a name, the event types it wants, and a batch handler."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from veri.events.envelope import Event

__all__ = ["DependencyDown", "Handler"]


class DependencyDown(Exception):
    """A handler's downstream store (MongoDB for dual-write) cannot be reached. An outage is not a
    poison event: the consumer waits and retries the batch whole, never dead-letters it."""


class Handler(Protocol):
    group: str
    # Event types the group applies; others advance its offsets without being handled. A handler
    # that takes only some events of these types also has `accepts(event) -> bool` (a lane,
    # events/lanes.py): the consumer loop then neither marks nor hands it the others.
    types: frozenset[str]

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        """Apply the events' effects in `db`'s transaction. Raise to have them retried."""
        ...

    def after_commit(self, events: Sequence[Event]) -> None:
        """Side effects that must not happen inside the transaction (cache invalidation)."""
        ...

    def reset(self, db: Session) -> None:
        """Delete all derived state, before a replay from the beginning of the log. A group whose
        state is in PostgreSQL also declares its tables as `derived: tuple[DerivedTable, ...]`
        (events/derived.py), which `veri check consistency` compares with a replay."""
        ...
