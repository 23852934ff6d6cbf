"""`veri connectors`: the social platform connections: sync due accounts now, show their state,
rotate the token encryption keys, make a new key, and serve the local demo platform."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from veri.cli._shared import JsonOption, console, emit, open_database_for, show
from veri.config import get_settings

if TYPE_CHECKING:
    from veri.config import Settings
    from veri.demo_platform import DemoConfig

__all__ = ["app", "demo_platform_config"]

app = typer.Typer(help="Social platform connections (OAuth) and their sync.", no_args_is_help=True)


def demo_platform_config(settings: Settings, **overrides: object) -> DemoConfig:
    """The demo platform as Veri's settings know it: the same client ids and secrets, the same
    webhook secrets, its webhooks sent to this Veri."""
    from veri.demo_platform import DemoClient, DemoConfig

    connectors = settings.connectors
    base = connectors.connector_public_url or settings.base_url
    values: dict[str, object] = {
        "clients": {
            p: DemoClient(connectors.client_id(p), connectors.client_secret(p)) for p in connectors.configured()
        },
        "webhook_secrets": {p: connectors.webhook_secret(p) for p in connectors.configured()},
        "webhook_url": f"{base.rstrip('/')}/api/v1/connectors/{{platform}}/webhook",
    }
    return DemoConfig(**(values | overrides))  # type: ignore[arg-type]


@app.command("sync")
def sync(
    limit: Annotated[int, typer.Option(help="Accounts at most.")] = 1000,
    every: Annotated[bool, typer.Option("--all", help="Every connected account, due or not.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Sync the due accounts now (the worker does this every few seconds), or every one."""
    from sqlalchemy import update

    from veri import wiring
    from veri.connectors.sync import SyncRunner
    from veri.models.base import utcnow
    from veri.models.connectors import SyncState

    settings = get_settings()
    with open_database_for(settings, upgrade=True) as database:
        if every:
            with database.transaction() as db:
                db.execute(update(SyncState).where(SyncState.next_sync_at.is_not(None)).values(requested_at=utcnow()))
        report = SyncRunner(database, wiring.connectors(settings)).run_once(limit=limit)
    emit(
        {k: v for k, v in vars(report).items() if k != "errors"} | {"first_errors": "; ".join(report.errors[:3])},
        as_json,
        "Sync round",
    )


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Connected accounts, due, failing, and what sync brought in, per platform."""
    import json

    from veri import wiring
    from veri.connectors import service

    settings = get_settings()
    with open_database_for(settings) as database, database.sessions() as db:
        rows = service.overview(db, runtime=wiring.connectors(settings)).platforms
    if as_json:
        typer.echo(json.dumps([row.model_dump(mode="json") for row in rows]))
        return
    table = Table("platform", "connected", "reconnect", "due", "failing", "posts", "snapshots", "last sync")
    for row in rows:
        table.add_row(
            row.platform,
            str(row.connected),
            str(row.revoked),
            str(row.due),
            str(row.failing),
            str(row.posts),
            str(row.snapshots),
            str(row.last_success_at or "-"),
        )
    show(table)


@app.command("rotate-keys")
def rotate_keys(as_json: JsonOption = False) -> None:
    """Re-encrypt every stored token under the newest key (the first of VERI_CONNECTOR_TOKEN_KEYS).
    Put the new key in front, run this, then drop the old key."""
    from veri import wiring
    from veri.connectors.service import rotate_keys as rotate

    settings = get_settings()
    cipher = wiring.connectors(settings).cipher
    with open_database_for(settings, upgrade=True) as database, database.transaction() as db:
        changed = rotate(db, cipher=cipher)
    emit({"re_encrypted": changed}, as_json, "Token keys rotated")


@app.command("new-key")
def new_key() -> None:
    """Print a fresh Fernet key for VERI_CONNECTOR_TOKEN_KEYS."""
    from veri.connectors.crypto import new_key as make

    typer.echo(make())


@app.command("demo-platform")
def demo_platform(
    port: Annotated[int | None, typer.Option(help="Port (default VERI_DEMO_PLATFORM_PORT, 8001).")] = None,
    publish_every: Annotated[
        float, typer.Option(help="A new post on some connected account every N s (0: never).")
    ] = 0.0,
) -> None:
    """Serve the demo platform alone (`veri run` starts it beside Veri)."""
    import time

    from veri.demo_platform import DemoPlatformServer

    settings = get_settings()
    connectors = settings.connectors
    server = DemoPlatformServer(
        demo_platform_config(settings, publish_every_seconds=publish_every),
        host=connectors.demo_platform_host,
        port=port or connectors.demo_platform_port,
    ).start()
    console.print(f"Demo platform (YouTube, Instagram, TikTok, Twitch) at {server.url}; Ctrl-C stops it.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
