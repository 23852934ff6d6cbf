"""The offline responder: answers from what the run's tools found, without a model. It is
deterministic and honest: a short, direct answer first (an amount for "how much", a day for
"when", the best matching sentence otherwise), then the memories behind it, each cited; and it
says plainly when it found nothing rather than guessing.

It is the default when no API key is set, and what the person gets when Claude is slow or down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from veri.agent.sources import Sources
from veri.agent.tools import Cited, ToolResult

__all__ = ["NOTHING_FOUND", "OfflineAnswer", "answer_offline", "question_kind"]

NOTHING_FOUND = "I found nothing about that in what I remember, so I won't guess."

_MONEY_QUESTION = re.compile(
    r"\b(how much|rates?|fees?|price|budget|paid|pay|charge[sd]?|costs?|earn(ed|s)?|quoted?|offer(ed)?|money)\b", re.I
)
_TIME_QUESTION = re.compile(
    r"^\s*when\b|\bwhen (did|does|do|is|was|will|are|were|has|had)\b|\b(what|which) (day|date|month|time)\b"
    r"|\bhow long ago\b|\bon what date\b",
    re.I,
)
_PERFORMANCE_QUESTION = re.compile(
    r"\b(views?|viewers|engagements?|impressions|likes|reach|performance|perform(ed|ing)?|analytics|stats|statistics"
    r"|earnings|how many posts)\b",
    re.I,
)
_DEALS_QUESTION = re.compile(r"\bdeals?\b|\bnegotiat", re.I)
_CAMPAIGNS_QUESTION = re.compile(r"\bcampaigns?\b", re.I)
_MONEY = re.compile(r"\$\s?\d[\d,]*(?:\.\d+)?(?:\s?[kK]\b)?|\b\d[\d,]*(?:\.\d+)?\s?(?:dollars|usd|USD|bucks)\b")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPEAKER = re.compile(r"^[\w .'-]{1,40}:\s+")  # "Priya: " before a conversation turn's words
_WORD = re.compile(r"[a-z0-9$]+")
_STOP_WORDS = (
    "a an the of to in on at for and or is was were did do does what which who whom when how my i me you "
    "your we our with about from that this it be been have has had by as last first ever"
)
_STOP = frozenset(_STOP_WORDS.split(" "))


def question_kind(question: str) -> str:
    """The kind of a question, for choosing tools and for reusing a past run's plan."""
    if _TIME_QUESTION.search(question):
        return "time"
    if _PERFORMANCE_QUESTION.search(question):
        return "performance"
    if _MONEY_QUESTION.search(question):
        return "money"
    if _DEALS_QUESTION.search(question):
        return "deals"
    if _CAMPAIGNS_QUESTION.search(question):
        return "campaigns"
    return "general"


@dataclass
class OfflineAnswer:
    short: str  # the direct answer, a phrase ("$510", "March 12, 2026")
    text: str  # the whole answer, in sentences, with [n] citations


def answer_offline(question: str, results: list[ToolResult], sources: Sources) -> OfflineAnswer:
    """Compose the answer from the tools' results; `sources` numbers what it cites."""
    memories = [m for r in results for m in r.memories]
    rows = [(r.name, row) for r in results if not r.memories and isinstance(r.content, list) for row in r.content]
    series = [r.content for r in results if r.name == "analytics_series" and not r.error]
    kind = question_kind(question)
    lines: list[str] = []
    short = ""
    if memories and kind not in ("money", "time") and not any(_overlap(question, m.text) for m in memories[:5]):
        # Vector search always returns its nearest; sharing no word with the question, it is a guess.
        memories = []
    if not memories and not rows and not series:
        return OfflineAnswer("", NOTHING_FOUND)
    if series and (kind == "performance" or not memories):
        short, sentence = _performance(series[0])
        lines.append(sentence)
        if memories:
            lines.append("")
            lines.append("Also in what I remember:")
            lines.extend(f"- {_sentence(m.text)} ({_day(m.when)}) [{sources.number(m)}]" for m in _unique(memories)[:3])
    elif memories:
        best, short = _direct(question, kind, memories[:5])
        n = sources.number(best)
        # The direct answer is one short sentence: it is what a person reads first.
        lead = {"money": f"It was {short} [{n}].", "time": f"On {short} [{n}]."}.get(kind, f"{_sentence(short)} [{n}]")
        lines.append(lead)
        rest = [m for m in _unique(memories) if m.id != best.id][:3]
        if rest:
            lines.append("")
            lines.append("Also in what I remember:")
            lines.extend(f"- {_sentence(m.text)} ({_day(m.when)}) [{sources.number(m)}]" for m in rest)
    for name, row in rows[:5]:
        lines.append(f"- {_row(name, row)} (from {name.replace('_', ' ')})")
    return OfflineAnswer(short, "\n".join(lines))


