"""Retrieval's arithmetic without a database: BM25 over tsvector text, reciprocal rank fusion, the
reweighting and the time window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from veri.memory.ranking import (
    TIME_BOOST,
    bm25,
    candidate_lexemes,
    fuse,
    idf,
    in_window,
    recency,
    reciprocal_rank,
    reweight,
    reweight_bounds,
    term_counts,
)
from veri.signals.timeexpr import TimeWindow, query_window

lexemes = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
frequencies = st.floats(min_value=0.5, max_value=20, allow_nan=False)
documents = st.dictionaries(lexemes, frequencies, min_size=1, max_size=12)
unit = st.floats(min_value=0, max_value=1, allow_nan=False)
fused_scores = st.floats(min_value=1e-4, max_value=1, allow_nan=False)


def test_term_counts_read_weights_and_quotes_of_a_tsvector() -> None:
    counts = term_counts("'budget':3A,9D 'it''s':2A 'peakform':5D 'video'")
    assert counts == {"budget": 1.5, "it's": 1.0, "peakform": 0.5, "video": 0.5}
    assert term_counts("") == {}


@given(st.integers(min_value=1, max_value=10**6), st.data())
def test_rarer_lexemes_weigh_more(total: int, data: st.DataObject) -> None:
    rare = data.draw(st.integers(min_value=0, max_value=total - 1))
    common = data.draw(st.integers(min_value=rare + 1, max_value=total))
    assert idf(total, rare) > idf(total, common) >= 0


@given(documents, st.dictionaries(lexemes, st.floats(min_value=0, max_value=15), max_size=6), frequencies)
def test_bm25_is_not_negative(counts: dict[str, float], idfs: dict[str, float], average: float) -> None:
    assert bm25(counts, idfs, average) >= 0


@given(documents, st.floats(min_value=0.01, max_value=15), frequencies, st.floats(min_value=0, max_value=20))
def test_bm25_grows_with_term_frequency(counts: dict[str, float], weight: float, average: float, more: float) -> None:
    lexeme = next(iter(counts))
    idfs = {lexeme: weight}
    richer = {**counts, lexeme: counts[lexeme] + more}
    assert bm25(richer, idfs, average) >= bm25(counts, idfs, average)


@given(documents, frequencies, st.floats(min_value=0.01, max_value=10), st.floats(min_value=0.01, max_value=10))
def test_bm25_weighs_a_rarer_lexeme_more(counts: dict[str, float], average: float, low: float, extra: float) -> None:
    lexeme = next(iter(counts))
    assert bm25(counts, {lexeme: low + extra}, average) > bm25(counts, {lexeme: low}, average)


def test_bm25_counts_only_the_questions_lexemes() -> None:
    counts = {"budget": 1.0, "video": 2.0}
    assert bm25(counts, {"zebra": 3.0}, 5.0) == 0
    assert bm25(counts, {"budget": 1.0, "zebra": 3.0}, 5.0) == bm25(counts, {"budget": 1.0}, 5.0)


@given(st.dictionaries(lexemes, st.integers(min_value=0, max_value=10_000), min_size=1), st.integers(1, 20_000))
def test_candidates_come_from_the_rarest_lexemes_within_the_budget(frequencies: dict[str, int], budget: int) -> None:
    picked = candidate_lexemes(frequencies, budget)
    found = {lexeme: df for lexeme, df in frequencies.items() if df}
    assert set(picked) <= set(found)
    assert bool(picked) == bool(found)  # the rarest lexeme found at all is always picked
    assert [frequencies[p] for p in picked] == sorted(frequencies[p] for p in picked)
    if picked:
        assert frequencies[picked[0]] == min(found.values())
        assert len(picked) == 1 or sum(frequencies[p] for p in picked) <= budget


@given(st.integers(1, 1000), st.integers(1, 1000))
def test_reciprocal_rank_fusion_favours_better_ranks(better: int, worse: int) -> None:
    assume(better < worse)
    assert reciprocal_rank(better, None) > reciprocal_rank(worse, None)
    assert reciprocal_rank(None, better) > reciprocal_rank(None, worse)
    # Found by both channels beats found by one at the same rank.
    assert reciprocal_rank(better, worse) > reciprocal_rank(better, None)
    assert reciprocal_rank(None, None) == 0


def test_fuse_keeps_each_channels_rank() -> None:
    fused = fuse([("a", 9.0), ("b", 4.0)], [("b", 0.1), ("c", 0.3)])
    assert fused == {
        "a": {"bm25": 9.0, "lexical_rank": 1},
        "b": {"bm25": 4.0, "lexical_rank": 2, "vector_distance": 0.1, "vector_rank": 1},
        "c": {"vector_distance": 0.3, "vector_rank": 2},
    }


@given(fused_scores, unit, st.floats(min_value=0, max_value=10_000), unit, st.booleans())
def test_reweighting_stays_within_its_bounds(
    rrf: float, importance: float, age: float, strength: float, window: bool
) -> None:
    low, high = reweight_bounds()
    factor = reweight(rrf, importance=importance, age_days=age, strength=strength, in_window=window).score / rrf
    assert low - 1e-9 <= factor <= high + 1e-9


@given(
    fused_scores, fused_scores, st.tuples(unit, unit, unit, st.booleans()), st.tuples(unit, unit, unit, st.booleans())
)
def test_reweighting_never_overturns_a_lead_larger_than_its_bounds(
    a: float, b: float, one: tuple[float, float, float, bool], other: tuple[float, float, float, bool]
) -> None:
    low, high = reweight_bounds()
    assume(a * low > b * high * (1 + 1e-9))

    def scored(rrf: float, parts: tuple[float, float, float, bool]) -> float:
        importance, fresh, strength, window = parts
        age = 365.0 * (1 - fresh) * 10
        return reweight(rrf, importance=importance, age_days=age, strength=strength, in_window=window).score

    assert scored(a, one) > scored(b, other)


@given(fused_scores, unit, unit, st.floats(min_value=0, max_value=3650), st.floats(min_value=0, max_value=3650))
def test_more_important_stronger_and_newer_rank_higher(
    rrf: float, importance: float, strength: float, age: float, older: float
) -> None:
    def score(weight: float = importance, days: float = age, kept: float = strength, window: bool = False) -> float:
        return reweight(rrf, importance=weight, age_days=days, strength=kept, in_window=window).score

    base = score()
    assert score(weight=1.0) >= base and score(kept=1.0) >= base
    assert score(days=age + older) <= base
    assert score(window=True) == pytest.approx(base * TIME_BOOST)
    assert recency(age) >= recency(age + older)


def test_a_memory_mentioning_a_day_in_the_window_is_in_it() -> None:
    window = TimeWindow(datetime(2023, 5, 1, tzinfo=UTC), datetime(2023, 6, 1, tzinfo=UTC))
    before = datetime(2023, 3, 1, tzinfo=UTC)
    # Formation stores mentions as days ("2023-05-08"): without a zone, read as UTC (this raised
    # "can't compare offset-naive and offset-aware datetimes").
    assert in_window(window, before, ["2023-05-08"])
    assert in_window(window, before, ["2023-05-08T10:00:00+02:00"])
    assert not in_window(window, before, ["2023-04-30", "2023-06-01"])
    assert not in_window(window, before, [None, 20230508])
    assert in_window(window, datetime(2023, 5, 31, 23, 59, tzinfo=UTC))
    assert not in_window(window, before)


def test_the_window_a_question_names_works_on_mentions() -> None:
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    last_week = query_window("what happened last week", now)
    assert last_week is not None
    long_ago = now - timedelta(days=90)
    assert in_window(last_week, long_ago, [(now - timedelta(days=7)).date().isoformat()])
    in_may = query_window("what did they say in May", now)
    assert in_may is not None
    assert in_window(in_may, long_ago, ["2025-05-08"])
    assert not in_window(in_may, long_ago, ["2025-06-08"])
