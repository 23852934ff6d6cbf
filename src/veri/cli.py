"""The `veri` command line (Typer + Rich)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, TextColumn, track
from rich.table import Table

from veri.config import Settings, get_settings

if TYPE_CHECKING:
    from veri.db.engine import Database
    from veri.events.worker import Worker

__all__ = ["app"]

app = typer.Typer(help="Veri: memory-driven creator monetization.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo dataset.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
events_app = typer.Typer(help="The event log: docs, dead letters, replay, republish, lag.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead letters: events a consumer group could not process.", no_args_is_help=True)
events_app.add_typer(dlq_app, name="dlq")
app.add_typer(events_app, name="events")

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


def _migrate(direction: str, revision: str, as_json: bool) -> None:
    from veri.db import migrate

    database = _database(get_settings())
    try:
        (migrate.upgrade if direction == "up" else migrate.downgrade)(database.engine, revision)
        _emit(
            {"current": migrate.current_revision(database.engine), "head": migrate.head_revision()},
            as_json,
            "Schema",
        )
    finally:
        database.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head"), as_json: JsonOption = False) -> None:
    """Apply migrations up to REVISION (default: head)."""
    _migrate("up", revision, as_json)


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument("-1"), as_json: JsonOption = False) -> None:
    """Revert migrations down to REVISION (default: one step; 'base' for all)."""
    _migrate("down", revision, as_json)


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

    from veri.accounts.schemas import Password
    from veri.db import migrate
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


def _event_progress() -> Progress:
    """A progress bar over simulated days that also counts events."""
    return Progress(*Progress.get_default_columns(), TextColumn("{task.fields[events]:,} events"), console=console)


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


def _start_worker(
    settings: Settings,
    database: Database,
    *,
    relay: bool = True,
    consumers: bool = True,
    groups: list[str] | None = None,
) -> Worker:
    from veri import wiring
    from veri.events.worker import Worker

    bus = wiring.bus(settings, database)
    handlers = [h for h in wiring.handlers(settings, wiring.redis_client(settings)) if not groups or h.group in groups]
    worker = Worker(
        database,
        bus,
        handlers,
        settings,
        relay=relay,
        consumers=consumers,
        chores=wiring.chores(settings, database),
    )
    worker.start()
    return worker


@app.command("worker")
def worker_command(
    role: Annotated[
        str, typer.Option(help="all: relay and consumers; relay: only the relay; consumers: only the consumer groups.")
    ] = "all",
    group: Annotated[
        list[str] | None, typer.Option(help="Only this consumer group (repeat for several); default every group.")
    ] = None,
) -> None:
    """Run the stream processor: the relay (Kafka bus) and every consumer group, until stopped.
    Run several to scale out: consumers share the partitions, one relay is active at a time;
    `--group` runs a slow group (memory) on its own workers."""
    if role not in ("all", "relay", "consumers"):
        raise typer.BadParameter("use all, relay or consumers", param_hint="--role")
    from veri.wiring import group_names

    known = set(group_names())
    if group and not set(group) <= known:
        raise typer.BadParameter(f"unknown group; the groups are {', '.join(sorted(known))}", param_hint="--group")
    import signal

    from veri.db import migrate

    settings = get_settings()
    database = _database(settings)
    migrate.upgrade(database.engine)
    worker = _start_worker(settings, database, relay=role != "consumers", consumers=role != "relay", groups=group)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop_event.set())
    console.print(f"Worker {worker.member} running on the {worker.bus.name} bus; Ctrl-C stops it.")
    try:
        worker.wait()
    except KeyboardInterrupt:
        pass
    finally:
        worker.stop()
        database.dispose()


@events_app.command("docs")
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

    database = _database(get_settings())
    try:
        with database.sessions() as db:
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
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("id", "group", "type", "event", "failed at", "error", title=f"Dead letters ({len(rows)})")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("id", "group", "type", "event_id", "failed_at", "error")))
    Console().print(table)


@dlq_app.command("show")
def dlq_show(letter_id: int, as_json: JsonOption = False) -> None:
    """Show one dead letter with its event and the full error."""
    from veri.events.outbox import stored_event
    from veri.models.events import DeadLetter

    database = _database(get_settings())
    try:
        with database.sessions() as db:
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
    finally:
        database.dispose()
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
    from veri.events.service import dead_letters, replay_dead_letter
    from veri.wiring import handlers_by_group

    if (letter_id is None) == (not all_):
        raise typer.BadParameter("give a dead letter id or --all")
    database = _database(get_settings())
    handlers = handlers_by_group()
    results: dict[str, str] = {}
    try:
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
    finally:
        database.dispose()
    _emit(results, as_json, "Dead letter replay")
    if any(v.startswith(("still failing", "not found")) for v in results.values()):
        raise typer.Exit(1)


@events_app.command("replay")
def events_replay(
    group: Annotated[str, typer.Option(help="The consumer group to rebuild.")],
    from_: Annotated[str, typer.Option("--from", help="Outbox position, ISO time, or 'beginning'.")],
    reset: Annotated[bool, typer.Option(help="With --from beginning: delete the group's derived state first.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Make a consumer group apply the log again from a point; running workers pick it up."""
    from veri.events.outbox import cursor_at
    from veri.events.relay import get_cursor, set_cursor
    from veri.events.service import replay_group
    from veri.wiring import handlers_by_group

    settings = get_settings()
    handler = handlers_by_group(settings).get(group)
    if handler is None:
        raise typer.BadParameter(f"unknown group {group!r}", param_hint="--group")
    position, moment = _parse_from(from_)
    if reset and from_ != "beginning":
        raise typer.BadParameter("--reset only goes with --from beginning")
    database = _database(settings)
    try:
        with database.sessions() as db:
            cursor = (0, 0) if from_ == "beginning" else cursor_at(db, position=position, recorded_since=moment)
        unmarked = replay_group(database, handler, cursor, reset=reset)
        if settings.events.event_bus == "kafka" and get_cursor(database) > cursor:
            set_cursor(database, cursor)  # the relay sends the events again; other groups skip them
    finally:
        database.dispose()
    _emit({"group": group, "from": list(cursor), "unmarked": unmarked, "reset": reset}, as_json, "Replay")


