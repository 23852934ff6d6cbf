"""`veri agent ask` and `veri eval answer` as a person runs them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from tests.agent.fake_anthropic import FakeAnthropic, Reply
from tests.agent.test_agent import RATE_MESSAGE, creator_with_memory
from tests.factories import new_client, sign_up
from tests.memory.test_cli import SAMPLE, veri
from veri.cli import app as cli
from veri.config import get_settings
from veri.db.engine import Database


@pytest.fixture
def runner(clean_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    monkeypatch.setenv("VERI_DATABASE_URL", clean_db.url)
    monkeypatch.setenv("VERI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("VERI_EMBEDDER", "none")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_agent_ask_answers_as_the_person(runner: CliRunner, app: FastAPI, clean_db: Database) -> None:
    creator_with_memory(app, clean_db)
    asked = runner.invoke(cli, ["agent", "ask", "What rate did I quote for Glow Week?", "--as", "ana@example.com"])
    assert asked.exit_code == 0, asked.output
    assert "$450" in asked.output and "[1]" in asked.output
    whole = runner.invoke(cli, ["agent", "ask", "What is my rate?", "--as", "ana@example.com", "--json"])
    answer = json.loads(whole.output.strip().splitlines()[-1])
    assert answer["provider"] == "offline" and RATE_MESSAGE in json.dumps(answer["citations"])
    # Someone else sees nothing of Ana's; a stranger and a blank question are refused clearly.
    sign_up(new_client(app), "brand", "peak")  # Lumen, Ana's partner in the deal, may see it; Peak may not
    peak = runner.invoke(cli, ["agent", "ask", "What rate did Ana quote?", "--as", "peak@example.com", "--json"])
    assert peak.exit_code == 0 and "$450" not in peak.output
    assert runner.invoke(cli, ["agent", "ask", "hi", "--as", "nobody@example.com"]).exit_code == 2
    assert runner.invoke(cli, ["agent", "ask", "   ", "--as", "ana@example.com"]).exit_code == 2


def answers_file(tmp_path: Path) -> Path:
    """The shared sample with answers on two queries and one bad line."""
    answers = {"q1": "$2,000", "q3": "March 20, 2026"}
    lines = []
    for raw in SAMPLE.read_text().splitlines():
        record = json.loads(raw)
        if record["type"] == "query" and record["id"] in answers:
            record["answer"] = answers[record["id"]]
        lines.append(json.dumps(record))
    lines.insert(3, '{"type": "query", "subject": "maya"}')  # a bad line is reported, the run goes on
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_eval_answer_scores_the_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    result = veri("eval", "answer", str(answers_file(tmp_path)), "--json", embedder="none")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["queries"] == 12 and report["queries_without_answer_field"] == 10
    assert report["citation_recall"] >= 0.5 and report["f1"] is not None
    assert report["rejected_lines"] == 1 and report["provider"] == "offline" and report["errors"] == 0
    assert set(report["categories"]) == {"1", "2", "3", "4"}
    assert report["first_token_p95_ms"] > 0
    assert report["judge"] is None and report["judge_errors"] == 0  # no key, no judge


def test_with_a_key_claude_judges_the_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_anthropic: FakeAnthropic
) -> None:
    """The judge against the fake Messages API: it grades 1 when the reference is in the answer;
    a first grade out of form is counted as a judge error, not as a score."""

    def grade(body: dict[str, Any]) -> Reply:
        asked = body["messages"][0]["content"]
        reference = re.search(r"Reference answer: (.*)", asked)
        candidate = asked.split("Candidate answer:", 1)[-1]
        assert reference is not None and str(body["system"]).startswith("You grade")
        return Reply(text=json.dumps({"score": int(reference.group(1).strip() in candidate)}))

    fake_anthropic.responder = grade
    fake_anthropic.queue(Reply(text="Looks right to me."))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("VERI_ANTHROPIC_BASE_URL", fake_anthropic.url)
    monkeypatch.setenv("VERI_AGENT_PROVIDER", "offline")  # the agent offline; Claude only judges
    result = veri("eval", "answer", str(answers_file(tmp_path)), "--json", embedder="none")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(fake_anthropic.requests) == 2 and report["judge_errors"] == 1
    assert report["judge"] in (0.0, 1.0) and report["provider"] == "offline"
