"""`veri check`: whole-system checks an operator runs after an incident (or a chaos run)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from veri.cli._shared import JsonOption, console, open_database_for, show
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="Whole-system checks: the event log against what was derived from it.", no_args_is_help=True)


@app.command("consistency")
def check_consistency_command(
    group: Annotated[
        list[str] | None,
        typer.Option(help="Only this consumer group (repeat for several): analytics, scoring, ledger, memory."),
    ] = None,
    replay: Annotated[
        bool, typer.Option(help="Compare the derived tables with a replay (--no-replay: only the processed marks).")
    ] = True,
    strict: Annotated[
        bool,
        typer.Option(help="Fail on order-sensitive tables too (their state depends on how partitions interleave)."),
    ] = False,
    examples: Annotated[int, typer.Option(min=0, max=1000, help="Differences shown per table.")] = 5,
    as_json: JsonOption = False,
) -> None:
    """Every accepted event applied exactly once by each consumer group, and every derived table
    equal to a fresh replay of the log (in a transaction rolled back: nothing changes). A table
    that two replays in two orders rebuild differently is reported as order-sensitive and fails
    only with --strict. Exits 1 listing the differences."""
    from veri import wiring
    from veri.admin.consistency import check_consistency
    from veri.events.lanes import family_of

    settings = get_settings()
    handlers = wiring.replay_handlers(settings)
    if group:
        known = {family_of(h) for h in handlers}
        if not set(group) <= known:
            unknown = ", ".join(sorted(set(group) - known))
            raise typer.BadParameter(f"unknown group {unknown}; use {', '.join(sorted(known))}", param_hint="--group")
        handlers = [h for h in handlers if family_of(h) in group]
    with open_database_for(settings) as database:
        report = check_consistency(database, handlers, replay=replay, examples=examples)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), default=str))
    else:
        coverage = Table(
            "group", "events", "applied", "unapplied", "applied twice", "dead letters", "lag", title="Events"
        )
        for c in report.coverage:
            coverage.add_row(
                c.family, *(str(v) for v in (c.events, c.applied, c.unapplied, c.applied_twice, c.dead_lettered, c.lag))
            )
        show(coverage)
        tables = Table(
            "table",
            "rows",
            "replay",
            "missing",
            "extra",
            "changed",
            "order-sensitive",
            title="Derived tables vs a replay",
        )
        for t in report.tables:
            counts = (t.current_rows, t.replay_rows, t.missing, t.extra, t.changed)
            tables.add_row(t.table, *(str(v) for v in counts), "yes" if t.order_sensitive else "")
        show(tables)
        for t in report.tables:
            for example in t.examples:
                console.print(f"[red]{t.table}[/red] {json.dumps(example, default=str)}")
    if not (report.strictly_ok if strict else report.ok):
        console.print("[red]inconsistent: see above[/red]")
        raise typer.Exit(1)
    if report.order_sensitive:
        console.print(
            "[yellow]order-sensitive (differ between two replays of the same log, not counted as lost or doubled): "
            + ", ".join(report.order_sensitive)
            + "[/yellow]"
        )
    console.print(f"[green]consistent[/green]: {report.events} events, checked in {report.seconds:.1f} s")
