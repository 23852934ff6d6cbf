"""`veri analytics`: platform-wide analytics for operators (creator retention by sign-up cohort)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from veri.cli._shared import JsonOption, open_database_for, show
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="Platform-wide analytics from the event log.", no_args_is_help=True)


def _end(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value if len(value) > 7 else f"{value}-01")
    except ValueError:
        raise typer.BadParameter("use a month or a day, e.g. 2026-07 or 2026-07-31", param_hint="--end") from None


@app.command("retention")
def analytics_retention(
    months: Annotated[int, typer.Option(min=1, max=60, help="Sign-up months to show, up to --end.")] = 12,
    end: Annotated[
        str | None, typer.Option(help="The last month (YYYY-MM); default: the latest month with creator events.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Monthly active creators by sign-up cohort: each cohort's size and the share of it that did
    something themselves in each month since, against the retention target."""
    from veri.analytics import service

    last = _end(end)
    with open_database_for(get_settings()) as database, database.sessions() as db:
        result = service.retention(db, principal=None, months=months, end=last)
    if as_json:
        typer.echo(result.model_dump_json())
        return
    width = len(result.average)
    title = f"Creator retention (target {result.target:.0%})"
    table = Table("signed up", "creators", *(f"M{k}" for k in range(width)), title=title)
    table.caption = f"sign-ups {result.start:%b %Y} to {result.end:%b %Y}, months since sign-up in UTC"
    for column in table.columns[1:]:
        column.justify = "right"

    def cell(share: float) -> Text:
        return Text(f"{share:.0%}", style="red" if share < result.target else "green")

    for cohort in result.cohorts:
        shares = [cell(s) for s in cohort.retention]
        table.add_row(f"{cohort.month:%b %Y}", str(cohort.size), *shares, *([""] * (width - len(shares))))
    table.add_section()
    table.add_row("all (weighted)", str(result.creators), *(cell(s) for s in result.average))
    if result.through is not None:
        table.caption += f"; activity through {result.through}" + (
            f" ({result.end:%B} is incomplete)" if result.partial else ""
        )
    show(table)
