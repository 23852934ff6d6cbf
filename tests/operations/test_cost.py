"""`veri bench cost`: a tiny world measured by the command itself (its JSON on stdout, nothing
else), then the price table's arithmetic on that measurement: a price doubled doubles its line
and leaves the others, and every total is the sum of its lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from veri.operations.measure import Measurement
from veri.operations.pricing import DEFAULT_PRICES, cost_report, load_prices

MODEL = "claude-haiku-4-5"


def _bench(*args: str) -> dict[str, Any]:
    """`veri bench cost ... --json` in a process of its own; stdout must be one JSON object."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERI_")} | {"VERI_AGENT_MODEL": MODEL}
    result = subprocess.run(
        [sys.executable, "-m", "veri.cli", "bench", "cost", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    saved = tmp_path_factory.mktemp("cost") / "measurement.json"
    report = _bench(
        *("--creators", "3", "--days", "2", "--questions", "2", "--sessions", "1"),
        *("--embedder", "none", "--idle-seconds", "1", "--save", str(saved)),
    )
    return report, saved


def test_the_command_measures_a_month_and_prices_every_tier(measured: tuple[dict[str, Any], Path]) -> None:
    report, saved = measured
    assert report["bench"] == "cost"
    m = report["measurement"]
    assert m["creators"] == 3 and m["days"] == 2 and m["creator_months"] == pytest.approx(0.2)
    assert m["events_ingested"] > 0 and m["events_logged"] >= m["events_ingested"]
    assert m["month"]["cpu_s"]["worker"] > 0 and m["month"]["cpu_s"]["postgres"] > 0
    assert m["agent"]["questions"] == 2 and m["agent"]["llm_calls"] == 2 and m["agent"]["input_chars"] > 0
    assert m["sessions"]["requests"] == 9 and set(m["sessions"]["statuses"]) == {"200"}
    assert m["db_bytes"] >= 0 and m["peak_rss_mb"]["postgres"] > 0
    assert set(m["groups"]) >= {"analytics", "scoring", "ledger", "memory", "memory-history"}
    pcm = report["per_creator_month"]
    for key in ("cpu_s", "db_bytes", "events", "llm_input_tokens", "llm_output_tokens", "peak_rss_mb", "chores"):
        assert key in pcm
    assert set(pcm["cpu_s"]) == {"api", "worker", "postgres"}
    assert [t["creators"] for t in report["tiers"]] == [500, 500, 10_000, 100_000]
    for tier in report["tiers"]:
        assert tier["usd_per_month"] == pytest.approx(sum(tier["lines_usd_per_month"].values()), abs=0.05)
        assert tier["usd_per_creator_month"] == pytest.approx(tier["usd_per_month"] / tier["creators"], abs=1e-4)
        assert tier["capacity"]["api_processes"] >= 1 and tier["capacity"]["worker_processes"] >= 1
        assert tier["capacity"]["postgres"]["instance"].startswith("db.")
    assert report["goal"]["usd_per_creator_month_at_500"] == 0.10 and isinstance(report["goal"]["met"], bool)
    assumptions = report["assumptions"]
    assert assumptions["model"] == MODEL and assumptions["workload"]["questions_per_creator_month"] > 0
    assert all(source for source in assumptions["sources"].values())
    assert Measurement.model_validate_json(saved.read_text()).creators == 3


def _doubled(path: Path, replacements: dict[str, str]) -> Path:
    text = DEFAULT_PRICES.read_text()
    for old, new in replacements.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


def _lines(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {tier["name"]: tier["lines_usd_per_month"] for tier in report["tiers"]}


@pytest.mark.parametrize(
    ("line", "replacements"),
    [
        ("llm", {"input_mtok = 1.0\noutput_mtok = 5.0": "input_mtok = 2.0\noutput_mtok = 10.0"}),
        ("compute_api", {"vcpu_hour = 0.03238\ngb_hour = 0.00356": "vcpu_hour = 0.06476\ngb_hour = 0.00712"}),
        ("postgres_storage", {"storage_gb_month = 0.115": "storage_gb_month = 0.23"}),
        ("load_balancer", {"hourly = 0.0225\nlcu_hour = 0.008": "hourly = 0.045\nlcu_hour = 0.016"}),
    ],
)
def test_a_doubled_price_doubles_its_line_and_no_other(
    measured: tuple[dict[str, Any], Path], tmp_path: Path, line: str, replacements: dict[str, str]
) -> None:
    _, saved = measured
    measurement = Measurement.model_validate_json(saved.read_text())
    before = _lines(cost_report(measurement, load_prices(), MODEL))
    after = _lines(cost_report(measurement, load_prices(_doubled(tmp_path / "prices.toml", replacements)), MODEL))
    also = {"compute_api": {"compute_worker"}}.get(line, set())  # one price per vCPU for both
    for tier, lines in before.items():
        for name, dollars in lines.items():
            expected = 2 * dollars if name == line or name in also else dollars
            assert after[tier][name] == pytest.approx(expected, abs=0.011), (tier, name)


def test_the_command_prices_a_saved_measurement_with_another_table(
    measured: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    report, saved = measured
    prices = _doubled(
        tmp_path / "prices.toml", {"gb_hour = 0.084\nmillion_ecpu = 0.0023": "gb_hour = 0.168\nmillion_ecpu = 0.0046"}
    )
    again = _bench("--from", str(saved), "--prices", str(prices))
    assert again["measurement"] == report["measurement"]
    for tier, lines in _lines(report).items():
        assert _lines(again)[tier]["redis"] == pytest.approx(2 * lines["redis"], abs=0.011)
        assert _lines(again)[tier]["llm"] == lines["llm"]
