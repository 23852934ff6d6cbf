"""`veri demo`: the demo dataset and the simulated world behind it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from veri.cli._shared import JsonOption, console, emit, event_progress, open_database_for
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="The demo dataset.", no_args_is_help=True)


@app.command("load")
def demo_load(as_json: JsonOption = False) -> None:
    """Load the demo dataset (brands, creators, campaigns and deals in every state)."""
    from veri.demo import DEMO_PASSWORD, load_demo
    from veri.errors import VeriError

    try:
        with (
            open_database_for(get_settings(), upgrade=True) as database,
            console.status("Loading the demo world...") as status,
            database.transaction() as db,
        ):
            summary = load_demo(db, progress=lambda step: status.update(f"Loading demo {step}..."))
    except VeriError as exc:
        console.print(f"[red]cannot load the demo into this database: {exc.message}[/red]")
        raise typer.Exit(1) from None
    emit({**asdict(summary), "password": DEMO_PASSWORD}, as_json, "Demo data")


@app.command("world")
def demo_world(
    creators: Annotated[int, typer.Option(min=1, max=100_000)] = 500,
    brands: Annotated[int, typer.Option(min=1, max=10_000)] = 60,
    days: Annotated[int, typer.Option(min=1, max=3650)] = 180,
    seed: int = 42,
    as_json: JsonOption = False,
) -> None:
    """Play a simulated world through ingestion, the demo accounts in some of its parts
    (idempotent: run it again after an interruption). `veri run` does it on first start."""
    import threading
    import time as clock

    from veri.demo import load_world, world_progress

    settings = get_settings()
    with open_database_for(settings, upgrade=True) as database:
        loader = threading.Thread(
            target=load_world,
            kwargs={
                "database": database,
                "creators": creators,
                "brands": brands,
                "days": days,
                "seed": seed,
                "marker": settings.db.data_dir / "demo-world.json",
                "partitions": settings.events.event_partitions,
            },
        )
        with event_progress() as bar:
            task = bar.add_task("Loading the world", total=days, events=0)
            loader.start()
            while loader.is_alive():
                bar.update(task, completed=world_progress().days_done, events=world_progress().events)
                clock.sleep(0.2)
            bar.update(task, completed=world_progress().days_done, events=world_progress().events)
    progress = world_progress()
    emit({"state": progress.state, "events": progress.events, "error": progress.error}, as_json, "World")
    if progress.state != "done":
        raise typer.Exit(1)
