"""What a message between a creator and a brand says: prices, budgets, deadlines, deliverables,
platforms, places, preferences, life events, its sentiment and topics.

Deterministic and cheap (regular expressions, a topic lexicon and VADER's sentiment lexicon), so
every message of a 10M-event month can go through it; an LLM extractor can stand behind the
same `extract_message` signature where its cost is worth it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from veri.signals.timeexpr import DateMention, find_dates

__all__ = ["Fact", "MessageSignals", "extract_message", "topics_of"]

TOPICS: dict[str, tuple[str, ...]] = {
    "fitness": (
        "fitness",
        "workout",
        "gym",
        "training",
        "bands",
        "exercise",
        "running",
        "yoga",
        "protein",
        "jump rope",
    ),
    "beauty": ("beauty", "skincare", "serum", "makeup", "sunscreen", "cream", "hair"),
    "tech": ("tech", "earbuds", "keyboard", "laptop", "phone", "gadget", "lamp", "app"),
    "food": ("food", "recipe", "meal", "cooking", "sauce", "coffee", "cold brew", "snack"),
    "travel": ("travel", "trip", "suitcase", "flight", "hotel", "esim", "packing"),
    "gaming": ("gaming", "game", "controller", "headset", "stream", "console"),
    "fashion": ("fashion", "outfit", "sneakers", "denim", "shirt", "style", "clothing"),
    "finance": ("finance", "budgeting", "savings", "investing", "money tips"),
    "parenting": ("parenting", "baby", "stroller", "kids", "toddler", "family"),
    "wellness": ("wellness", "meditation", "sleep", "tea", "mindfulness", "self-care"),
}
_TOPIC_PATTERNS = {
    topic: re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")s?\b", re.IGNORECASE)
    for topic, words in TOPICS.items()
}
PLATFORMS = {
    "tiktok": "tiktok",
    "youtube": "youtube",
    "instagram": "instagram",
    "reel": "instagram",
    "twitch": "twitch",
}
_PLATFORM = re.compile(r"\b(tiktok|youtube|instagram|reels?|twitch)s?\b", re.IGNORECASE)

_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}
_MONEY = re.compile(
    r"(?P<cur>[$€£])\s?(?P<amount>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?(?P<k>k\b)?"
    r"|(?P<amount2>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?(?:(?P<k2>k)\b|\s?(?P<word>dollars|usd|euros?|eur|bucks)\b)",
    re.IGNORECASE,
)
_DELIVERABLE = re.compile(
    r"\b(?P<count>\d+|a|an|one|two|three|four|five|six|ten)\s+(?:(?:more|short|long|dedicated|sponsored|summer)\s+)*"
    r"(?P<what>videos?|tiktoks?|reels?|stories|story|posts?|shorts?|carousels?|integrations?)\b",
    re.IGNORECASE,
)
_MOVE = re.compile(
    r"\b(?:moving|relocating|moved|relocated|move)\s+to\s+(?P<place>[A-Z][\w'-]+(?:\s[A-Z][\w'-]+)?)"
    r"|\b(?:settled|based|living|live|now)\s+in\s+(?P<place2>[A-Z][\w'-]+(?:\s[A-Z][\w'-]+)?)"
)
_PREFERENCE = re.compile(
    r"[^.!?]*\b(?:I prefer|I don't do|I do not do|I never|I always|I only|I like having|I work best|I'll keep)\b"
    r"[^.!?]*[.!?]?",
    re.IGNORECASE,
)
_RHYTHM = re.compile(
    r"\b(?:(?P<count>\d+|one|two|three|four|five|six)\s+(?:times\s+)?(?:a|per)\s+week|every\s+(?P<day>day|week|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b",
    re.IGNORECASE,
)
_AUDIENCE = re.compile(
    r"[^.!?]*\b(?:audience|followers|viewers)\b[^.!?]*\b(?:mostly|percent|aged|are)\b[^.!?]*", re.IGNORECASE
)
_LIFE = re.compile(
    r"\b(?:moving|relocating|taking a break|offline|hiatus|pause|raising my prices|rates go up|shifting"
    r"|focus more on)\b",
    re.IGNORECASE,
)

_CUES = {
    "rate": re.compile(
        r"\b(?:I (?:usually |normally |typically )?charge|my (?:usual )?(?:rate|price|fee)|I ask for|I quote)\b", re.I
    ),
    "budget": re.compile(r"\b(?:budget|we (?:can )?(?:offer|pay)|in total|overall|worth)\b", re.I),
    "fee": re.compile(r"\b(?:deal|agreed|works for us|accept|let's do|we can do)\b", re.I),
    "deadline": re.compile(r"\b(?:by|due|deliver|deadline|live by|ready by|launch)\b", re.I),
    "draft_date": re.compile(r"\b(?:draft|first cut)\b", re.I),
    "publish_date": re.compile(r"\b(?:publish(?:ed|ing)?|goes live|is live|went live|scheduled for|posted)\b", re.I),
}


@dataclass(frozen=True)
class Fact:
    """One thing a message states: `name` is what it is about, `value` what it says of it."""

    name: str
    value: str
    # The day from which it holds in the world, when the message says ("moving ... in May").
    valid_from: date | None = None


@dataclass
class MessageSignals:
    facts: list[Fact] = field(default_factory=list)
    amounts_cents: list[int] = field(default_factory=list)
    dates: list[DateMention] = field(default_factory=list)
    deliverables: dict[str, int] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    sentiment: float = 0.0
    life_event: bool = False

    @property
    def importance(self) -> float:
        """How much a message is worth remembering: facts, money, dates and life events."""
        score = 0.25 + 0.1 * min(len(self.facts), 3) + 0.1 * bool(self.amounts_cents) + 0.05 * bool(self.dates)
        score += 0.25 * self.life_event + 0.1 * abs(self.sentiment)
        return round(min(score, 1.0), 3)


@cache
def _sentiment() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def topics_of(text: str) -> list[str]:
    return [topic for topic, pattern in _TOPIC_PATTERNS.items() if pattern.search(text)]


# A bare number is money only in a sentence about money, and not when a unit follows it.
_MONEY_CUE = re.compile(r"\b(?:charge|rate|budget|pay|paid|fee|price|cost|worth|invoice|offer)\b", re.IGNORECASE)
_BARE = re.compile(
    r"(?<![\w.,$€£-])(\d{1,3}(?:,\d{3})+|\d{2,7})(?![\w.,]*\s*(?:%|percent|views|sales|orders|videos?|posts?|"
    r"tiktoks?|reels?|followers|subscribers|times|days?|weeks?|months?|years?|hours?|minutes?|a week|per"
    r"|st|nd|rd|th)\b)"
    r"(?![\d,]*\s*(?:am|pm)\b)",
    re.IGNORECASE,
)


def _amounts(text: str) -> list[int]:
    found = []
    for match in _MONEY.finditer(text):
        raw = (match.group("amount") or match.group("amount2")).replace(",", "")
        value = float(raw) * (1000 if (match.group("k") or match.group("k2")) else 1)
        if value > 0:
            found.append(round(value * 100))
    if not found and _MONEY_CUE.search(text):
        dates = {m.start() for m in re.finditer(r"\b\d{1,2}\b", text)} if _MENTIONS_MONTH.search(text) else set()
        for match in _BARE.finditer(text):
            if match.start() not in dates and not _YEAR.fullmatch(match.group(1)):
                found.append(int(match.group(1).replace(",", "")) * 100)
    return found


_MENTIONS_MONTH = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d", re.IGNORECASE)
_YEAR = re.compile(r"20\d\d")


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS.get(word.lower(), 1)


def extract_message(text: str, *, written_on: date, by_creator: bool) -> MessageSignals:
    """The signals of one message, `by_creator` when the creator wrote it (their own rate,
    place and preferences are facts about them; a brand's are offers)."""
    signals = MessageSignals()
    signals.amounts_cents = _amounts(text)
    signals.dates = find_dates(text, written_on)
    for match in _DELIVERABLE.finditer(text):
        what = match.group("what").lower().rstrip("s").replace("storie", "story")
        signals.deliverables[what] = signals.deliverables.get(what, 0) + _count(match.group("count"))
    signals.platforms = sorted({PLATFORMS[m.group(1).lower().rstrip("s")] for m in _PLATFORM.finditer(text)})
    signals.topics = topics_of(text)
    signals.sentiment = round(_sentiment().polarity_scores(text)["compound"], 3)
    signals.life_event = bool(_LIFE.search(text))
    signals.facts = _facts(text, signals, by_creator=by_creator)
    return signals


def _facts(text: str, signals: MessageSignals, *, by_creator: bool) -> list[Fact]:
    facts: list[Fact] = []
    amount = signals.amounts_cents[0] if signals.amounts_cents else None
    if amount is not None:
        if by_creator and _CUES["rate"].search(text):
            facts.append(Fact("rate", _dollars(amount)))
        elif not by_creator and _CUES["budget"].search(text):
            facts.append(Fact("budget", _dollars(amount)))
        elif _CUES["fee"].search(text):
            facts.append(Fact("fee", _dollars(amount)))
    day = next((d for d in signals.dates if d.precision == "day"), None)
    if day is not None:
        for name in ("draft_date", "publish_date", "deadline"):
            if _CUES[name].search(text):
                facts.append(Fact(name, day.day.isoformat()))
                break
    if not by_creator:
        return facts
    move = _MOVE.search(text)
    if move:
        place = move.group("place") or move.group("place2")
        when = next((d.day for d in signals.dates), None)
        facts.append(Fact("location", place, valid_from=when))
    for sentence in _PREFERENCE.findall(text):
        facts.append(Fact("preference", sentence.strip()))
    rhythm = _RHYTHM.search(text)
    if rhythm and signals.platforms:
        facts.append(Fact("posting_rhythm", f"{rhythm.group(0)} on {', '.join(signals.platforms)}"))
    audience = _AUDIENCE.search(text)
    if audience:
        facts.append(Fact("audience", audience.group(0).strip()))
    return facts


def _dollars(cents: int) -> str:
    return f"${cents / 100:,.0f}"
