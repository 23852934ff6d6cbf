"""`veri events`: the event log's docs, consumer lag, dead letters, replay and republish."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from veri.cli._shared import JsonOption, console, emit, open_database_for, show
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="The event log: docs, dead letters, replay, republish, lag.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: events a consumer group could not process.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")


def _parse_from(value: str) -> tuple[int | None, datetime | None]:
    """`--from` takes an outbox position (a number), a time (ISO 8601) or `beginning`."""
    if value == "beginning":
        return 0, None
    if value.isdigit():
        return int(value), None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("use an outbox position, an ISO time, or 'beginning'", param_hint="--from") from None
    return None, moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("docs")
def events_docs(check: Annotated[bool, typer.Option(help="Fail if docs/events.md is out of date.")] = False) -> None:
    """Write docs/events.md from the event registry."""
    from veri.events.docs import DOCS_PATH, render_event_docs

    text = render_event_docs()
    if check:
        if not DOCS_PATH.exists() or DOCS_PATH.read_text() != text:
            console.print("[red]docs/events.md is out of date: run `veri events docs`[/red]")
            raise typer.Exit(1)
        return
    DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCS_PATH.write_text(text)
    console.print(f"wrote {DOCS_PATH}")


@dlq_app.command("list")
def dlq_list(
    group: Annotated[str | None, typer.Option(help="Only this consumer group.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include replayed letters.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List dead letters, newest first."""
    from veri.events.service import dead_letters

    with open_database_for(get_settings()) as database, database.sessions() as db:
        rows = [
            {
                "id": d.id,
                "group": d.group_name,
                "event_id": str(d.event_id),
                "type": d.event_type,
                "attempts": d.attempts,
                "failed_at": d.failed_at.isoformat(),
                "replayed_at": d.replayed_at.isoformat() if d.replayed_at else None,
                "error": d.error.strip().splitlines()[-1][:120] if d.error.strip() else "",
            }
            for d in dead_letters(db, group=group, include_replayed=all_)
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "group", "type", "event", "failed at", "error", title=f"Dead letters ({len(rows)})")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("id", "group", "type", "event_id", "failed_at", "error")))
    show(table)


@dlq_app.command("show")
def dlq_show(letter_id: int, as_json: JsonOption = False) -> None:
    """Show one dead letter with its event and the full error."""
    from veri.events.outbox import stored_event
    from veri.models.events import DeadLetter

    with open_database_for(get_settings()) as database, database.sessions() as db:
        letter = db.get(DeadLetter, letter_id)
        if letter is None:
            console.print(f"[red]no dead letter {letter_id}[/red]")
            raise typer.Exit(1)
        record = stored_event(db, letter.event_id)
        data = {
            "id": letter.id,
            "group": letter.group_name,
            "event_id": str(letter.event_id),
            "type": letter.event_type,
            "attempts": letter.attempts,
            "failed_at": letter.failed_at.isoformat(),
            "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None,
            "event": {"subject": record.subject, "version": record.version, "payload": record.payload_dict}
            if record
            else None,
            "error": letter.error,
        }
    if as_json:
        typer.echo(json.dumps(data))
        return
    Console().print_json(json.dumps(data))


@dlq_app.command("replay")
def dlq_replay(
    letter_id: Annotated[int | None, typer.Argument(help="The dead letter's id.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every open dead letter.")] = False,
    group: Annotated[str | None, typer.Option(help="With --all: only this group.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Apply dead-lettered events again, once each, with the current handlers."""
    from veri import wiring
    from veri.events.service import dead_letters, replay_dead_letter

    if (letter_id is None) == (not all_):
        raise typer.BadParameter("give a dead letter id or --all")
    settings = get_settings()
    results: dict[str, str] = {}
    with open_database_for(settings) as database:
        handlers = wiring.handlers_by_group(settings)
        if all_:
            with database.sessions() as db:
                ids = [d.id for d in dead_letters(db, group=group, limit=100_000)]
        else:
            assert letter_id is not None
            ids = [letter_id]
        for one in track(ids, description="Replaying", console=console, disable=len(ids) < 2):
            try:
                results[str(one)] = "replayed" if replay_dead_letter(database, handlers, one) else "already replayed"
            except LookupError as exc:
                results[str(one)] = f"not found: {exc}"
            except Exception as exc:  # report and go on with the next letter
                results[str(one)] = f"still failing: {exc}"
    emit(results, as_json, "Dead letter replay")
    if any(v.startswith(("still failing", "not found")) for v in results.values()):
        raise typer.Exit(1)


@app.command("replay")
def events_replay(
    group: Annotated[str, typer.Option(help="The consumer group to rebuild.")],
    from_: Annotated[str, typer.Option("--from", help="Outbox position, ISO time, or 'beginning'.")],
    reset: Annotated[bool, typer.Option(help="With --from beginning: delete the group's derived state first.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Make a consumer group apply the log again from a point; running workers pick it up."""
    from veri import wiring
    from veri.events.outbox import cursor_at
    from veri.events.relay import get_cursor, set_cursor
    from veri.events.service import replay_groups

    settings = get_settings()
    # A lane is rebuilt with its sibling: they share one derived state.
    rebuilt = wiring.family(group, settings)
    if not rebuilt:
        raise typer.BadParameter(f"unknown group {group!r}", param_hint="--group")
    position, moment = _parse_from(from_)
    if reset and from_ != "beginning":
        raise typer.BadParameter("--reset only goes with --from beginning")
    with open_database_for(settings) as database:
        with database.sessions() as db:
            cursor = (0, 0) if from_ == "beginning" else cursor_at(db, position=position, recorded_since=moment)
        unmarked = replay_groups(database, rebuilt, cursor, reset=reset)
        if settings.events.event_bus == "kafka" and get_cursor(database) > cursor:
            set_cursor(database, cursor)  # the relay sends the events again; other groups skip them
    groups = [h.group for h in rebuilt]
    emit(
        {"group": group, "groups": groups, "from": list(cursor), "unmarked": unmarked, "reset": reset},
        as_json,
        "Replay",
    )


@app.command("republish")
def events_republish(
    from_: Annotated[str, typer.Option("--from", help="Outbox position, ISO time, or 'beginning'.")],
    as_json: JsonOption = False,
) -> None:
    """Send the outbox to the broker again from a point (after a broker lost data)."""
    from veri.events.outbox import cursor_at
    from veri.events.relay import get_cursor, set_cursor

    position, moment = _parse_from(from_)
    with open_database_for(get_settings()) as database:
        with database.sessions() as db:
            cursor = (0, 0) if from_ == "beginning" else cursor_at(db, position=position, recorded_since=moment)
        before = get_cursor(database)
        set_cursor(database, cursor)
    emit({"from": list(cursor), "was": list(before)}, as_json, "Republish")


@app.command("lag")
def events_lag(as_json: JsonOption = False) -> None:
    """Consumer lag per group and partition, as the workers last measured it."""
    from veri.events.service import pipeline_status

    with open_database_for(get_settings()) as database, database.sessions() as db:
        rows = [
            {
                "group": r.group,
                "partition": r.partition,
                "lag": r.lag,
                "owner": r.owner,
                "measured_at": r.measured_at.isoformat(),
            }
            for r in pipeline_status(db).lag
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("group", "partition", "lag", "owner", "measured at", title="Consumer lag")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("group", "partition", "lag", "owner", "measured_at")))
    show(table)
