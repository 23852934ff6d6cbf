"""`veri bench`: benchmarks of the whole platform. `veri bench cost` measures a simulated month
of the demo world and prices it (veri.operations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from veri.cli._shared import JsonOption, console, show

if TYPE_CHECKING:
    from fastapi import FastAPI

    from veri.config import Settings
    from veri.db.engine import Database

__all__ = ["app"]

app = typer.Typer(help="Benchmarks of the whole platform.", no_args_is_help=True)


@app.command("cost")
def bench_cost(
    creators: Annotated[int, typer.Option(min=1, max=100_000, help="Creators in the simulated world.")] = 100,
    days: Annotated[int, typer.Option(min=1, max=365, help="Simulated days (30: a month).")] = 30,
    brands: Annotated[int | None, typer.Option(min=1, help="Brands (default: the demo world's 60 per 500).")] = None,
    seed: int = 42,
    questions: Annotated[int, typer.Option(min=1, help="Agent questions asked in the measurement.")] = 24,
    sessions: Annotated[int, typer.Option(min=0, help="Creator log-in sessions measured (0: none).")] = 12,
    embedder: Annotated[str, typer.Option(help="local, onnx, torch or none (as VERI_EMBEDDER).")] = "local",
    prices: Annotated[Path | None, typer.Option(help="A price table (default: the shipped prices.toml).")] = None,
    measured: Annotated[
        Path | None, typer.Option("--from", help="Price a measurement saved with --save instead of measuring.")
    ] = None,
    save: Annotated[Path | None, typer.Option(help="Write the raw measurement (JSON) here.")] = None,
    idle_seconds: Annotated[float, typer.Option(min=1, help="Seconds the idle worker is measured.")] = 10.0,
    timeout: Annotated[float, typer.Option(help="Seconds the worker may take to catch up.")] = 3600.0,
    as_json: JsonOption = False,
) -> None:
    """Measure CPU-seconds, memory, database bytes, events and LLM tokens per creator-month on a
    simulated month of the demo world (every consumer group on), and price them at each tier of
    the price table (500, 10k, 100k creators) with the capacity each needs."""
    if embedder not in ("local", "onnx", "torch", "none"):
        raise typer.BadParameter("use local, onnx, torch or none", param_hint="--embedder")
    import os
    import time as clock

    from veri.config import get_settings
    from veri.operations.measure import Measurement, measure_month
    from veri.operations.pricing import cost_report, load_prices

    table = load_prices(prices)
    model = get_settings().agent.agent_model
    if measured is not None:
        measurement = Measurement.model_validate_json(measured.read_text())
    else:
        from veri import wiring

        # The flags `make run` turns on, for the agent and chores here (the worker gets them too).
        os.environ.setdefault("HYBRID_SEARCH", "true")
        os.environ.setdefault("MEMORY_DECAY", "true")
        measurement = measure_month(
            creators=creators,
            days=days,
            brands=brands,
            seed=seed,
            questions=questions,
            sessions=sessions,
            embedder=embedder,
            groups=wiring.group_names(),
            chores=wiring.chores,
            app=_app,
            idle_seconds=idle_seconds,
            timeout=timeout,
            progress=lambda message: console.print(f"[dim]{clock.strftime('%H:%M:%S')} {message}[/dim]"),
        )
    if save is not None:
        save.write_text(measurement.model_dump_json(indent=2))
    report = cost_report(measurement, table, model)
    if as_json:
        typer.echo(json.dumps(report, default=str))
        return
    _show(report)


def _app(settings: Settings, database: Database) -> FastAPI:
    from veri.app import create_app

    return create_app(settings, database=database)


def _show(report: dict[str, Any]) -> None:
    tiers = Table(title="Cost per creator-month (USD, on-demand list prices)")
    for column in ("tier", "$/creator-month", "$/month", "API", "workers", "Postgres", "bus"):
        tiers.add_column(column, justify="right" if column.startswith("$") else "left")
    for plan in report["tiers"]:
        capacity = plan["capacity"]
        api, worker = capacity["api_process"], capacity["worker_process"]
        postgres = capacity["postgres"]
        tiers.add_row(
            plan["name"],
            f"{plan['usd_per_creator_month']:.4f}",
            f"{plan['usd_per_month']:,.0f}",
            f"{capacity['api_processes']}x {api['vcpu']:g}vCPU {api['gb']:g}GB",
            f"{capacity['worker_processes']}x {worker['vcpu']:g}vCPU {worker['gb']:g}GB",
            postgres["instance"].removeprefix("db.")
            + (" x2" if postgres["multi_az"] else "")
            + ("" if postgres["fits"] else " (short)")
            + f", {postgres['storage_gb']:g} GB",
            capacity["bus"]["kind"],
        )
    show(tiers)
    lines = Table(title="Monthly bill by line (USD)")
    lines.add_column("line")
    for plan in report["tiers"]:
        lines.add_column(plan["name"], justify="right")
    for line in report["tiers"][0]["lines_usd_per_month"]:
        lines.add_row(line, *(f"{plan['lines_usd_per_month'][line]:,.2f}" for plan in report["tiers"]))
    show(lines)
    pcm = report["per_creator_month"]
    usage = Table(title="One creator-month, measured and scaled", show_header=False)
    for role in ("api", "worker", "postgres"):
        usage.add_row(f"CPU-seconds, {role}", f"{pcm['cpu_s'][role]:.3f}")
    usage.add_row("database bytes", f"{pcm['db_bytes']:,.0f}")
    usage.add_row("events (ingested / logged)", f"{pcm['events_ingested']:,.1f} / {pcm['events']:,.1f}")
    usage.add_row("LLM tokens (input / output)", f"{pcm['llm_input_tokens']:,.0f} / {pcm['llm_output_tokens']:,.0f}")
    usage.add_row("HTTP requests", f"{pcm['requests']:,.1f}")
    usage.add_row("memories formed", f"{pcm['memories']:,.1f}")
    chores = pcm["chores"]
    usage.add_row(
        "chores, whole platform: CPU-s a month fixed + per memory held (worker / postgres)",
        f"{chores['fixed_cpu_s']['worker']:,.0f} + {chores['per_memory_cpu_s']['worker']:.6f} / "
        f"{chores['fixed_cpu_s']['postgres']:,.0f} + {chores['per_memory_cpu_s']['postgres']:.6f}",
    )
    peak = pcm["peak_rss_mb"]
    usage.add_row("peak memory MB (api / worker / postgres)", f"{peak['api']} / {peak['worker']} / {peak['postgres']}")
    show(usage)
    assumptions = Table(title="Assumptions (edit with --prices FILE)", show_header=False)
    for key, value in report["assumptions"]["workload"].items():
        assumptions.add_row(key, str(value))
    for key, value in report["assumptions"]["sources"].items():
        assumptions.add_row(f"source: {key}", str(value))
    show(assumptions)
    goal = report["goal"]
    verdict = "[green]met[/green]" if goal["met"] else "[red]not met[/red]"
    console.print(
        f"Goal <= ${goal['usd_per_creator_month_at_500']:.2f} per creator-month at 500 creators: "
        f"${goal['measured_usd_per_creator_month']} ({goal['plan']}): {verdict}"
    )
