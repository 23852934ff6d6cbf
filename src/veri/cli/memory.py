"""`veri memory`: the Signal Engine's memory, searched, inspected, decayed and reflected on."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from veri.cli._shared import JsonOption, console, emit, open_database_for, show
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="The Signal Engine's memory: search, inspect, decay, reflect.", no_args_is_help=True)


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("use an ISO date or time, e.g. 2026-05-01", param_hint=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("search")
def memory_search(
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    creator: Annotated[str | None, typer.Option(help="Only memories about this creator (id).")] = None,
    type_: Annotated[list[str] | None, typer.Option("--type", help="Memory type; repeat for several.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="What was known and true then (ISO time).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    hybrid: Annotated[bool | None, typer.Option(help="Fuse vector search (default: the HYBRID_SEARCH flag).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Search memories as the engine does, with each hit's sources and score breakdown."""
    import uuid

    from veri import wiring
    from veri.memory.retrieval import SearchQuery
    from veri.memory.service import search_memories
    from veri.models.memory import MemoryType

    try:
        types = [MemoryType(t) for t in type_ or []]
        creator_id = uuid.UUID(creator) if creator else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    search = SearchQuery(
        query, creator_id=creator_id, types=types or None, as_of=_moment(as_of, "--as-of"), limit=limit
    )
    settings = get_settings()
    with open_database_for(settings) as database, database.transaction() as db:
        hits = search_memories(
            db,
            search,
            principal=None,
            embedder=wiring.embedder(settings),
            hybrid=hybrid,
        )
        rows: list[dict[str, Any]] = [
            {
                "id": str(h.memory.id),
                "type": h.memory.type.value,
                "text": h.memory.text,
                "valid_from": h.memory.valid_from.isoformat(),
                "sources": [str(s) for s in h.memory.source_event_ids],
                "score": h.breakdown,
            }
            for h in hits
        ]
    if as_json:
        typer.echo(json.dumps({"query": query, "hits": rows}))
        return
    table = Table("score", "type", "when", "memory", "sources", title=f"Memories for {query!r}")
    for row in rows:
        table.add_row(
            f"{row['score']['score']:.4f}",
            row["type"],
            row["valid_from"][:10],
            row["text"][:120],
            str(len(row["sources"])),
        )
    show(table)


@app.command("show")
def memory_show(
    memory_id: Annotated[str, typer.Argument(help="The memory's id.")], as_json: JsonOption = False
) -> None:
    """A memory with its sources (the events it came from) and its validity history."""
    import uuid

    from veri.errors import NotFound
    from veri.memory.service import get_memory

    try:
        wanted = uuid.UUID(memory_id)
    except ValueError:
        raise typer.BadParameter("not a memory id", param_hint="MEMORY_ID") from None
    try:
        with open_database_for(get_settings()) as database, database.sessions() as db:
            detail = get_memory(db, wanted, principal=None)
            m = detail.memory
            data = {
                "id": str(m.id),
                "type": m.type.value,
                "kind": m.kind,
                "status": m.status.value,
                "text": m.text,
                "attributes": m.attributes,
                "importance": m.importance,
                "strength": m.strength,
                "valid_from": m.valid_from.isoformat(),
                "valid_to": m.valid_to.isoformat() if m.valid_to else None,
                "recorded_at": m.recorded_at.isoformat(),
                "superseded_at": m.superseded_at.isoformat() if m.superseded_at else None,
                "sources": [f"{e.event_id} {e.type} {e.occurred_at:%Y-%m-%d %H:%M}" for e in detail.sources],
                "history": [
                    f"{h.valid_from:%Y-%m-%d} .. {h.valid_to:%Y-%m-%d}: {h.text}"
                    if h.valid_to
                    else f"{h.valid_from:%Y-%m-%d} ..: {h.text}"
                    for h in detail.history
                ],
            }
    except NotFound:
        console.print(f"[red]no memory {memory_id}[/red]")
        raise typer.Exit(1) from None
    emit(data, as_json, "Memory")


@app.command("decay")
def memory_decay(as_json: JsonOption = False) -> None:
    """Recompute every memory's strength now and archive the weak (runs even with MEMORY_DECAY
    off; the flag decides whether ranking uses strength and whether the worker schedules it)."""
    from veri.memory.service import run_decay

    with open_database_for(get_settings()) as database:
        result = run_decay(database)
    emit(asdict(result), as_json, "Decay")


@app.command("reflect")
def memory_reflect(
    creator: Annotated[str | None, typer.Option(help="Only this creator (id); default every creator.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write higher-level insights from what memory holds now."""
    import uuid

    from veri import wiring
    from veri.memory.service import reflect_creators

    settings = get_settings()
    try:
        creator_id = uuid.UUID(creator) if creator else None
    except ValueError:
        raise typer.BadParameter("not a creator id", param_hint="--creator") from None
    with open_database_for(settings) as database:
        written = reflect_creators(database, wiring.embedder(settings), creator_id)
    emit({"insights_written": written}, as_json, "Reflection")


@app.command("build-onnx")
def memory_build_onnx(as_json: JsonOption = False) -> None:
    """Build the embedding model for ONNX Runtime (int8) from the shipped weights, once; `make
    install` runs it. Formation then embeds several times faster."""
    import time

    from veri.memory import onnx

    started = time.perf_counter()
    already = onnx.is_built()
    with console.status("Exporting all-MiniLM-L6-v2 to ONNX and quantising it (about 30 s)", spinner="dots"):
        directory = onnx.build()
    emit(
        {"directory": str(directory), "built_now": not already, "seconds": round(time.perf_counter() - started, 1)},
        as_json,
        "ONNX embedder",
    )
