"""The worker: the relay (when the bus is a broker), one consumer loop per group, and a lag
reporter, as threads of one process that stop together and gracefully."""

from __future__ import annotations

import functools
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from veri.config import Settings
from veri.db.engine import Database
from veri.events.bus.base import Bus
from veri.events.handlers import Handler
from veri.events.relay import Relay
from veri.events.runtime import ConsumerLoop, RetryPolicy

__all__ = ["Periodic", "Worker"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A chore with its own pace and its own thread: one that runs often, or may be slow (the
    connectors' sync waits on platforms), neither waits for the others nor holds them up."""

    name: str
    every: float
    run: Callable[[], None]

    def __call__(self) -> None:
        self.run()


class Worker:
    def __init__(
        self,
        database: Database,
        bus: Bus,
        handlers: Sequence[Handler],
        settings: Settings,
        *,
        member: str | None = None,
        lag_interval: float = 5.0,
        relay: bool = True,
        consumers: bool = True,
        chores: Sequence[Callable[[], None]] = (),
    ):
        self.database = database
        self.bus = bus
        self.handlers = list(handlers)
        self.settings = settings
        self.member = member or f"{socket.gethostname()}-{os.getpid()}-{id(self) % 10_000}"
        self.lag_interval = lag_interval
        # Scale out by running several workers; a relay waits while another one runs.
        self.run_relay = relay
        self.run_consumers = consumers
        # Periodic jobs that belong to no consumer group (the composition root chooses them).
        self.chores = list(chores)
        self.stop_event = threading.Event()
        self.loops: list[ConsumerLoop] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        events = self.settings.events
        retry = RetryPolicy(events.event_retry_attempts, events.event_retry_backoff_seconds)
        if self.bus.needs_relay and self.run_relay:
            relay = Relay(self.database, self.bus)
            self._spawn("relay", functools.partial(relay.run, self.stop_event))
        for handler in self.handlers if self.run_consumers else []:
            consumer = self.bus.consumer(handler.group, self.member)
            loop = ConsumerLoop(
                self.database,
                consumer,
                handler,
                # A group whose handling is slow per event (embedding) asks for smaller batches.
                batch_size=min(events.event_batch_size, getattr(handler, "batch_size", events.event_batch_size)),
                retry=retry,
                lag_interval=self.lag_interval,
            )
            self.loops.append(loop)
            self._spawn(f"consumer-{handler.group}", functools.partial(loop.run, self.stop_event))
        if self.run_consumers and any(not isinstance(c, Periodic) for c in self.chores):
            self._spawn("housekeeping", self._housekeeping)
        for chore in self.chores if self.run_consumers else []:
            if isinstance(chore, Periodic):
                self._spawn(f"chore-{chore.name}", functools.partial(self._every, chore))
        log.info(
            "worker_started",
            member=self.member,
            bus=self.bus.name,
            groups=[h.group for h in self.handlers],
        )

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"veri-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _housekeeping(self) -> None:
        every = self.settings.memory.memory_chores_seconds
        while not self.stop_event.wait(every):
            for chore in self.chores:
                if isinstance(chore, Periodic):
                    continue
                try:
                    chore()
                except Exception as exc:  # a chore must not stop the worker; the next round retries
                    log.warning("housekeeping_failed", chore=getattr(chore, "__name__", "?"), error=str(exc))

    def _every(self, chore: Periodic) -> None:
        while not self.stop_event.wait(chore.every):
            try:
                chore.run()
            except Exception as exc:  # a chore must not stop the worker; the next round retries
                log.warning("chore_failed", chore=chore.name, error=str(exc))

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the batches in flight, give partitions back, stop."""
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout)
        self.bus.close()
        log.info("worker_stopped", member=self.member)

    def wait(self) -> None:
        self.stop_event.wait()
