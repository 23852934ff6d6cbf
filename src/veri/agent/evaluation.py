"""`veri eval answer`: the agent scored on a benchmark of the shared/eval format whose query
lines carry an `answer` (docs/evaluation.md).

The events are formed into memory as for `veri eval recall`; each query is then asked of the
agent, through the same service the API streams from, as the subject's owner (a creator account
in the temporary store). Scored per query:

- `f1`: token F1 of the answer's first line (its direct answer) against `answer`, after SQuAD's
  normalisation (lower case, no punctuation or articles) and money written one way ("$1,500"
  and "1500 dollars" are both "1500 dollars");
- `f1_whole`: the same over the whole answer (long answers lose precision);
- `citation_recall`: the share of `expected` ids among the sources of the memories it cited;
- latency: time to the first token and to the end, p50 / p95;
- `judge` (only with an API key set): Claude grades the answer against `answer`, 1 / 0.5 / 0
  (states the fact / partly / not, or says it does not know); a grade that fails is counted in
  `judge_errors`, never guessed.
"""

from __future__ import annotations

import json
import re
import secrets
import statistics
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veri.agent import service
from veri.config import AgentSettings
from veri.db.engine import Database
from veri.identity import service as identity_service
from veri.identity.principal import Principal
from veri.memory.embeddings import Embedder
from veri.memory.evaluation import formed_benchmark, percentile
from veri.models.accounts import Role

__all__ = ["AnswerReport", "normalise", "run_answers", "token_f1"]

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MONEY = re.compile(r"\$\s?(\d[\d,]*(?:\.\d+)?)\s?(k\b)?", re.I)
_PUNCTUATION = re.compile(r"[^\w\s]")


def normalise(text: str) -> list[str]:
    def dollars(match: re.Match[str]) -> str:
        amount = float(match.group(1).replace(",", "")) * (1000 if match.group(2) else 1)
        return f" {amount:g} dollars "

    text = _MONEY.sub(dollars, text.lower())
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = _PUNCTUATION.sub(" ", text)
    return _ARTICLES.sub(" ", text).split()