@events_app.command("republish")
def events_republish(
    from_: Annotated[str, typer.Option("--from", help="Outbox position, ISO time, or 'beginning'.")],
    as_json: JsonOption = False,
) -> None:
    """Send the outbox to the broker again from a point (after a broker lost data)."""
    from veri.events.outbox import cursor_at
    from veri.events.relay import get_cursor, set_cursor

    position, moment = _parse_from(from_)
    database = _database(get_settings())
    try:
        with database.sessions() as db:
            cursor = (0, 0) if from_ == "beginning" else cursor_at(db, position=position, recorded_since=moment)
        before = get_cursor(database)
        set_cursor(database, cursor)
    finally:
        database.dispose()
    _emit({"from": list(cursor), "was": list(before)}, as_json, "Republish")


@events_app.command("lag")
def events_lag(as_json: JsonOption = False) -> None:
    """Consumer lag per group and partition, as the workers last measured it."""
    from veri.events.service import pipeline_status

    database = _database(get_settings())
    try:
        with database.sessions() as db:
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
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table("group", "partition", "lag", "owner", "measured at", title="Consumer lag")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("group", "partition", "lag", "owner", "measured_at")))
    Console().print(table)


simulate_app = typer.Typer(help="The synthetic creator economy (hidden truth kept apart).")
app.add_typer(simulate_app, name="simulate")
Count = Annotated[int, typer.Option(min=1, max=1_000_000)]


