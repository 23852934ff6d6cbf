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
Aggregates = Annotated[
    list[str] | None,
    typer.Option("--aggregate", help="creators, campaigns, threads or memories (repeatable; default: all)."),
]


def _aggregates(chosen: list[str] | None) -> list[str]:
    from veri.migration.documents import AGGREGATES

    known = [a.name for a in AGGREGATES]
    unknown = [a for a in chosen or [] if a not in known]
    if unknown:
        console.print(f"[red]not an aggregate: {', '.join(unknown)} (use {', '.join(known)})[/red]")
        raise typer.Exit(2)
    return chosen or known


def _store() -> DocumentStore:
    from veri import wiring

    store = wiring.document_store(get_settings())
    if store is None:
        console.print("[red]no document store: set VERI_MONGO_URL[/red]")
        raise typer.Exit(2)
    return store


@app.command("backfill")
def migrate_backfill(
    aggregate: Aggregates = None,
    cohort: Cohort = 100.0,
    page: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per page (one checkpoint each).")] = 500,
    pause: Annotated[float, typer.Option(min=0, max=60, help="Seconds between pages (throttle).")] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Copy the documents Mongo lacks, resuming after the last checkpoint; safe while dual-write runs."""
    from veri.migration.service import backfill, rows_of

    store = _store()
    results = []
    with open_database_for(get_settings()) as database, Progress(console=console, disable=as_json) as bar:
        for name in _aggregates(aggregate):
            task = bar.add_task(f"Backfilling {name}", total=rows_of(database, name))
            result = backfill(
                database,
                store,
                name,
                cohort=cohort,
                page=page,
                pause=pause,
                progress=lambda n, task=task: bar.advance(task, n),  # type: ignore[misc]
            )
            results.append(result)
    if as_json:
        print(json.dumps([r.as_dict() for r in results]))
        return
    for result in results:
        emit({k: v if v != "" else "-" for k, v in result.as_dict().items()}, False, f"Backfill: {result.aggregate}")


@app.command("verify")
def migrate_verify(
    aggregate: Aggregates = None,
    cohort: Cohort = 100.0,
    sample: Annotated[
        float,
        typer.Option(min=0.001, max=1, help="Share of documents to hash (1: all; a full check clears reads)."),
    ] = 1.0,
    repair: Annotated[bool, typer.Option(help="Write missing and differing documents again from Postgres.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare Postgres and Mongo: counts, ids both ways, a hash per document; list mismatches."""
    from veri.migration.service import verify

    store = _store()
    with open_database_for(get_settings()) as database:
        results = [
            verify(database, store, name, cohort=cohort, repair=repair, sample=sample)
            for name in _aggregates(aggregate)
        ]
    if as_json:
        print(json.dumps([r.as_dict() for r in results]))
    else:
        for result in results:
            emit(
                {k: v if not isinstance(v, list) else ", ".join(v[:5]) or "-" for k, v in result.as_dict().items()},
                False,
                f"Verify: {result.aggregate}",
            )
    if any(r.mismatches for r in results) and not repair:
        raise typer.Exit(1)
