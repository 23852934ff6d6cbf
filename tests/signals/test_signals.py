"""Signal extraction: pure functions, checked on the phrasings the simulator and people use."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from veri.signals.messages import extract_message, topics_of
from veri.signals.timeexpr import find_dates, query_window

WRITTEN = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("text", "by_creator", "amounts", "facts"),
    [
        ("I usually charge 1,500 for a dedicated YouTube video.", True, [150_000], {"rate": "$1,500"}),
        ("Our budget for a first sponsored video is 1,200 dollars.", False, [120_000], {"budget": "$1,200"}),
        ("We want three videos, 4k in total.", False, [400_000], {"budget": "$4,000"}),
        ("Sounds fair, let's do $150.", True, [15_000], {"fee": "$150"}),
        ("My audience is mostly women 25 to 34, about 60 percent.", True, [], {"audience": None}),
        ("I post 3 times a week on TikTok.", True, [], {"posting_rhythm": "3 times a week on tiktok"}),
        ("The video drove 120 sales and 4,000 views.", False, [], {}),
        ("Can you deliver by March 20?", False, [], {"deadline": "2026-03-20"}),
        ("I'll send a draft on the 16th of March.", True, [], {"draft_date": "2026-03-16"}),
        ("I'm moving to Lisbon in May.", True, [], {"location": "Lisbon"}),
        ("I'm moving to Lisbon in May.", False, [], {}),  # a brand's words are not the creator's facts
        ("I prefer to post on Sundays, that's when my audience is active.", True, [], {"preference": None}),
    ],
)
def test_message_facts(text: str, by_creator: bool, amounts: list[int], facts: dict[str, str | None]) -> None:
    signals = extract_message(text, written_on=WRITTEN, by_creator=by_creator)
    assert signals.amounts_cents == amounts
    found = {f.name: f.value for f in signals.facts}
    assert found.keys() == facts.keys()
    for name, value in facts.items():
        if value is not None:
            assert found[name] == value


def test_dates_without_a_year_read_forward_from_when_they_were_written() -> None:
    late_in_year = date(2026, 11, 20)
    assert [m.day for m in find_dates("due January 5, draft on Dec 30", late_in_year)] == [
        date(2027, 1, 5),
        date(2026, 12, 30),
    ]
    assert find_dates("published 2026-06-25", late_in_year)[0].day == date(2026, 6, 25)
    (month,) = find_dates("I'm moving to Lisbon in May", WRITTEN)
    assert (month.day, month.precision) == (date(2026, 5, 1), "month")
    assert find_dates("3 videos for 4,000", WRITTEN) == []
    assert find_dates("February 30", WRITTEN)[0].day == date(2026, 2, 28)  # clamped, not a crash


def test_question_time_windows() -> None:
    now = datetime(2026, 11, 27, 15, tzinfo=UTC)
    may = query_window("Why was filming paused in May?", now)
    assert may is not None and may.contains(datetime(2025, 5, 9, tzinfo=UTC)) and may.contains(date(2026, 5, 31))
    assert not may.contains(datetime(2026, 6, 1, tzinfo=UTC))
    last_week = query_window("what did brands say last week", now)
    assert last_week is not None and (last_week.start.date(), last_week.end.date()) == (
        date(2026, 11, 16),
        date(2026, 11, 23),
    )
    day = query_window("what happened on March 16, 2026?", now)
    assert day is not None and day.contains(datetime(2026, 3, 16, 12, tzinfo=UTC))
    assert not day.contains(datetime(2026, 3, 17, tzinfo=UTC))
    assert query_window("what rate did she quote?", now) is None


def test_sentiment_topics_and_odd_input() -> None:
    happy = extract_message("Love it, amazing results!", written_on=WRITTEN, by_creator=True)
    sad = extract_message("This is terrible, very disappointed.", written_on=WRITTEN, by_creator=True)
    assert happy.sentiment > 0.5 > -0.5 > sad.sentiment
    assert topics_of("Home workout with resistance bands and protein bars") == ["fitness"]
    for odd in ["", "🔥" * 500, "<script>alert(1)</script>", "'; DROP TABLE x; --", "x" * 20_000]:
        signals = extract_message(odd, written_on=WRITTEN, by_creator=True)
        assert 0 <= signals.importance <= 1
