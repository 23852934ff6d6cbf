"""What every `veri` command shares: the database a command opens and disposes, the `--json`
option, and the way results are printed (tables on stdout, messages and progress on stderr)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, TextColumn
from rich.table import Table

if TYPE_CHECKING:
    from veri.config import Settings
    from veri.db.engine import Database

__all__ = ["JsonOption", "console", "emit", "event_progress", "open_database_for", "show", "stage_progress"]

# Messages, prompts and progress; stdout is kept for results.
console = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


@contextmanager
def open_database_for(settings: Settings, *, upgrade: bool = False) -> Iterator[Database]:
    """The database for one command, with logging configured as the settings say; migrated to
    head first with `upgrade`, and disposed when the command is done, however it ends (the
    embedded server it started is stopped unless another process still uses it)."""
    from veri.db import migrate
    from veri.db.engine import open_database
    from veri.observability import configure_logging

    configure_logging(settings.log_level, json=settings.log_json)
    database = open_database(settings)
    try:
        if upgrade:
            migrate.upgrade(database.engine)
        # What a command changes reaches open pages through the broker the settings choose.
        from veri import wiring

        wiring.live(settings, database, wiring.redis_client(settings))
        yield database
    finally:
        database.dispose()
        if database.embedded is not None:
            # Stop the embedded server now (it stays up while another Veri process uses it),
            # rather than trust an exit hook to run after Ctrl-C.
            database.embedded.stop()


def show(table: Table) -> None:
    """Print a result table on stdout (a console made now, so it writes to the current stdout)."""
    Console().print(table)


def emit(data: dict[str, Any], as_json: bool, title: str) -> None:
    """A flat result: one JSON object on stdout with `--json`, else a two-column table."""
    if as_json:
        typer.echo(json.dumps(data, default=str))
        return
    table = Table(title=title, show_header=False)
    for key, value in data.items():
        table.add_row(key, str(value))
    show(table)


@contextmanager
def stage_progress(labels: dict[str, str]) -> Iterator[Callable[[str, int, int], None]]:
    """One progress bar per stage of a long run, named by `labels` (stage -> words); yields the
    `progress(stage, done, total)` callback the evaluations call."""
    with Progress(*Progress.get_default_columns(), TextColumn("{task.completed}/{task.total}"), console=console) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            # A total of 0 is a stage whose size is not known ahead: the bar pulses.
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield progress


def event_progress() -> Progress:
    """A progress bar over simulated days that also counts events."""
    return Progress(*Progress.get_default_columns(), TextColumn("{task.fields[events]:,} events"), console=console)
