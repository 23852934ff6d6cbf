"""`veri agent`: ask the agent from the command line, as a person of the database."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from veri.cli._shared import JsonOption, console, open_database_for
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="The agent: answers from memory.", no_args_is_help=True)


@app.command("ask")
def agent_ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    as_email: Annotated[
        str, typer.Option("--as", help="Ask as this person (their visibility); default: the demo admin.")
    ] = "admin@veri.example",
    as_json: JsonOption = False,
) -> None:
    """Ask a question; the answer streams to the terminal (with --json, printed whole at the end),
    with the tools it used and the memories it cites. It is kept in a conversation named "CLI"."""
    from pydantic import ValidationError

    from veri import wiring
    from veri.agent import service
    from veri.agent.schemas import AskIn
    from veri.errors import VeriError
    from veri.identity import service as identity_service

    try:
        asked = AskIn(question=question)
    except ValidationError as exc:
        raise typer.BadParameter(exc.errors()[0]["msg"], param_hint="QUESTION") from None
    settings = get_settings()
    with open_database_for(settings) as database:
        with database.transaction() as db:
            user = identity_service.user_by_email(db, email=as_email)
            if user is None:
                console.print(f"[red]No account {as_email!r}.[/red]")
                raise typer.Exit(2)
            principal = identity_service.principal_for(db, user, via="session")
            try:
                conversations, _ = service.list_conversations(db, principal=principal, limit=50)
                conversation = next(
                    (c for c in conversations if c.title == "CLI" and c.user_id == user.id), None
                ) or service.create_conversation(db, principal=principal, title="CLI")
                prepared = service.begin_turn(
                    db,
                    principal=principal,
                    conversation_id=conversation.id,
                    question=asked.question,
                    limiter=None,
                    settings=settings.agent,
                )
            except VeriError as exc:
                console.print(f"[red]{exc.message}[/red]")
                raise typer.Exit(2) from None
        agent = wiring.agent(settings, database, wiring.embedder(settings))

        def show(event: service.RunEvent) -> None:
            if as_json:
                return
            if event["event"] == "token":
                typer.echo(event["text"], nl=False)
            elif event["event"] == "step":
                console.print(f"[dim]· {event['name']} ({event['found']} found, {event['ms']:.0f} ms)[/dim]")
            elif event["event"] == "fallback":
                console.print(f"[yellow]answered offline: {event['reason']}[/yellow]")

        run = service.collect(service.run_turn(agent, principal, prepared), show)
    done = run.done
    if as_json:
        typer.echo(json.dumps({"question": asked.question, "answer": run.text, "steps": run.steps, **done}))
        return
    typer.echo("")
    for number, cited in enumerate(done.get("citations", []), start=1):
        console.print(f"[dim][{number}] {cited['memory_id']}  {cited['text'][:100]}[/dim]")
    if done.get("event") == "error":
        raise typer.Exit(1)
