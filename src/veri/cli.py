"""The `veri` command line (Typer + Rich)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from veri.config import Settings, get_settings

if TYPE_CHECKING:
    from veri.db.engine import Database

__all__ = ["app"]

app = typer.Typer(help="Veri: memory-driven creator monetization.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo dataset.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")

console = Console(stderr=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def _emit(data: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, default=str))
        return
    table = Table(title=title, show_header=False)
    for key, value in data.items():
        table.add_row(key, str(value))
    Console().print(table)


def _database(settings: Settings) -> Database:
    from veri.db.engine import open_database
    from veri.observability import configure_logging

    configure_logging(settings.log_level, json=settings.log_json)
    return open_database(settings)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head"), as_json: JsonOption = False) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from veri.db import migrate

    database = _database(get_settings())
    try:
        migrate.upgrade(database.engine, revision)
        _emit(
            {"current": migrate.current_revision(database.engine), "head": migrate.head_revision()},
            as_json,
            "Schema",
        )
    finally:
        database.dispose()


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("-1"), as_json: JsonOption = False) -> None:
    """Revert migrations down to REVISION (default: one step; 'base' for all)."""
    from veri.db import migrate

    database = _database(get_settings())
    try:
        migrate.downgrade(database.engine, revision)
        _emit(
            {"current": migrate.current_revision(database.engine), "head": migrate.head_revision()},
            as_json,
            "Schema",
        )
    finally:
        database.dispose()


@db_app.command("status")
def db_status(as_json: JsonOption = False) -> None:
    """Show the current and the latest schema revision."""
    from veri.db import migrate

    database = _database(get_settings())
    try:
        current = migrate.current_revision(database.engine)
        head = migrate.head_revision()
        capabilities = database.detect_capabilities()
        _emit(
            {
                "database": "embedded"
                if database.embedded
                else database.engine.url.render_as_string(hide_password=True),
                "current": current,
                "head": head,
                "up_to_date": current == head,
                **capabilities,
            },
            as_json,
            "Schema",
        )
    finally:
        database.dispose()


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "Admin",
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="VERI_ADMIN_PASSWORD"),
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an admin account (the only way to get one)."""
    from pydantic import EmailStr, TypeAdapter, ValidationError

    from veri.accounts import service
    from veri.accounts.schemas import Password
    from veri.db import migrate
    from veri.errors import VeriError
    from veri.models.accounts import Role

    for field, adapter, value in (
        ("email", TypeAdapter(EmailStr), email),
        ("password", TypeAdapter(Password), password),
    ):
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            console.print(f"[red]{field}: {exc.errors()[0]['msg']}[/red]")
            raise typer.Exit(2) from None
    database = _database(get_settings())
    try:
        migrate.upgrade(database.engine)
        with database.transaction() as db:
            user = service.create_user(db, email=email, password=password, display_name=name, role=Role.ADMIN)
            data = {"id": str(user.id), "email": user.email, "role": user.role.value}
    except VeriError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    _emit(data, as_json, "Admin created")


@demo_app.command("load")
def demo_load(as_json: JsonOption = False) -> None:
    """Load the demo dataset (brands, creators, campaigns and deals in every state)."""
    from veri.db import migrate
    from veri.demo import DEMO_PASSWORD, load_demo
    from veri.errors import VeriError

    database = _database(get_settings())
    try:
        migrate.upgrade(database.engine)
        with console.status("Loading the demo world...") as status, database.transaction() as db:
            summary = load_demo(db, progress=lambda step: status.update(f"Loading demo {step}..."))
    except VeriError as exc:
        console.print(f"[red]cannot load the demo into this database: {exc.message}[/red]")
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    _emit({**asdict(summary), "password": DEMO_PASSWORD}, as_json, "Demo data")


@app.command("run")
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo data on first start.")] = True,
) -> None:
    """Serve the API and the web pages (migrating the database first)."""
    import uvicorn

    from veri.accounts.repository import AccountRepository
    from veri.app import create_app
    from veri.db import migrate
    from veri.demo import ADMIN_EMAIL, DEMO_PASSWORD, DemoSummary, load_demo

    settings = get_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    database = _database(settings)
    migrate.upgrade(database.engine)
    if demo:
        with console.status("Loading the demo world...") as status, database.transaction() as db:
            # Only into an empty database: a real one is never mixed with demo data.
            if AccountRepository(db).has_users():
                summary = DemoSummary(created=False, users=0, campaigns=0, deals=0, content=0)
            else:
                summary = load_demo(db, progress=lambda step: status.update(f"Loading demo {step}..."))
        if summary.created:
            console.print(
                f"Demo data loaded: {summary.users} users, {summary.campaigns} campaigns, {summary.deals} deals."
            )
    console.print(f"\n[bold green]Veri is running at {settings.base_url}[/bold green]")
    if demo:
        console.print(
            "Log in as maya@creators.example (creator), team@peakform.example (brand) "
            f"or {ADMIN_EMAIL} (admin), "
            f"password [bold]{DEMO_PASSWORD}[/bold]\n"
        )
    uvicorn.run(
        create_app(settings, database=database),
        host=settings.host,
        port=settings.port,
        log_level="warning",
    )
    database.dispose()


if __name__ == "__main__":
    app()
