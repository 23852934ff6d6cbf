"""The time a question names, read as a window to search first."""

from __future__ import annotations

from datetime import date

import pytest

from veri.agent.when import window

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("question", "today", "expected"),
    [
        ("What rate did I quote Peakform last spring?", TODAY, ("2026-03-01", "2026-06-01")),
        ("what did I say last spring", date(2026, 4, 10), ("2025-03-01", "2025-06-01")),  # this one is not over
        ("Deals this winter?", TODAY, ("2026-12-01", "2027-03-01")),
        ("What did I earn last month?", TODAY, ("2026-11-01", "2026-12-01")),
        ("Who wrote in April?", TODAY, ("2026-04-01", "2026-05-01")),
        ("Who wrote in December?", date(2026, 6, 1), ("2025-12-01", "2026-01-01")),  # the latest December
        ("what happened in May 2025", TODAY, ("2025-05-01", "2025-06-01")),
        ("during the summer of 2025", TODAY, ("2025-06-01", "2025-09-01")),
        ("Views over the last 7 days", TODAY, ("2026-11-27", "2026-12-04")),
        ("last week", TODAY, ("2026-11-23", "2026-11-30")),
        ("How much this year?", TODAY, ("2026-01-01", "2026-12-04")),
        ("Any deals in 2025?", TODAY, ("2025-01-01", "2026-01-01")),
    ],
)
def test_a_named_time_is_a_window(question: str, today: date, expected: tuple[str, str]) -> None:
    found = window(question, today)
    assert found is not None and (found[0].date().isoformat(), found[1].date().isoformat()) == expected


@pytest.mark.parametrize(
    "question", ["I may be late with the draft", "What is my rate?", "", "🙂" * 50, "What did I say in April 0000?"]
)
def test_no_time_named_is_no_window(question: str) -> None:
    assert window(question, TODAY) is None