def stream_words(text: str) -> Iterator[str]:
    """The answer in word-sized pieces, as a model would stream it."""
    yield from re.findall(r"\S+\s*|\s+", text)


# -- choosing the direct answer ------------------------------------------------------------------


def _direct(question: str, kind: str, memories: list[Cited]) -> tuple[Cited, str]:
    if kind == "money":
        for memory in memories:
            amount = _MONEY.search(memory.text)
            if amount:
                return memory, re.sub(r"^\$\s+", "$", amount.group(0))
    if kind == "time":
        best = memories[0]
        # A day the text names ("we go the 28th of July") answers "when" better than the day it was said.
        named = [date.fromisoformat(day) for day in best.mentions if _ISO_DAY.fullmatch(day)]
        return best, _day(named[0]) if named else _day(best.when)
    best = max(memories, key=lambda m: (_overlap(question, m.text), -memories.index(m)))
    return best, _best_sentence(question, _SPEAKER.sub("", best.text))


def _best_sentence(question: str, text: str) -> str:
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]
    if not sentences:
        return text.strip()
    return max(sentences, key=lambda s: (_overlap(question, s), -sentences.index(s)))


def _overlap(question: str, text: str) -> int:
    wanted = {_stem(w) for w in _WORD.findall(question.lower()) if w not in _STOP and not w.isdigit()}
    return len(wanted & {_stem(w) for w in _WORD.findall(text.lower())})


def _stem(word: str) -> str:
    """Enough of a stem for "live" to meet "lives" and "filming" to meet "film"."""
    for ending in ("ing", "ed", "es", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _day(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def _unique(memories: list[Cited]) -> list[Cited]:
    seen: set[object] = set()
    kept = []
    for memory in memories:
        if memory.id not in seen:
            seen.add(memory.id)
            kept.append(memory)
    return kept


def _performance(series: dict[str, object]) -> tuple[str, str]:
    """The direct answer and its sentence from an analytics series' totals."""
    totals = series.get("totals") if isinstance(series.get("totals"), dict) else {}
    assert isinstance(totals, dict)
    first = _day(date.fromisoformat(str(series["from"])))
    last = _day(date.fromisoformat(str(series["to"])))
    views, posts = int(totals.get("views", 0)), int(totals.get("posts", 0))
    if not views and not posts and not totals.get("deals_completed") and totals.get("earnings") in (None, "$0.00"):
        return "nothing", f"Your analytics show no views, posts, deals or earnings from {first} to {last}."
    short = f"{views:,} views"
    sentence = (
        f"From {first} to {last}: {short} at {float(totals.get('engagement_rate', 0.0)):.1%} engagement, "
        f"{posts} post{'s' * (posts != 1)}, {totals.get('deals_completed', 0)} deal(s) completed and "
        f"{totals.get('earnings', '$0.00')} earned (from your analytics)."
    )
    return short, sentence


def _row(name: str, row: object) -> str:
    if not isinstance(row, dict):
        return str(row)
    if name == "list_deals":
        fee = row.get("accepted_fee") or row.get("fee")
        return f'Deal on "{row.get("campaign")}" with {row.get("brand")}: {row.get("status")}, {fee}'
    if name == "list_campaigns":
        return f'Campaign "{row.get("title")}": {row.get("status")}, budget {row.get("budget")}'
    return ", ".join(f"{k}: {v}" for k, v in row.items())
