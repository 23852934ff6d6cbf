"""`veri simulate`: the synthetic creator economy, played to a file or a running Veri, and the
recall benchmarks written from its conversations. Its hidden truth is imported only in here,
inside the commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from veri.cli._shared import JsonOption, console, emit, event_progress

__all__ = ["app"]

app = typer.Typer(help="The synthetic creator economy (hidden truth kept apart).")


@app.callback(invoke_without_command=True)
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
    with event_progress() as bar:
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
    emit(
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


@app.command("questions")
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
