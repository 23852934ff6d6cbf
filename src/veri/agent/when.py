"""The time a question names ("last spring", "in April", "last month"), as a window to search.

Relative to the day the question is asked. Seasons are the northern meteorological ones (spring
is March to May). A window is a preference, not a filter: when nothing in it matches, the agent
searches without it (service._plan_step), so a misread phrase costs a search, never an answer.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

__all__ = ["Window", "window"]

Window = tuple[datetime, datetime]  # [since, until)

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}  # first month of each

_SEASON = re.compile(r"\b(last|this|past)\s+(spring|summer|autumn|fall|winter)\b", re.I)
_IN_SEASON = re.compile(r"\b(?:in|during)\s+(?:the\s+)?(spring|summer|autumn|fall|winter)(?:\s+of)?\s+(\d{4})\b", re.I)
_MONTH = re.compile(
    r"\b(?:in|during|since|from|last|this)\s+(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b"
    r"(?:\s+(\d{4}))?",
    re.I,
)
_RELATIVE = re.compile(r"\b(last|this|past)\s+(week|month|year|quarter)\b", re.I)
_YEAR = re.compile(r"\b(?:in|during)\s+(20\d{2})\b")
_DAYS = re.compile(r"\b(?:last|past)\s+(\d{1,3})\s+days\b", re.I)


def window(question: str, today: date) -> Window | None:
    """The window of the first kind of time phrase found (seasons, then months, relative
    periods, years, "last N days"), or None when the question names none."""
    for find in (_season, _in_season, _month, _relative, _year, _days):
        try:
            found = find(question, today)
        except ValueError:  # "in April 0000": no such day, so no window
            continue
        if found is not None:
            start, end = found
            return _at(start), _at(end)
    return None


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _season_start(first_month: int, year: int) -> date:
    return date(year, first_month, 1)


def _season(question: str, today: date) -> tuple[date, date] | None:
    match = _SEASON.search(question)
    if match is None:
        return None
    first = _SEASONS[match.group(2).lower()]
    start = _season_start(first, today.year)
    if start > today:  # this year's has not begun: the latest one is last year's
        start = _season_start(first, today.year - 1)
    end = _add_months(start, 3)
    if match.group(1).lower() == "last" and end > today:  # still under way: "last" means the one before
        start, end = _season_start(first, start.year - 1), _add_months(_season_start(first, start.year - 1), 3)
    return start, end


def _in_season(question: str, today: date) -> tuple[date, date] | None:
    match = _IN_SEASON.search(question)
    if match is None:
        return None
    start = _season_start(_SEASONS[match.group(1).lower()], int(match.group(2)))
    return start, _add_months(start, 3)


def _month(question: str, today: date) -> tuple[date, date] | None:
    match = _MONTH.search(question)
    if match is None:
        return None
    month = _MONTHS[match.group(1).lower()]
    if match.group(1).lower() == "may" and match.group(2) is None and not re.search(r"\bin\s+may\b", question, re.I):
        return None  # "may" is mostly the verb
    year = int(match.group(2)) if match.group(2) else today.year
    start = date(year, month, 1)
    if match.group(2) is None and start > today:  # the latest such month
        start = date(year - 1, month, 1)
    return start, _add_months(start, 1)


def _relative(question: str, today: date) -> tuple[date, date] | None:
    match = _RELATIVE.search(question)
    if match is None:
        return None
    which, unit = match.group(1).lower(), match.group(2).lower()
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        return (monday - timedelta(days=7), monday) if which == "last" else (monday, today + timedelta(days=1))
    if unit == "month":
        first = today.replace(day=1)
        return (_add_months(first, -1), first) if which == "last" else (first, today + timedelta(days=1))
    if unit == "quarter":
        first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        return (_add_months(first, -3), first) if which == "last" else (first, today + timedelta(days=1))
    first = date(today.year, 1, 1)
    return (date(today.year - 1, 1, 1), first) if which == "last" else (first, today + timedelta(days=1))


def _year(question: str, today: date) -> tuple[date, date] | None:
    match = _YEAR.search(question)
    if match is None:
        return None
    year = int(match.group(1))
    return date(year, 1, 1), date(year + 1, 1, 1)


def _days(question: str, today: date) -> tuple[date, date] | None:
    match = _DAYS.search(question)
    if match is None:
        return None
    return today - timedelta(days=int(match.group(1)) - 1), today + timedelta(days=1)  # today is one of them
