"""`veri eval recall` survives what it was not shaped on: a question that makes search fail is
reported and counted as a miss while the run goes on; a question naming a date over memories
that mention dates answers (it crashed a 1,536-question run at question 915)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from veri.memory import evaluation

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "eval_sample.jsonl"


def test_a_failing_question_is_reported_and_the_run_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    questions = [json.loads(line) for line in SAMPLE.read_text().splitlines() if '"query"' in line]
    poisoned = questions[3]["text"]
    real = evaluation.search_memories

    def flaky(db: Any, query: Any, **kwargs: Any) -> Any:
        if query.text == poisoned:
            raise TypeError("can't compare offset-naive and offset-aware datetimes")
        return real(db, query, **kwargs)

    monkeypatch.setattr(evaluation, "search_memories", flaky)
    report = evaluation.run_recall(SAMPLE, k=10, embedder=None, hybrid=False)
    summary = report.as_dict()
    assert summary["queries"] == len(questions)  # every question scored, the failed one as a miss
    assert summary["errors"] == 1 and "offset-naive" in summary["first_errors"][0]["error"]
    assert summary["first_errors"][0]["id"] == questions[3]["id"]


def test_a_question_naming_a_date_over_dated_memories(tmp_path: Path) -> None:
    lines = [
        {
            "type": "event",
            "subject": "ana",
            "id": "e1",
            "at": "2023-05-08T10:00:00+00:00",
            "actor": "Ana",
            "text": "On 8 May 2023 I signed with Lumen, the shoot is on June 2.",
        },
        {
            "type": "event",
            "subject": "ana",
            "id": "e2",
            "at": "2023-05-09T10:00:00+00:00",
            "actor": "Bo",
            "text": "Great, see you on 2 June 2023 at the studio.",
        },
        {
            "type": "query",
            "subject": "ana",
            "id": "q1",
            "text": "What did Ana say on 8 May 2023?",
            "expected": ["e1"],
            "category": 2,
        },
        {
            "type": "query",
            "subject": "ana",
            "id": "q2",
            "text": "when is the shoot, June 2?",
            "expected": ["e2"],
            "category": 2,
        },
    ]
    path = tmp_path / "dated.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    report = evaluation.run_recall(path, k=10, embedder=None, hybrid=False).as_dict()
    assert report["errors"] == 0 and report["queries"] == 2
    assert report["recall@10"] == 1.0


def test_bad_lines_are_reported_with_their_number_and_the_run_goes_on(tmp_path: Path) -> None:
    good = SAMPLE.read_text().splitlines()
    bad = [
        "{not json",
        json.dumps({"type": "gossip"}),
        json.dumps({"type": "event", "subject": "maya", "id": "x", "actor": "Maya", "text": "no time"}),
        json.dumps({"type": "query", "subject": "maya", "id": "qx", "text": "Who?", "expected": ["nowhere"]}),
        json.dumps(
            {
                "type": "event",
                "subject": "maya",
                "id": "nul",
                "at": "2026-03-30T10:00:00Z",
                "actor": "Maya",
                "text": "a\u0000b",
            }
        ),
        json.dumps({"type": "query", "subject": "maya", "id": "qn", "text": "What was odd?", "expected": ["nul"]}),
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join([good[0], *bad, *good[1:]]) + "\n")
    report = evaluation.run_recall(path, k=10, embedder=None, hybrid=False).as_dict()
    assert report["rejected_lines"] == 6  # the refused event and the question expecting it too
    assert [r["line"] for r in report["first_rejected"]] == [2, 3, 4, 5, 6]
    assert "no event nowhere" in report["first_rejected"][3]["reason"]
    assert "refused at ingestion" in report["first_rejected"][4]["reason"]
    assert report["queries"] == sum('"query"' in line for line in good)


def test_questions_in_other_languages_emoji_or_ten_kilobytes_answer(tmp_path: Path, embedder: Any) -> None:
    lines = [json.loads(line) for line in SAMPLE.read_text().splitlines()]
    odd = ["¿Cuánto cobra Maya por un video de YouTube?", "🎥💸🤔", "budget " * 1500, "价格是多少", "   ?  "]
    for number, question in enumerate(odd):
        lines.append({"type": "query", "subject": "maya", "id": f"odd{number}", "text": question, "expected": ["D1:4"]})
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    for hybrid in (False, True):
        report = evaluation.run_recall(path, k=10, embedder=embedder if hybrid else None, hybrid=hybrid).as_dict()
        assert report["errors"] == 0 and report["rejected_lines"] == 0, report["first_errors"]
