"""The `veri` command line (Typer + Rich): the root app and one sub-app per domain. Each
command imports what it needs when it runs, so `veri --help` stays fast."""

from __future__ import annotations

import typer

from veri.cli.agent import app as agent_app
from veri.cli.analytics import app as analytics_app
from veri.cli.bench import app as bench_app
from veri.cli.check import app as check_app
from veri.cli.connectors import app as connectors_app
from veri.cli.db import app as db_app
from veri.cli.demo import app as demo_app
from veri.cli.eval import app as eval_app
from veri.cli.events import app as events_app
from veri.cli.flags import app as flags_app
from veri.cli.ledger import app as ledger_app
from veri.cli.memory import app as memory_app
from veri.cli.migrate import app as migrate_app
from veri.cli.recommend import app as recommend_app
from veri.cli.scores import app as scores_app
from veri.cli.serve import run
from veri.cli.simulate import app as simulate_app
from veri.cli.users import app as users_app
from veri.cli.worker import worker_command

__all__ = ["app"]

app = typer.Typer(help="Veri: memory-driven creator monetization.", no_args_is_help=True)
app.command("worker")(worker_command)
app.command("run")(run)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(demo_app, name="demo")
app.add_typer(events_app, name="events")
app.add_typer(flags_app, name="flags")
app.add_typer(simulate_app, name="simulate")
app.add_typer(memory_app, name="memory")
app.add_typer(migrate_app, name="migrate")
app.add_typer(eval_app, name="eval")
app.add_typer(agent_app, name="agent")
app.add_typer(recommend_app, name="recommend")
app.add_typer(scores_app, name="scores")
app.add_typer(analytics_app, name="analytics")
app.add_typer(connectors_app, name="connectors")
app.add_typer(ledger_app, name="ledger")
app.add_typer(bench_app, name="bench")
app.add_typer(check_app, name="check")
