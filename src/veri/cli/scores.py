"""`veri scores`: rebuild the creator's loop (points, streaks, badges, VeriScores, boards) from
the log, and show a creator's progress."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress

from veri.cli._shared import JsonOption, console, emit, open_database_for
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="Points, streaks, badges, VeriScores and leaderboards.", no_args_is_help=True)


@app.command("rebuild")
def scores_rebuild(as_json: JsonOption = False) -> None:
    """Delete what the `scoring` group derived and apply the whole event log again: the same
    points, streaks, scores and boards come back; Redis boards are refilled from Postgres."""
    from veri import wiring
    from veri.scoring.boards import Leaderboards
    from veri.scoring.service import rebuild

    settings = get_settings()
    with open_database_for(settings) as database, Progress(console=console) as bar:
        task = bar.add_task("Applying events", total=None)
        boards = Leaderboards(wiring.redis_client(settings))
        applied = rebuild(
            database, boards, partitions=settings.events.event_partitions, progress=lambda n: bar.advance(task, n)
        )
    emit({"group": "scoring", "events_applied": applied}, as_json, "Scores rebuilt")


@app.command("show")
def scores_show(
    email: Annotated[str, typer.Argument(help="The creator's email.")], as_json: JsonOption = False
) -> None:
    """A creator's points, level, streak, badges, VeriScore with its breakdown, and ranks."""
    from veri import wiring
    from veri.identity import service as identity_service
    from veri.scoring.boards import Leaderboards
    from veri.scoring.service import creator_progress

    settings = get_settings()
    with open_database_for(settings) as database, database.sessions() as db:
        user = identity_service.user_by_email(db, email=email)
        if user is None:
            console.print(f"[red]no account {email}[/red]")
            raise typer.Exit(2)
        principal = identity_service.principal_for(db, user, via="session")
        try:
            progress = creator_progress(db, principal=principal, boards=Leaderboards(wiring.redis_client(settings)))
        except Exception as exc:  # Forbidden: not a creator
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
    if as_json:
        print(json.dumps(progress, default=str))
        return
    rank = progress["ranks"].get("points:all")
    emit(
        {
            "points": progress["points"],
            "level": progress["level"]["level"],
            "streak (days)": progress["streak"]["days"],
            "badges": ", ".join(b["title"] for b in progress["badges"]) or "-",
            "VeriScore": progress["veriscore"],
            "rank (points, all time)": f"#{rank['rank']} of {rank['of']}" if rank else "-",
        },
        False,
        f"Progress of {email}",
    )