def token_f1(answer: str, expected: str) -> float:
    got, wanted = normalise(answer), normalise(expected)
    if not got or not wanted:
        return float(got == wanted)
    common = sum((Counter(got) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


JUDGE_PROMPT = (
    "You grade an assistant's answer to a question about what a creator-monetization platform "
    "remembers. Compare the candidate answer with the reference answer. Reply with one JSON object "
    'and nothing else: {"score": S}, where S is 1 if the candidate states the reference\'s fact '
    "(wording, units and extra detail may differ), 0.5 if it states part of it, and 0 if it is "
    "wrong, missing or says it does not know."
)


class Judge:
    """The LLM judge: one Messages API call per answered query."""

    def __init__(self, settings: AgentSettings):
        import anthropic

        assert settings.anthropic_api_key is not None
        self._errors: tuple[type[Exception], ...] = (anthropic.APIError,)
        self.client = anthropic.Anthropic(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            max_retries=2,
            timeout=30,
        )
        self.model = settings.agent_model

    def score(self, question: str, expected: str, answer: str) -> float | None:
        """The grade in [0, 1], or None when the judge failed or answered out of form."""
        try:
            message = self.client.messages.create(
                model=self.model,
                max_tokens=30,
                system=JUDGE_PROMPT,
                messages=[
                    {
                        "role": "user",
                        "content": f"Question: {question}\nReference answer: {expected}\nCandidate answer: {answer}",
                    }
                ],
            )
            text = "".join(getattr(block, "text", "") for block in message.content)
            found = re.search(r"\{.*?\}", text, re.S)
            score = float(json.loads(found.group(0))["score"]) if found else None
        except self._errors:
            return None
        except (ValueError, KeyError, TypeError):  # out of form: not JSON, no score, not a number
            return None
        return min(1.0, max(0.0, score)) if score is not None else None


@dataclass
class _Scores:
    f1: list[float] = field(default_factory=list)
    f1_whole: list[float] = field(default_factory=list)
    citation_recall: list[float] = field(default_factory=list)
    judge: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def mean(values: list[float]) -> float | None:
            return round(statistics.fmean(values), 4) if values else None

        return {
            "f1": mean(self.f1),
            "f1_whole": mean(self.f1_whole),
            "citation_recall": mean(self.citation_recall),
            "judge": mean(self.judge),
            "queries": len(self.citation_recall),
        }


@dataclass
class AnswerReport:
    overall: dict[str, Any]
    categories: dict[str, dict[str, Any]]
    provider: str
    events: int
    ingest_seconds: float
    first_token_p50_ms: float
    first_token_p95_ms: float
    total_p50_ms: float
    total_p95_ms: float
    fallbacks: int
    judge_errors: int
    without_answer_field: int
    errors: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    samples: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.overall,
            "categories": self.categories,
            "provider": self.provider,
            "events": self.events,
            "ingest_seconds": round(self.ingest_seconds, 2),
            "first_token_p50_ms": round(self.first_token_p50_ms, 1),
            "first_token_p95_ms": round(self.first_token_p95_ms, 1),
            "total_p50_ms": round(self.total_p50_ms, 1),
            "total_p95_ms": round(self.total_p95_ms, 1),
            "fallbacks": self.fallbacks,
            "judge_errors": self.judge_errors,
            "queries_without_answer_field": self.without_answer_field,
            "errors": len(self.errors),
            "first_errors": self.errors[:5],
            "rejected_lines": len(self.rejected),
            "first_rejected": self.rejected[:5],
            "samples": self.samples[:5],
        }


def run_answers(
    path: Path,
    *,
    embedder: Embedder | None,
    settings: AgentSettings,
    make_agent: Callable[[Database], service.Agent],
    progress: Callable[[str, int, int], None] | None = None,
) -> AnswerReport:
    """`make_agent` builds the agent over the temporary store (the CLI passes wiring's)."""
    note = progress or (lambda stage, done, total: None)
    with formed_benchmark(path, embedder=embedder, progress=progress) as formed:
        agent = make_agent(formed.database)
        owners: dict[str, tuple[Principal, uuid.UUID]] = {}
        overall, by_category = _Scores(), defaultdict[str, _Scores](_Scores)
        first_tokens: list[float] = []
        totals: list[float] = []
        errors: list[dict[str, Any]] = []
        samples: list[dict[str, Any]] = []
        fallbacks = without_answer = judge_errors = 0
        judge = Judge(settings) if settings.anthropic_api_key is not None else None
        for number, query in enumerate(formed.queries, start=1):
            if query.subject not in owners:
                owners[query.subject] = _owner(formed.database, query.subject, formed.creator_of(query.subject))
            principal, conversation = owners[query.subject]
            began = time.perf_counter()
            run = service.Collected()
            try:
                with formed.database.transaction() as db:
                    prepared = service.begin_turn(
                        db,
                        principal=principal,
                        conversation_id=conversation,
                        question=query.text[:4000],
                        limiter=None,
                        settings=settings,
                    )
                run = service.collect(service.run_turn(agent, principal, prepared))
            except Exception as exc:  # one bad question is a reported zero, not a lost run
                errors.append({"subject": query.subject, "id": query.id, "error": f"{type(exc).__name__}: {exc}"})
            totals.append((time.perf_counter() - began) * 1000)
            first_tokens.append(((run.first_token_at or time.perf_counter()) - began) * 1000)
            fallbacks += bool(run.fallback)
            answer = run.text
            cited_sources = [uuid.UUID(s) for c in run.done.get("citations", []) for s in c["sources"]]
            found = set(formed.line_ids(cited_sources, query.subject))
            scores = [overall, by_category[str(query.category) if query.category is not None else "none"]]
            for score in scores:
                score.citation_recall.append(len(found & set(query.expected)) / len(query.expected))
            if query.answer is None:
                without_answer += 1
            else:
                head = answer.strip().splitlines()[0] if answer.strip() else ""
                for score in scores:
                    score.f1.append(token_f1(re.sub(r"\[\d+\]", "", head), query.answer))
                    score.f1_whole.append(token_f1(re.sub(r"\[\d+\]", "", answer), query.answer))
                grade = judge.score(query.text, query.answer, answer) if judge is not None else None
                if grade is not None:
                    for score in scores:
                        score.judge.append(grade)
                elif judge is not None:
                    judge_errors += 1
                if len(samples) < 5:
                    samples.append({"question": query.text[:200], "expected": query.answer, "answer": head[:300]})
            note("answer", number, len(formed.queries))
        return AnswerReport(
            overall=overall.as_dict(),
            categories={name: s.as_dict() for name, s in sorted(by_category.items())},
            provider=agent.provider.name,
            events=formed.events,
            ingest_seconds=formed.ingest_seconds,
            first_token_p50_ms=percentile(first_tokens, 0.5),
            first_token_p95_ms=percentile(first_tokens, 0.95),
            total_p50_ms=percentile(totals, 0.5),
            total_p95_ms=percentile(totals, 0.95),
            fallbacks=fallbacks,
            judge_errors=judge_errors,
            without_answer_field=without_answer,
            errors=errors,
            rejected=[{"line": r.line, "reason": r.reason} for r in formed.rejected],
            samples=samples,
        )


def _owner(database: Any, subject: str, creator_id: uuid.UUID) -> tuple[Principal, uuid.UUID]:
    """The subject's owner: a creator account whose profile id is the subject's creator id."""
    with database.transaction() as db:
        user = identity_service.create_user(
            db,
            email=f"{uuid.uuid5(creator_id, 'owner').hex[:16]}@eval.example",
            password=secrets.token_urlsafe(16),
            display_name=subject[:80],
            role=Role.CREATOR,
        )
        principal = Principal(user=user, via="session", creator_id=creator_id)
        conversation = service.create_conversation(db, principal=principal, title=f"eval: {subject}"[:200])
        return principal, conversation.id
