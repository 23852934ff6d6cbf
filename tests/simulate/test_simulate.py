"""The simulator: deterministic, valid events, clear errors, truth kept apart, question sets in
the benchmark format, and ingestion through the real API (re-sending duplicates nothing)."""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.factories import admin_key, new_client
from veri.cli import app as cli
from veri.db.engine import Database
from veri.events.envelope import validate_batch
from veri.models.events import OutboxEvent
from veri.simulate.engine import Simulation, SimulationParams
from veri.simulate.questions import question_set
from veri.simulate.sinks import ApiSink

SMALL = ["--creators", "40", "--brands", "8", "--days", "60"]
SRC = Path(__file__).resolve().parents[2] / "src" / "veri"


def test_same_seed_same_bytes_other_seed_other_world(tmp_path: Path) -> None:
    runner = CliRunner()
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        result = runner.invoke(
            cli, ["simulate", *SMALL, "--seed", seed, "--out", str(tmp_path / f"{name}.jsonl"), "--json"]
        )
        assert result.exit_code == 0, result.output
    a, b, c = ((tmp_path / f"{n}.jsonl").read_bytes() for n in "abc")
    assert a == b and a != c
    assert (tmp_path / "a.jsonl.truth.jsonl").read_bytes() == (tmp_path / "b.jsonl.truth.jsonl").read_bytes()


def test_every_event_is_valid_and_the_truth_stays_out(tmp_path: Path) -> None:
    simulation = Simulation(SimulationParams(creators=60, brands=10, days=90, seed=3))
    lines = list(simulation.run())
    events = [json.loads(line) for line in lines]
    valid, errors = validate_batch(events)
    assert errors == [] and len(valid) == len(events)
    types = Counter(e["type"] for e in events)
    assert {
        "content.published",
        "content.metrics_snapshot",
        "campaign.created",
        "deal.created",
        "deal.status_changed",
        "message.sent",
        "campaign.outcome_reported",
    } <= set(types)
    assert len({e["id"] for e in events}) == len(events)
    text = b"\n".join(lines).decode()
    for hidden in ("expected_roi", "reliability", "responsiveness", "fraudulent", "churn_day"):
        assert hidden not in text
    # Time runs forward.
    stamps = [e["occurred_at"] for e in events]
    assert stamps == sorted(stamps)


def test_outcomes_follow_the_hidden_fit() -> None:
    simulation = Simulation(SimulationParams(creators=150, brands=20, days=150, seed=11))
    for _ in simulation.run():
        pass
    deals = [t for t in simulation.truth if t["kind"] == "deal"]
    assert len(deals) > 50
    expected = [d["expected_roi"] for d in deals]
    realised = [d["realised_roi"] for d in deals]
    n = len(deals)
    mean_e, mean_r = sum(expected) / n, sum(realised) / n
    cov = sum((e - mean_e) * (r - mean_r) for e, r in zip(expected, realised, strict=True))
    var_e = sum((e - mean_e) ** 2 for e in expected)
    var_r = sum((r - mean_r) ** 2 for r in realised)
    assert cov / (var_e * var_r) ** 0.5 > 0.5  # signal plus noise, not noise alone
    frauds = [t for t in simulation.truth if t["kind"] == "task"]
    assert frauds and any(t["fraudulent"] for t in frauds) and not all(t["fraudulent"] for t in frauds)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--creators", "-3"], "--creators"),
        (["--days", "0"], "--days"),
        (["--brands", "0"], "--brands"),
        (["--out", "ftp://example/x"], "unknown output target"),
        (["--out", "http://127.0.0.1:9/"], "--api-key"),
    ],
)
def test_bad_parameters_exit_2_with_a_clear_message(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["simulate", *args], env={"VERI_API_KEY": ""})
    assert result.exit_code == 2
    assert message in result.output


def test_only_the_simulator_and_the_evaluation_read_the_truth() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC).as_posix()
        # The demo platform stands in for the outside world (a social platform's own numbers), so it
        # may draw from the simulator like the simulator itself; Veri only sees it through its API.
        if relative.startswith(("simulate/", "evaluation/", "demo_platform/")) or relative in {
            "cli/simulate.py",
            EVALUATES_ROI,
        }:
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(n.startswith(("veri.simulate.truth", "veri.simulate.world")) for n in names):
                offenders.append(relative)
    assert offenders == []


# Scores the ROI model against the oracle: the one module of recommend/ that may see the world.
EVALUATES_ROI = "recommend/evaluation.py"


def test_the_roi_model_never_sees_the_simulator() -> None:
    """Training and serving (features, model, training, registry, service, routes) import nothing
    of veri.simulate: its hidden traits cannot reach a prediction."""
    for path in (SRC / "recommend").glob("*.py"):
        if path.relative_to(SRC).as_posix() == EVALUATES_ROI:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            assert not any(m.startswith("veri.simulate") for m in modules), path.name


def test_cli_reads_the_truth_only_inside_simulate_commands() -> None:
    """cli/simulate.py hosts the simulate commands; its truth import must stay inside them."""
    tree = ast.parse((SRC / "cli" / "simulate.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("veri.simulate"):
            pytest.fail("veri.simulate imported at module level of cli/simulate.py")


def test_question_sets_follow_the_benchmark_format(tmp_path: Path) -> None:
    simulation = Simulation(SimulationParams(creators=80, brands=12, days=120, seed=4), record_conversations=True)
    records = [json.loads(line) for line in question_set(simulation, subjects=8, per_subject=30, seed=4)]
    events = [r for r in records if r["type"] == "event"]
    queries = [r for r in records if r["type"] == "query"]
    assert events and len(queries) >= 100
    known = {(e["subject"], e["id"]) for e in events}
    assert len(known) == len(events)  # ids unique within a subject
    for e in events:
        assert set(e) == {"type", "subject", "id", "at", "actor", "text"} and e["text"]
    for q in queries:
        assert q["expected"] and all((q["subject"], i) in known for i in q["expected"])
        assert q["category"] in (1, 2, 3, 4)
    assert set(Counter(q["category"] for q in queries)) == {1, 2, 3, 4}
    assert len({q["text"].split(" ")[0:3].__str__() for q in queries}) > 15  # varied phrasings


def test_simulation_through_the_api_is_idempotent(app: FastAPI, clean_db: Database) -> None:
    key = admin_key(app, clean_db)

    def send() -> ApiSink:
        sink = ApiSink("http://testserver", key, batch=500)
        sink.client = new_client(app)  # the real client library, talking to the app in process
        sink.client.headers["Authorization"] = f"Bearer {key}"
        simulation = Simulation(SimulationParams(creators=20, brands=4, days=30, seed=9))
        with sink:
            for line in simulation.run():
                sink.write(line)
        return sink

    first = send()
    assert first.accepted > 500 and first.duplicates == 0
    again = send()  # an interrupted run, restarted: nothing is stored twice
    assert again.accepted == 0 and again.duplicates == first.accepted
    with clean_db.sessions() as db:
        from sqlalchemy import func, select

        assert (
            db.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.actor != "system"))
            >= first.accepted
        )
