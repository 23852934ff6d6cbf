"""Live events must not wait behind history. A group whose work is slow (memory formation) runs as
two consumer groups over the same log: the live lane takes what Veri learned as it happened, the
history lane what it learned later (a simulated world, an import, a backfill of months). Each
lane reads every event and skips the other's, so a backlog of history never delays a person's
own action, and the history drains at its own pace. The two lanes may form memories of one
creator at the same time: the memory handler serialises them per creator (advisory locks).

Which lane an event belongs to is decided by the event alone (when it happened and when it was
recorded), never by the time it is consumed: both lanes must agree, or an event would be skipped
by both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from veri.events.envelope import Event
    from veri.events.handlers import Handler
    from veri.events.outbox import LogRecord

__all__ = ["HISTORY_AFTER", "HISTORY_SUFFIX", "Lane", "family_of", "is_history", "lanes"]

# Recorded more than this after it happened: history (a live action is recorded within seconds;
# a client's retry queue or a phone offline for a while stays well inside an hour).
HISTORY_AFTER = timedelta(hours=1)
HISTORY_SUFFIX = "-history"


def is_history(event: Event | LogRecord) -> bool:
    """An event as stored or as parsed: the lane needs only its two moments."""
    return event.recorded_at is not None and event.recorded_at - event.occurred_at > HISTORY_AFTER


class Lane:
    """One lane of `inner`'s work, as a consumer group of its own."""

    def __init__(self, inner: Handler, *, history: bool):
        self.inner = inner
        self.history = history
        self.family = inner.group
        self.group = inner.group + (HISTORY_SUFFIX if history else "")
        self.types = inner.types
        # The inner handler's batch (a batch of live formation must stay well inside the lease).
        self.batch_size: int = getattr(inner, "batch_size", 1000)
        # The lanes share their derived state: the live lane declares (and resets) it for both.
        self.derived = () if history else getattr(inner, "derived", ())

    def accepts(self, event: Event | LogRecord) -> bool:
        """This lane's events; the consumer loop reads past the others without marking them."""
        return is_history(event) == self.history

    def handle(self, db: Session, events: Sequence[Event]) -> None:
        # Whatever it is given: the consumer loop hands it only its own (`accepts`), and a dead
        # letter replayed by hand must be applied whichever lane would take it today (a letter
        # from before the lanes, a Kafka record relayed without recorded_at).
        self.inner.handle(db, events)

    def after_commit(self, events: Sequence[Event]) -> None:
        self.inner.after_commit(events)

    def reset(self, db: Session) -> None:
        # The lanes share their derived state: the live lane deletes it once for both.
        if not self.history:
            self.inner.reset(db)


def lanes(inner: Handler) -> list[Handler]:
    """The live and the history lane of a slow group."""
    return [Lane(inner, history=False), Lane(inner, history=True)]


def family_of(handler: Handler) -> str:
    """The group whose work a handler does: a lane's family, else its own group."""
    return str(getattr(handler, "family", handler.group))
