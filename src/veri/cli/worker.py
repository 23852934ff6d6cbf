"""`veri worker`: the stream processor (relay and consumer groups), also started by `veri run`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from veri.cli._shared import console, open_database_for
from veri.config import Settings, get_settings

if TYPE_CHECKING:
    from veri.db.engine import Database
    from veri.events.worker import Worker

__all__ = ["start_worker", "worker_command"]


def start_worker(
    settings: Settings,
    database: Database,
    *,
    relay: bool = True,
    consumers: bool = True,
    groups: list[str] | None = None,
) -> Worker:
    """A started worker over the bus, consumer groups (all, or `groups`) and chores from `wiring`."""
    from veri import wiring
    from veri.events.worker import Worker

    bus = wiring.bus(settings, database)
    redis = wiring.redis_client(settings)
    # What the consumer groups publish live (their own transactions) reaches the API's pages.
    wiring.live(settings, database, redis)
    handlers = [h for h in wiring.handlers(settings, redis) if not groups or h.group in groups]
    worker = Worker(
        database,
        bus,
        handlers,
        settings,
        relay=relay,
        consumers=consumers,
        chores=wiring.chores(settings, database),
    )
    worker.start()
    return worker


def worker_command(
    role: Annotated[
        str, typer.Option(help="all: relay and consumers; relay: only the relay; consumers: only the consumer groups.")
    ] = "all",
    group: Annotated[
        list[str] | None, typer.Option(help="Only this consumer group (repeat for several); default every group.")
    ] = None,
) -> None:
    """Run the stream processor: the relay (Kafka bus) and every consumer group, until stopped.
    Run several to scale out: consumers share the partitions, one relay is active at a time;
    `--group` runs a slow group on its own workers (memory and memory-history, its two lanes)."""
    if role not in ("all", "relay", "consumers"):
        raise typer.BadParameter("use all, relay or consumers", param_hint="--role")
    from veri import wiring

    known = set(wiring.group_names())
    if group and not set(group) <= known:
        unknown = ", ".join(sorted(set(group) - known))
        raise typer.BadParameter(
            f"unknown group {unknown}; the groups are {', '.join(sorted(known))}", param_hint="--group"
        )
    import signal

    settings = get_settings()
    with open_database_for(settings, upgrade=True) as database:
        from veri import flags

        flags.install(database)  # flag changes reach the consumers within a second
        worker = start_worker(settings, database, relay=role != "consumers", consumers=role != "relay", groups=group)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
        console.print(f"Worker {worker.member} running on the {worker.bus.name} bus; Ctrl-C stops it.")
        try:
            worker.wait()
        except KeyboardInterrupt:
            pass
        finally:
            worker.stop()
