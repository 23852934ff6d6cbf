"""`veri eval`: evaluations of the Signal Engine against a benchmark file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

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
            embedder = wiring.embedder(settings)
            report = run_answers(
                file,
                embedder=embedder,
                settings=settings.agent,
                make_agent=lambda database: wiring.agent(settings, database, embedder),
                progress=progress,
            )
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


# The world options `eval roi` and `eval lift` share (the same runs, two views of them).
Creators = Annotated[int, typer.Option(min=30, max=5000, help="Creators per world.")]
Days = Annotated[int, typer.Option(min=90, max=730, help="Simulated days per world.")]
TestDays = Annotated[int, typer.Option(min=20, max=365, help="The last days, kept for testing.")]
LIFT_FIELDS = ("seed", "memory", "profile", "lift", "learning_curve")
Seeds = Annotated[
    list[int] | None, typer.Option("--seed", help="A world seed (repeat for several; default 101 and 202).")
]


def _worlds(seeds: list[int] | None, creators: int, days: int, test_days: int) -> dict[str, Any]:
    from veri.observability import configure_logging
    from veri.recommend.evaluation import evaluate_world, summarise

    configure_logging("WARNING", json=get_settings().log_json)
    reports = []
    labels = {"simulate": "Simulating and ingesting days", "memory": "Forming memory", "analytics": "Rolling up"}
    for seed in seeds or [101, 202]:
        console.print(f"[bold]World seed {seed}[/bold]")
        with stage_progress(labels | {"recommend": "Ranking creators"}) as progress:
            reports.append(evaluate_world(seed, creators=creators, days=days, test_days=test_days, progress=progress))
    return {"summary": summarise(reports), "worlds": reports}


@app.command("roi")
def eval_roi(
    seed: Seeds = None,
    creators: Creators = 160,
    days: Days = 210,
    test_days: TestDays = 60,
    as_json: JsonOption = False,
) -> None:
    """Simulate worlds the model never saw, train the ROI model on their first months (features as
    of each decision) and score its predictions and rankings on the last ones against the hidden
    truth: accuracy (within +-25%), Spearman, MAE, interval coverage and width, NDCG@10."""
    result = _worlds(seed, creators, days, test_days)
    if as_json:
        print(json.dumps(result))
        return
    table = Table("seed", "test deals", "accuracy", "oracle", "ratio", "spearman", "coverage", "NDCG@10", "reach NDCG")
    for world in result["worlds"]:
        memory, recs = world["memory"], world["recommendations"]
        table.add_row(
            str(world["seed"]),
            str(world["test_deals"]),
            str(memory["accuracy"]),
            str(world["oracle"]["accuracy"]),
            str(memory["accuracy_vs_oracle"]),
            str(memory["spearman"]),
            str(memory.get("coverage")),
            str(recs["memory_ndcg"]),
            str(recs["reach_ndcg"]),
        )
    show(table)
    console.print(f"goals: {result['summary']['goals']}")


@app.command("lift")
def eval_lift(
    seed: Seeds = None,
    creators: Creators = 160,
    days: Days = 210,
    test_days: TestDays = 60,
    as_json: JsonOption = False,
) -> None:
    """The same worlds as `eval roi`: the memory model against the same model without memory's
    features (profile and reach only), and the learning curve of both by months of history."""
    result = _worlds(seed, creators, days, test_days)
    summary = result["summary"]
    lift = {
        "summary": {k: v for k, v in summary.items() if "lift" in k or "accuracy" in k or k == "goals"},
        "worlds": [{k: w[k] for k in LIFT_FIELDS} for w in result["worlds"]],
    }
    if as_json:
        print(json.dumps(lift))
        return
    for world in lift["worlds"]:
        columns = ("months of history", "outcomes", "memory accuracy", "profile accuracy")
        table = Table(*columns, title=f"seed {world['seed']}")
        for point in world["learning_curve"]:
            values = (point["months"], point["train_outcomes"], point.get("memory", "-"), point.get("profile", "-"))
            table.add_row(*map(str, values))
        show(table)
        console.print(f"lift (memory - profile): {world['lift']}")


@app.command("scores")
def eval_scores(
    seed: Seeds = None,
    creators: Creators = 300,
    days: Days = 240,
    as_json: JsonOption = False,
) -> None:
    """Play simulated worlds through the real `scoring` group and score, against the hidden
    truth: fraud detection's precision and recall (goal >= 0.9 and >= 0.8), and the VeriScore's
    Spearman correlation with hidden reliability and quality (goal >= 0.7, above followers)."""
    from veri.observability import configure_logging
    from veri.scoring.evaluation import evaluate_scores

    configure_logging("WARNING", json=get_settings().log_json)
    worlds = []
    labels = {"simulate": "simulating and ingesting", "scoring": "scoring (events applied)"}
    for one in seed or [101, 202]:
        with stage_progress(labels) as progress:
            worlds.append(evaluate_scores(one, creators=creators, days=days, progress=progress))
    goals = {
        "fraud_precision_0.9": all((w["fraud"]["precision"] or 0) >= 0.9 for w in worlds),
        "fraud_recall_0.8": all((w["fraud"]["recall"] or 0) >= 0.8 for w in worlds),
        "veriscore_spearman_0.7": all((w["veriscore"]["spearman"]["combined"] or 0) >= 0.7 for w in worlds),
        "veriscore_above_followers": all(
            (w["veriscore"]["spearman"]["combined"] or 0) > (w["veriscore"]["followers_baseline"]["combined"] or 0)
            for w in worlds
        ),
    }
    result = {"worlds": worlds, "goals": goals}
    if as_json:
        print(json.dumps(result))
        return
    table = Table("seed", "proofs", "planted", "flagged", "precision", "recall", "VeriScore rho", "followers rho")
    for w in worlds:
        fraud, score = w["fraud"], w["veriscore"]
        table.add_row(
            str(w["seed"]),
            str(fraud["proofs"]),
            str(fraud["planted"]),
            str(fraud["flagged"]),
            str(fraud["precision"]),
            str(fraud["recall"]),
            str(score["spearman"]["combined"]),
            str(score["followers_baseline"]["combined"]),
        )
    show(table)
    console.print(f"goals: {goals}")
