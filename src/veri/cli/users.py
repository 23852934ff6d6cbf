"""`veri users`: accounts that only an operator creates."""

from __future__ import annotations

from typing import Annotated

import typer

from veri.cli._shared import JsonOption, console, emit, open_database_for
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="User accounts.", no_args_is_help=True)


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "Admin",
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, envvar="VERI_ADMIN_PASSWORD"),
    ] = "",  # none: typer prompts for it  # nosec B107
    as_json: JsonOption = False,
) -> None:
    """Create an admin account (the only way to get one)."""
    from pydantic import EmailStr, TypeAdapter, ValidationError

    from veri.accounts.schemas import Password
    from veri.errors import VeriError
    from veri.identity import service
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
    try:
        with open_database_for(get_settings(), upgrade=True) as database, database.transaction() as db:
            user = service.create_user(db, email=email, password=password, display_name=name, role=Role.ADMIN)
            data = {"id": str(user.id), "email": user.email, "role": user.role.value}
    except VeriError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    emit(data, as_json, "Admin created")
