"""Dates in free text: "March 20", "by the 16th of May", "in May", "2026-06-25", "last week".

Messages mention dates without a year; the year is the one that puts the date nearest after the
message was written (a deadline in "January" written in November is next January). Queries use
the same parser to narrow or boost retrieval by time ("what happened in May?").
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["DateMention", "TimeWindow", "find_dates", "query_window"]

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"

_MONTH_DAY = re.compile(rf"\b{_MONTH}\s+{_DAY}\b(?:,?\s+(?P<year>20\d\d))?", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}\b(?:,?\s+(?P<year>20\d\d))?", re.IGNORECASE)
_ISO = re.compile(r"\b(?P<year>20\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)\b")
_MONTH_ONLY = re.compile(
    rf"\b(?:in|during|since|from|until|by|of|around|early|late|mid)\s+{_MONTH}\b(?:\s+(?P<year>20\d\d))?", re.IGNORECASE
)
_RELATIVE = re.compile(
    r"\b(?P<which>last|this|next)\s+(?P<unit>week|month|year)\b|\b(?P<single>yesterday|today|tomorrow)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class DateMention:
    text: str
    day: date
    # "day" when a day of the month was named, "month" when only the month was.
    precision: str


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime
    # A question naming a month without a year ("in May") matches that month of any year.
    month: int | None = None

    def contains(self, moment: datetime | date) -> bool:
        if self.month is not None:
            return moment.month == self.month
        if not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
        return self.start <= moment < self.end


def _resolve_year(month: int, day: int, reference: date, year: str | None) -> date | None:
    day = min(day, calendar.monthrange(int(year) if year else reference.year, month)[1])
    if day < 1:
        return None
    if year:
        return date(int(year), month, day)
    candidate = date(reference.year, month, day)
    # A date more than ~4 months before the message is read as next year's.
    if candidate < reference - timedelta(days=120):
        candidate = date(reference.year + 1, month, day)
    return candidate


def find_dates(text: str, reference: date) -> list[DateMention]:
    """Every date the text names, resolved against the day it was written."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []

    def overlaps(span: tuple[int, int]) -> bool:
        return any(span[0] < end and start < span[1] for start, end in taken)

    for pattern in (_ISO, _MONTH_DAY, _DAY_MONTH):
        for match in pattern.finditer(text):
            if overlaps(match.span()):
                continue
            raw_month = match.group("month")
            month = int(raw_month) if raw_month.isdigit() else _MONTHS[raw_month.lower().rstrip(".")]
            day = int(match.group("day"))
            if not 1 <= month <= 12 or not 1 <= day <= 31:
                continue
            resolved = _resolve_year(month, day, reference, match.group("year"))
            if resolved is not None:
                taken.append(match.span())
                found.append(DateMention(match.group(0), resolved, "day"))
    for match in _MONTH_ONLY.finditer(text):
        if overlaps(match.span()):
            continue
        month = _MONTHS[match.group("month").lower().rstrip(".")]
        resolved = _resolve_year(month, 1, reference.replace(day=1), match.group("year"))
        if resolved is not None:
            taken.append(match.span())
            found.append(DateMention(match.group(0), resolved, "month"))
    return found


def query_window(query: str, now: datetime | None = None) -> TimeWindow | None:
    """The period a question asks about, if it names one: a month ("in May"), a date, or a
    relative period ("last week"). Without a year, a month is the most recent one of that name."""
    now = now or datetime.now(UTC)
    relative = _RELATIVE.search(query)
    if relative:
        today = datetime(now.year, now.month, now.day, tzinfo=UTC)
        single = (relative.group("single") or "").lower()
        if single:
            offset = {"yesterday": -1, "today": 0, "tomorrow": 1}[single]
            start = today + timedelta(days=offset)
            return TimeWindow(start, start + timedelta(days=1))
        shift = {"last": -1, "this": 0, "next": 1}[relative.group("which").lower()]
        unit = relative.group("unit").lower()
        if unit == "week":
            start = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
            return TimeWindow(start, start + timedelta(weeks=1))
        if unit == "month":
            index = now.year * 12 + now.month - 1 + shift
            start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
            end_index = index + 1
            return TimeWindow(start, datetime(end_index // 12, end_index % 12 + 1, 1, tzinfo=UTC))
        return TimeWindow(
            datetime(now.year + shift, 1, 1, tzinfo=UTC), datetime(now.year + shift + 1, 1, 1, tzinfo=UTC)
        )
    mentions = find_dates(query, now.date())
    if not mentions:
        return None
    mention = mentions[0]
    day = mention.day
    if day > now.date() and not re.search(r"20\d\d", mention.text):
        day = day.replace(year=day.year - 1)  # a question about "May" asks about the last May
    if mention.precision == "day":
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return TimeWindow(start, start + timedelta(days=1))
    start = datetime(day.year, day.month, 1, tzinfo=UTC)
    end_month = day.month % 12 + 1
    end = datetime(day.year + (day.month == 12), end_month, 1, tzinfo=UTC)
    return TimeWindow(start, end, None if re.search(r"20\d\d", mention.text) else day.month)
