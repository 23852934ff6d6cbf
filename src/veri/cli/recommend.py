"""`veri recommend`: train the ROI model, score the serving one, explain a ranking."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer
from rich.table import Table

from veri.cli._shared import JsonOption, console, open_database_for, show
from veri.config import get_settings

__all__ = ["app"]

app = typer.Typer(help="ROI predictions and recommendations from memory.", no_args_is_help=True)


@app.command("train")
def recommend_train(
    force: Annotated[bool, typer.Option(help="Train even with few new outcomes since the serving version.")] = False,
    min_new: Annotated[int, typer.Option(min=0, help="New outcomes needed since the serving version.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Train on every outcome memory holds and promote the new version only if it is not worse
    than the serving one on the latest held-out window."""
    from veri.recommend.service import TooFewOutcomes, retrain

    with open_database_for(get_settings()) as database, database.transaction() as db:
        try:
            result = retrain(db, min_new_outcomes=min_new, force=force)
        except TooFewOutcomes as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        out = {
            "status": result.status,
            "reason": result.reason,
            "version": result.version.version if result.version else None,
            "metrics": result.metrics,
        }
    if as_json:
        print(json.dumps(out))
        return
    console.print(f"[bold]{out['status']}[/bold] v{out['version']}: {out['reason']}")
    if result.metrics:
        console.print(result.metrics)


@app.command("evaluate")
def recommend_evaluate(as_json: JsonOption = False) -> None:
    """Every version of the registry with its held-out scores (the compounding, in numbers)."""
    from veri.recommend import registry

    with open_database_for(get_settings()) as database, database.sessions() as db:
        rows = [
            {
                "version": v.version,
                "status": v.status.value,
                "outcomes": v.outcomes,
                "trained_until": v.trained_until.date().isoformat(),
                **{k: v.metrics.get(k) for k in ("accuracy", "spearman", "mae", "coverage", "width_ratio")},
            }
            for v in registry.versions(db)
        ]
    if as_json:
        print(json.dumps(rows))
        return
    if not rows:
        console.print("No model trained yet: `veri recommend train`.")
        return
    table = Table(*rows[0].keys())
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    show(table)


@app.command("explain")
def recommend_explain(
    campaign: Annotated[uuid.UUID, typer.Argument(help="The campaign's id.")],
    creator: Annotated[str | None, typer.Option(help="One creator's handle: their prediction only.")] = None,
    fee: Annotated[int | None, typer.Option(min=1, help="The fee in cents (default: a quarter of the budget).")] = None,
    as_email: Annotated[str, typer.Option("--as", help="As this person (their visibility).")] = "admin@veri.example",
    limit: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: JsonOption = False,
) -> None:
    """The creators recommended for a campaign (or one creator's prediction), each with the
    predicted return, its 80% interval and why."""
    from veri.creators import service as creator_service
    from veri.errors import VeriError
    from veri.identity import service as identity_service
    from veri.recommend import registry, service

    with open_database_for(get_settings()) as database, database.transaction() as db:
        user = identity_service.user_by_email(db, email=as_email)
        if user is None:
            console.print(f"[red]No account {as_email!r}.[/red]")
            raise typer.Exit(2)
        principal = identity_service.principal_for(db, user, via="session")
        serving = registry.ServingModel()
        try:
            if creator is not None:
                found = [c for c in creator_service.all_creators(db, limit=100_000) if c.handle == creator]
                if not found:
                    console.print(f"[red]No creator {creator!r}.[/red]")
                    raise typer.Exit(2)
                one = service.predict_roi(
                    db,
                    principal=principal,
                    serving=serving,
                    creator_id=found[0].id,
                    campaign_id=campaign,
                    fee_cents=fee or 50_000,
                )
                items = [one]
                reason = ""
            else:
                ranked = service.recommend_creators(
                    db, principal=principal, serving=serving, campaign_id=campaign, fee_cents=fee, limit=limit
                )
                items, reason = ranked.items, ranked.reason
        except VeriError as exc:
            console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(2) from None
        rows = [
            {
                "creator": r.creator.handle if r.creator else "",
                "fee_cents": r.fee_cents,
                "predicted_roi": round(r.prediction.roi, 2),
                "interval": [round(r.prediction.low, 2), round(r.prediction.high, 2)],
                "cold_start": r.prediction.prior,
                "why": r.why,
                "memories": [str(m) for m in r.memories],
            }
            for r in items
        ]
        version = serving.get(db).version
    if as_json:
        print(json.dumps({"model_version": version, "items": rows, "reason": reason}))
        return
    if not rows:
        console.print(reason or "Nothing to recommend.")
        return
    table = Table("creator", "fee", "ROI", "80% interval", "why", title=f"model v{version or '- (prior)'}")
    for r in items:
        fee_text = f"${r.fee_cents / 100:,.0f}"
        interval = f"{r.prediction.low:.2f}-{r.prediction.high:.2f}x"
        handle = r.creator.handle if r.creator else ""
        table.add_row(handle, fee_text, f"{r.prediction.roi:.2f}x", interval, r.why)
    show(table)
