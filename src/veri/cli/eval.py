"""`veri eval`: evaluations of the Signal Engine against a benchmark file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from veri.cli._shared import JsonOption, console, show, stage_progress
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="Evaluations of the Signal Engine.", no_args_is_help=True)


@app.command("recall")
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
    from veri import wiring
    from veri.memory.evaluation import BenchmarkError, run_recall
    from veri.observability import configure_logging

    if mode not in {"hybrid", "fulltext"}:
        raise typer.BadParameter("use hybrid or fulltext", param_hint="--mode")
    settings = get_settings()
    # No database of its own (the benchmark brings a temporary store), and quieter than a command.
    configure_logging("WARNING", json=settings.log_json)
    with stage_progress({"ingest": "Ingesting events", "query": "Asking questions"}) as progress:
        try:
            report = run_recall(
                file,
                k=k,
                embedder=wiring.embedder(settings) if mode == "hybrid" else None,
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
    show(table)
    console.print(
        f"{data['events']} events ingested in {data['ingest_seconds']} s ({data['ingest_events_per_s']}/s); "
        f"query p50 {data['query_p50_ms']} ms, p95 {data['query_p95_ms']} ms"
    )
    if report.rejected:
        # Lines the file got wrong were left out; the run went on with the rest. Say which.
        console.print(f"[yellow]{len(report.rejected)} line(s) of {file.name} could not be used:[/yellow]")
        for bad in report.rejected[:5]:
            console.print(f"  line {bad.line}: {bad.reason}")
    if report.errors:
        # Each failed question counted as a miss; the run went on. Say which, and why.
        console.print(f"[red]{len(report.errors)} question(s) failed in search and count as misses:[/red]")
        for error in report.errors[:5]:
            console.print(f"  {error['subject']} / {error['id']}: {error['error']}")


@app.command("answer")
def eval_answer(
    file: Annotated[
        Path,
        typer.Argument(help="A benchmark in the shared/eval format, with `answer` on query lines.", exists=True),
    ],
    as_json: JsonOption = False,
) -> None:
    """Form the events' memory as `eval recall` does, ask the agent every query as the subject's
    owner (the offline answerer unless an Anthropic key is set), and report token F1 against
    `answer`, citation recall and latency, overall and per category."""
    from veri import wiring
    from veri.agent.evaluation import run_answers
    from veri.memory.evaluation import BenchmarkError
    from veri.observability import configure_logging

    settings = get_settings()
    configure_logging("WARNING", json=settings.log_json)
    with stage_progress({"ingest": "Ingesting events", "answer": "Asking the agent"}) as progress:
        try:
            report = run_answers(file, embedder=wiring.embedder(settings), settings=settings.agent, progress=progress)
        except BenchmarkError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from exc
    result = report.as_dict()
    if as_json:
        print(json.dumps(result))
        return
    table = Table("category", "queries", "F1 (direct answer)", "F1 (whole answer)", "citation recall", "judge")
    for name, scores in [("all", report.overall), *report.categories.items()]:
        columns = ("queries", "f1", "f1_whole", "citation_recall", "judge")
        table.add_row(name, *(str(scores[c]) if scores[c] is not None else "-" for c in columns))
    show(table)
    console.print(
        f"provider {report.provider}; first token p50/p95 {report.first_token_p50_ms:.0f}/"
        f"{report.first_token_p95_ms:.0f} ms; whole answer p50/p95 {report.total_p50_ms:.0f}/"
        f"{report.total_p95_ms:.0f} ms; {report.fallbacks} fallbacks; {len(report.errors)} errors; "
        f"{report.judge_errors} judge errors; "
        f"{len(report.rejected)} lines rejected"
    )