@simulate_app.callback(invoke_without_command=True)
def simulate(
    ctx: typer.Context,
    creators: Annotated[int, typer.Option(min=1, max=1_000_000, help="Creators in the world.")] = 500,
    brands: Annotated[int, typer.Option(min=1, max=100_000, help="Brands in the world.")] = 60,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Simulated days.")] = 180,
    seed: Annotated[int, typer.Option(help="The same seed gives byte-identical output.")] = 42,
    out: Annotated[
        str, typer.Option(help="A .jsonl file, or the URL of a running Veri (http://...).")
    ] = "events.jsonl",
    api_key: Annotated[
        str | None, typer.Option(envvar="VERI_API_KEY", help="An admin API key, for a URL target.")
    ] = None,
    truth: Annotated[Path | None, typer.Option(help="Where the hidden truth goes (default: OUT.truth.jsonl).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Play the world through Veri's ingestion: to a JSONL file of events or to a running platform."""
    if ctx.invoked_subcommand is not None:
        return
    import time as clock

    from veri.simulate.engine import Simulation, SimulationParams
    from veri.simulate.sinks import ApiSink, FileSink
    from veri.simulate.truth import write_truth

    if "://" in out and not out.startswith(("http://", "https://")):
        console.print(f"[red]unknown output target {out!r}: use a .jsonl path or an http(s) URL[/red]")
        raise typer.Exit(2)
    if out.startswith("http") and not api_key:
        console.print("[red]--api-key (or VERI_API_KEY) is needed to send events to a platform[/red]")
        raise typer.Exit(2)
    simulation = Simulation(SimulationParams(creators=creators, brands=brands, days=days, seed=seed))
    sink = ApiSink(out, api_key or "") if out.startswith("http") else FileSink(Path(out))
    started = clock.perf_counter()
    with _event_progress() as bar:
        task = bar.add_task("Simulating", total=days, events=0)
        with sink:
            for lines in simulation.days():
                sink.write_many(lines)
                bar.update(task, completed=simulation.day_done, events=simulation.events_emitted)
        bar.update(task, completed=days, events=simulation.events_emitted)
    elapsed = clock.perf_counter() - started
    truth_path = truth or (
        Path(out + ".truth.jsonl") if not out.startswith("http") else Path(".veri/sim_truth") / f"{seed}.jsonl"
    )
    write_truth(truth_path, simulation.world, simulation.truth)
    _emit(
        {
            "events": simulation.events_emitted,
            "seconds": round(elapsed, 2),
            "events_per_s": round(simulation.events_emitted / max(elapsed, 1e-9)),
            "out": out,
            "truth": str(truth_path),
            **sink.summary(),
            "world": simulation.statistics(),
        },
        as_json,
        "Simulation",
    )


@simulate_app.command("questions")
def simulate_questions(
    creators: Annotated[int, typer.Option(min=1, max=100_000)] = 120,
    brands: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    days: Annotated[int, typer.Option(min=1, max=3650)] = 180,
    seed: int = 42,
    subjects: Annotated[int, typer.Option(min=1, max=10_000, help="Creators whose conversations are kept.")] = 20,
    per_subject: Annotated[int, typer.Option(min=1, max=1000, help="Questions per creator.")] = 40,
    out: Annotated[Path, typer.Option(help="The recall benchmark file to write.")] = Path("questions.jsonl"),
) -> None:
    """Write a recall benchmark (shared/eval format) from the simulated conversations."""
    from veri.simulate.engine import Simulation, SimulationParams
    from veri.simulate.questions import question_set

    simulation = Simulation(
        SimulationParams(creators=creators, brands=brands, days=days, seed=seed), record_conversations=True
    )
    lines = list(question_set(simulation, subjects=subjects, per_subject=per_subject, seed=seed))
    out.write_text("\n".join(lines) + "\n")
    queries = sum(1 for line in lines if '"type": "query"' in line)
    console.print(f"wrote {out}: {len(lines) - queries} events, {queries} queries")


@demo_app.command("world")
def demo_world(
    creators: Annotated[int, typer.Option(min=1, max=100_000)] = 500,
    brands: Annotated[int, typer.Option(min=1, max=10_000)] = 60,
    days: Annotated[int, typer.Option(min=1, max=3650)] = 180,
    seed: int = 42,
    as_json: JsonOption = False,
) -> None:
    """Play a simulated world through ingestion, the demo accounts in some of its parts
    (idempotent: run it again after an interruption). `veri run` does it on first start."""
    import threading
    import time as clock

    from veri.db import migrate
    from veri.demo import load_world, world_progress

    settings = get_settings()
    database = _database(settings)
    migrate.upgrade(database.engine)
    marker = settings.db.data_dir / "demo-world.json"
    loader = threading.Thread(
        target=load_world,
        kwargs={
            "database": database,
            "creators": creators,
            "brands": brands,
            "days": days,
            "seed": seed,
            "marker": marker,
            "partitions": settings.events.event_partitions,
        },
    )
    with _event_progress() as bar:
        task = bar.add_task("Loading the world", total=days, events=0)
        loader.start()
        while loader.is_alive():
            bar.update(task, completed=world_progress().days_done, events=world_progress().events)
            clock.sleep(0.2)
        bar.update(task, completed=world_progress().days_done, events=world_progress().events)
    database.dispose()
    _emit(
        {"state": world_progress().state, "events": world_progress().events, "error": world_progress().error},
        as_json,
        "World",
    )
    if world_progress().state != "done":
        raise typer.Exit(1)


memory_app = typer.Typer(help="The Signal Engine's memory: search, inspect, decay, reflect.", no_args_is_help=True)
app.add_typer(memory_app, name="memory")
eval_app = typer.Typer(help="Evaluations of the Signal Engine.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("use an ISO date or time, e.g. 2026-05-01", param_hint=name) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@memory_app.command("search")
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

    from veri.memory.embeddings import get_embedder
    from veri.memory.retrieval import SearchQuery
    from veri.memory.service import search_memories
    from veri.models.memory import MemoryType

    try:
        types = [MemoryType(t) for t in type_ or []]
        creator_id = uuid.UUID(creator) if creator else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    settings = get_settings()
    database = _database(settings)
    try:
        with database.transaction() as db:
            hits = search_memories(
                db,
                SearchQuery(
                    query, creator_id=creator_id, types=types or None, as_of=_moment(as_of, "--as-of"), limit=limit
                ),
                principal=None,
                embedder=get_embedder(settings.memory.embedder),
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
    finally:
        database.dispose()
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
    Console().print(table)


@memory_app.command("show")
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
    database = _database(get_settings())
    try:
        with database.sessions() as db:
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
    finally:
        database.dispose()
    _emit(data, as_json, "Memory")


@memory_app.command("decay")
def memory_decay(as_json: JsonOption = False) -> None:
    """Recompute every memory's strength now and archive the weak (runs even with MEMORY_DECAY
    off; the flag decides whether ranking uses strength and whether the worker schedules it)."""
    from veri.memory.service import run_decay

    database = _database(get_settings())
    try:
        result = run_decay(database)
    finally:
        database.dispose()
    _emit(asdict(result), as_json, "Decay")


@memory_app.command("reflect")
def memory_reflect(
    creator: Annotated[str | None, typer.Option(help="Only this creator (id); default every creator.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Write higher-level insights from what memory holds now."""
    import uuid

    from veri.memory.embeddings import get_embedder
    from veri.memory.service import reflect_creators

    settings = get_settings()
    try:
        creator_id = uuid.UUID(creator) if creator else None
    except ValueError:
        raise typer.BadParameter("not a creator id", param_hint="--creator") from None
    database = _database(settings)
    try:
        written = reflect_creators(database, get_embedder(settings.memory.embedder), creator_id)
    finally:
        database.dispose()
    _emit({"insights_written": written}, as_json, "Reflection")


@eval_app.command("recall")
def eval_recall(
    file: Annotated[
        Path, typer.Argument(help="A benchmark in the shared/eval JSON Lines format.", exists=True, dir_okay=False)
    ],
    k: Annotated[int, typer.Option(min=1, max=1000, help="Score the first k source ids.")] = 10,
    mode: Annotated[
        str, typer.Option(help="hybrid (full text + vectors) or fulltext (the phase-1 baseline).")
    ] = "hybrid",
    misses: Annotated[Path | None, typer.Option(help="Write the queries that missed to this JSON Lines file.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest every event through the real pipeline into a temporary store, run every query
    through the engine's retrieval, and report recall@k and MRR@k, overall and per category."""
    from veri.memory.embeddings import get_embedder
    from veri.memory.evaluation import BenchmarkError, run_recall
    from veri.observability import configure_logging

    if mode not in {"hybrid", "fulltext"}:
        raise typer.BadParameter("use hybrid or fulltext", param_hint="--mode")
    settings = get_settings()
    configure_logging("WARNING", json=settings.log_json)
    with Progress(*Progress.get_default_columns(), TextColumn("{task.completed}/{task.total}"), console=console) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(
                    "Ingesting events" if stage == "ingest" else "Asking questions", total=total
                )
            bar.update(tasks[stage], completed=done)

        try:
            report = run_recall(
                file,
                k=k,
                embedder=get_embedder(settings.memory.embedder) if mode == "hybrid" else None,
                hybrid=mode == "hybrid",
                progress=progress,
            )
        except BenchmarkError as exc:
            typer.echo(f"{file}: {exc}", err=True)  # unwrapped: the line number stays findable
            raise typer.Exit(2) from None
    if misses is not None:
        misses.write_text("".join(json.dumps(m) + "\n" for m in report.misses))
    data = report.as_dict()
    if as_json:
        typer.echo(json.dumps(data))
        return
    table = Table("category", f"recall@{k}", f"mrr@{k}", "queries", title=f"Recall on {file.name} ({data['mode']})")
    table.add_row("all", str(data[f"recall@{k}"]), str(data[f"mrr@{k}"]), str(data["queries"]))
    for name, scores in data["categories"].items():
        table.add_row(name, str(scores[f"recall@{k}"]), str(scores[f"mrr@{k}"]), str(scores["queries"]))
    Console().print(table)
    console.print(
        f"{data['events']} events ingested in {data['ingest_seconds']} s ({data['ingest_events_per_s']}/s); "
        f"query p50 {data['query_p50_ms']} ms, p95 {data['query_p95_ms']} ms"
    )


@app.command("run")
def run(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[bool, typer.Option(help="Load the demo data on first start.")] = True,
) -> None:
    """Serve the API and the web pages (migrating the database first)."""
    import uvicorn

    from veri.app import create_app
    from veri.db import migrate
    from veri.demo import ADMIN_EMAIL, DEMO_PASSWORD, MARKER_EMAIL, DemoSummary, load_demo
    from veri.identity import service as identity_service

    settings = get_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    database = _database(settings)
    migrate.upgrade(database.engine)
    is_demo_database = False
    if demo:
        with console.status("Loading the demo world...") as status, database.transaction() as db:
            # Only into an empty database: a real one is never mixed with demo data.
            if identity_service.has_users(db):
                summary = DemoSummary(created=False, users=0, campaigns=0, deals=0, content=0)
            else:
                summary = load_demo(db, progress=lambda step: status.update(f"Loading demo {step}..."))
            is_demo_database = identity_service.user_by_email(db, email=MARKER_EMAIL) is not None
        if summary.created:
            console.print(
                f"Demo data loaded: {summary.users} users, {summary.campaigns} campaigns, {summary.deals} deals."
            )
    console.print(f"\n[bold green]Veri is running at {settings.base_url}[/bold green]")
    if is_demo_database:
        console.print(
            "Log in as maya@creators.example (creator), team@peakform.example (brand) "
            f"or {ADMIN_EMAIL} (admin), "
            f"password [bold]{DEMO_PASSWORD}[/bold]\n"
        )
    worker = _start_worker(settings, database)
    marker = settings.db.data_dir / "demo-world.json"
    if is_demo_database and not marker.exists():
        import threading

        from veri.demo import load_world

        console.print("Loading the simulated world (500 creators, 180 days) in the background; see /admin.")
        threading.Thread(
            target=load_world,
            kwargs={"database": database, "marker": marker, "partitions": settings.events.event_partitions},
            name="veri-demo-world",
            daemon=True,
        ).start()
    try:
        uvicorn.run(
            create_app(settings, database=database),
            host=settings.host,
            port=settings.port,
            log_level="warning",
        )
    finally:
        worker.stop()
    database.dispose()


if __name__ == "__main__":
    app()
