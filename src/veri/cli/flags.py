"""`veri flags`: read and change the feature flags at runtime, and their audit."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer
from rich.table import Table

from veri.cli._shared import JsonOption, console, open_database_for, show
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="Feature flags: runtime rules (on, off, a percentage, lists, a kill switch) and their audit.")


@app.command("get")
def flags_get(as_json: JsonOption = False) -> None:
    """Every flag: its state, where it comes from, its runtime rule."""
    from veri.admin.flags import flags_out

    with open_database_for(get_settings()) as database, database.sessions() as db:
        found = flags_out(db)
    if as_json:
        print(json.dumps(found, default=str))
        return
    table = Table("flag", "on", "source", "rule")
    for f in found:
        rule = f["rule"]
        described = "-"
        if rule:
            described = rule["mode"] + (f" {rule['percent']:g}%" if rule["mode"] == "percent" else "")
            described += " killed" if rule["kill"] else ""
        table.add_row(f["name"], "yes" if f["enabled"] else "no", f["source"], described)
    show(table)


@app.command("set")
def flags_set(
    name: Annotated[str, typer.Argument(help="USE_MONGO, READ_FROM_MONGO, HYBRID_SEARCH or MEMORY_DECAY.")],
    mode: Annotated[str, typer.Option(help="on, off, percent, or default (back to the environment).")],
    reason: Annotated[str, typer.Option(help="Why: kept in the audit.")],
    as_: Annotated[str, typer.Option("--as", help="The admin making the change (email).")],
    percent: Annotated[float, typer.Option(min=0, max=100, help="With --mode percent.")] = 0.0,
    allow: Annotated[list[str] | None, typer.Option(help="A creator id always in (repeat).")] = None,
    deny: Annotated[list[str] | None, typer.Option(help="A creator id always out (repeat).")] = None,
    kill: Annotated[bool, typer.Option(help="Off for everyone, whatever else says.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Set a flag's runtime rule; every process follows within a second. A change that breaks a
    prerequisite is refused with the reason."""
    from pydantic import ValidationError

    from veri.admin.flags import FlagRuleIn, flags_out, set_flag
    from veri.errors import VeriError
    from veri.identity import service as identity_service

    try:
        data = FlagRuleIn(
            mode=mode,
            percent=percent,
            allow=[uuid.UUID(x) for x in allow or []],
            deny=[uuid.UUID(x) for x in deny or []],
            kill=kill,
            reason=reason,
        )
    except (ValidationError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    with open_database_for(get_settings()) as database, database.transaction() as db:
        user = identity_service.user_by_email(db, email=as_)
        if user is None:
            console.print(f"[red]no account {as_}[/red]")
            raise typer.Exit(2)
        principal = identity_service.principal_for(db, user, via="session")
        try:
            set_flag(db, principal=principal, name=name, data=data)
        except VeriError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(2) from None
        now = next(f for f in flags_out(db) if f["name"] == name)
    if as_json:
        print(json.dumps(now, default=str))
        return
    console.print(f"{name}: {'on' if now['enabled'] else 'off'} ({now['source']})")


@app.command("history")
def flags_history(
    name: Annotated[str, typer.Argument(help="The flag.")],
    as_: Annotated[str, typer.Option("--as", help="An admin (email).")],
    as_json: JsonOption = False,
) -> None:
    """Who changed the flag, when, from what to what, and why (newest first)."""
    from veri.admin.flags import flag_history
    from veri.errors import VeriError
    from veri.identity import service as identity_service

    with open_database_for(get_settings()) as database, database.sessions() as db:
        user = identity_service.user_by_email(db, email=as_)
        if user is None:
            console.print(f"[red]no account {as_}[/red]")
            raise typer.Exit(2)
        principal = identity_service.principal_for(db, user, via="session")
        try:
            changes = flag_history(db, principal=principal, name=name)
        except VeriError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(2) from None
        rows: list[dict[str, Any]] = [
            {"at": c.changed_at.isoformat(), "actor": c.actor, "old": c.old, "new": c.new, "reason": c.reason}
            for c in changes
        ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("when", "who", "from", "to", "why")
    for r in rows:
        old, new = r["old"] or {}, r["new"]
        table.add_row(
            str(r["at"])[:19], str(r["actor"]), old.get("mode", "default"), new.get("mode", ""), str(r["reason"])
        )
    show(table)
