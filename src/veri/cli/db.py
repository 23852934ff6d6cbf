"""`veri db`: the schema migrations."""

from __future__ import annotations

import typer

from veri.cli._shared import JsonOption, emit, open_database_for
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


def _migrate(direction: str, revision: str, as_json: bool) -> None:
    from veri.db import migrate

    with open_database_for(get_settings()) as database:
        (migrate.upgrade if direction == "up" else migrate.downgrade)(database.engine, revision)
        emit(
            {"current": migrate.current_revision(database.engine), "head": migrate.head_revision()},
            as_json,
            "Schema",
        )


@app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head"), as_json: JsonOption = False) -> None:
    """Apply migrations up to REVISION (default: head)."""
    _migrate("up", revision, as_json)


@app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("-1"), as_json: JsonOption = False) -> None:
    """Revert migrations down to REVISION (default: one step; 'base' for all)."""
    _migrate("down", revision, as_json)


@app.command("status")
def db_status(as_json: JsonOption = False) -> None:
    """Show the current and the latest schema revision."""
    from veri.db import migrate

    with open_database_for(get_settings()) as database:
        current = migrate.current_revision(database.engine)
        head = migrate.head_revision()
        capabilities = database.detect_capabilities()
        emit(
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
