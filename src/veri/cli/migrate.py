"""`veri migrate`: the PostgreSQL -> MongoDB migration's backfill and verification (needs
`VERI_MONGO_URL`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from veri.cli._shared import JsonOption, console, emit, open_database_for
from veri.config import get_settings

if TYPE_CHECKING:
    from veri.migration.store import DocumentStore

__all__ = ["app"]

app = typer.Typer(help="The PostgreSQL -> MongoDB migration: backfill, verify.", no_args_is_help=True)

Cohort = Annotated[float, typer.Option(min=0.1, max=100, help="Percent of creators (the migration's stable hashing).")]


def _store() -> DocumentStore:
    from veri import wiring

    store = wiring.document_store(get_settings())
    if store is None:
        console.print("[red]no document store: set VERI_MONGO_URL[/red]")
        raise typer.Exit(2)
    return store


@app.command("backfill")
def migrate_backfill(
    cohort: Cohort = 100.0,
    page: Annotated[int, typer.Option(min=1, max=10_000, help="Creators per page (one checkpoint each).")] = 500,
    pause: Annotated[float, typer.Option(min=0, max=60, help="Seconds between pages (throttle).")] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Copy the creators Mongo lacks, resuming after the last checkpoint; safe while dual-write runs."""
    from veri.migration.service import backfill

    store = _store()
    with open_database_for(get_settings()) as database, Progress(console=console) as bar:
        task = bar.add_task("Backfilling creators", total=None)
        result = backfill(
            database, store, cohort=cohort, page=page, pause=pause, progress=lambda n: bar.advance(task, n)
        )
    emit(
        {
            "aggregate": result.aggregate,
            "cohort": result.cohort,
            "read": result.read,
            "copied": result.copied,
            "resumed_after": result.resumed_after or "-",
            "done": result.done,
        },
        as_json,
        "Backfill",
    )


@app.command("verify")
def migrate_verify(
    cohort: Cohort = 100.0,
    repair: Annotated[bool, typer.Option(help="Write missing and differing documents again from Postgres.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare Postgres and Mongo: counts, ids both ways, a hash per document; list mismatches."""
    from veri.migration.service import verify

    store = _store()
    with open_database_for(get_settings()) as database:
        result = verify(database, store, cohort=cohort, repair=repair)
    if as_json:
        print(json.dumps(result.as_dict()))
    else:
        emit(
            {k: v if not isinstance(v, list) else ", ".join(v[:5]) or "-" for k, v in result.as_dict().items()},
            False,
            "Verify",
        )
    if result.mismatches and not repair:
        raise typer.Exit(1)
