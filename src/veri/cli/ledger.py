"""`veri ledger`: check every invariant of the money, and rebuild the ledger from the log."""

from __future__ import annotations

import json

import typer
from rich.progress import Progress
from rich.table import Table

from veri.cli._shared import JsonOption, console, emit, open_database_for, show
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="The double-entry ledger: deals' escrow, creators' earnings, payouts.", no_args_is_help=True)


@app.command("check")
def ledger_check(as_json: JsonOption = False) -> None:
    """Verify every invariant against the entries (each transaction sums to zero per currency,
    the ledger sums to zero, no forbidden negative balance, settled escrows empty, payouts agree
    with the money). Exits 1 listing the failures when one does not hold."""
    from veri.ledger.checks import check_ledger

    settings = get_settings()
    with open_database_for(settings) as database, database.sessions() as db:
        checks = check_ledger(db)
    failed = [c for c in checks if not c.ok]
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [{"name": c.name, "failures": c.failures} for c in checks]}))
    else:
        table = Table(title="Ledger invariants")
        table.add_column("check")
        table.add_column("result")
        for c in checks:
            table.add_row(c.name, "OK" if c.ok else "[red]" + "\n".join(c.failures) + "[/red]")
        show(table)
    if failed:
        console.print(f"[red]{len(failed)} invariant(s) broken[/red]")
        raise typer.Exit(1)


@app.command("rebuild")
def ledger_rebuild(as_json: JsonOption = False) -> None:
    """Delete every account, transaction and entry and apply the whole log again (payouts and
    their accounts are records and stay): identical balances come back."""
    from veri.ledger.service import rebuild

    settings = get_settings()
    with open_database_for(settings) as database, Progress(console=console) as bar:
        task = bar.add_task("Applying events", total=None)
        applied = rebuild(
            database,
            settings=settings.ledger,
            partitions=settings.events.event_partitions,
            progress=lambda n: bar.advance(task, n),
        )
    emit({"group": "ledger", "events_applied": applied}, as_json, "Ledger rebuilt")
