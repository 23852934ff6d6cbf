"""The decay curve as a function of values, and the store's UPDATE that applies it agreeing with it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.factories import conversation, form_memories, memories, put
from veri.db.engine import Database
from veri.memory import store
from veri.memory.decay import ARCHIVE_BELOW, HALF_LIFE_DAYS, STRENGTH_STEP, DecayResult, status_after, strength
from veri.memory.drafts import content_hash
from veri.memory.service import run_decay
from veri.models.memory import Memory, MemoryStatus, MemoryType

ages = st.floats(min_value=0, max_value=5000, allow_nan=False)
uses = st.integers(min_value=0, max_value=10_000)
importance = st.floats(min_value=0, max_value=1, allow_nan=False)
later = st.floats(min_value=0, max_value=5000, allow_nan=False)


@given(ages, uses, importance)
def test_strength_is_between_zero_and_one(age: float, used: int, weight: float) -> None:
    assert 0 <= strength(age, used, weight) <= 1


@given(ages, later, uses, importance)
def test_strength_does_not_grow_with_age(age: float, more: float, used: int, weight: float) -> None:
    assert strength(age + more, used, weight) <= strength(age, used, weight)


@given(ages, uses, st.integers(min_value=0, max_value=1000), importance)
def test_strength_does_not_fall_with_use(age: float, used: int, more: int, weight: float) -> None:
    assert strength(age, used + more, weight) >= strength(age, used, weight)


@given(ages, uses, importance, st.floats(min_value=0, max_value=1, allow_nan=False))
def test_strength_does_not_fall_with_importance(age: float, used: int, weight: float, share: float) -> None:
    assert strength(age, used, weight + (1 - weight) * share) >= strength(age, used, weight)


def test_the_half_life_grows_with_importance() -> None:
    assert strength(0, 0, 0.5) == 1.0
    assert strength(HALF_LIFE_DAYS, 0, 0.5) == pytest.approx(0.5)
    # The most important fade at two thirds of the pace: half of their 1.5 after 1.5 half-lives.
    assert strength(1.5 * HALF_LIFE_DAYS, 0, 1.0) == pytest.approx(0.75)
    assert strength(400, 0, 0.3) < ARCHIVE_BELOW


def test_weak_memories_are_archived_and_used_ones_revived() -> None:
    assert status_after(ARCHIVE_BELOW / 2, MemoryStatus.ACTIVE) is MemoryStatus.ARCHIVED
    assert status_after(0.5, MemoryStatus.ARCHIVED) is MemoryStatus.ACTIVE
    assert status_after(0.5, MemoryStatus.ACTIVE) is MemoryStatus.ACTIVE
    assert DecayResult.of(["active", "archived", "archived"]) == DecayResult(updated=3, archived=2)


def test_the_stores_update_agrees_with_the_curve(clean_db: Database) -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    cases = [
        # (days since recorded, days since last used or None, uses, importance, status)
        (0.0, None, 0, 0.5, MemoryStatus.ACTIVE),
        (10.0, None, 0, 0.2, MemoryStatus.ACTIVE),
        (90.0, 3.0, 4, 0.7, MemoryStatus.ACTIVE),
        (400.0, None, 0, 0.3, MemoryStatus.ACTIVE),
        (400.0, 1.0, 12, 0.9, MemoryStatus.ARCHIVED),
        (200.0, 150.0, 1, 0.0, MemoryStatus.ARCHIVED),
        (30.0, None, 0, 0.5, MemoryStatus.SUPERSEDED),
    ]
    with clean_db.sessions() as db:
        rows: list[Memory] = []
        for recorded, used_ago, used, weight, status in cases:
            memory = Memory(
                id=uuid.uuid4(),
                type=MemoryType.BRAND_INTERACTION,
                kind="observation",
                key=f"decay:{len(rows)}",
                text="decay",
                search_text="decay",
                context_text="",
                attributes={},
                content_hash=content_hash(f"decay {len(rows)}"),
                importance=weight,
                strength=1.0,
                source_event_ids=[uuid.uuid4()],
                valid_from=now - timedelta(days=recorded),
                recorded_at=now - timedelta(days=recorded),
                last_accessed_at=now - timedelta(days=used_ago) if used_ago is not None else None,
                access_count=used,
                status=status,
            )
            db.add(memory)
            rows.append(memory)
        db.flush()
        result, _ = store.decay_memories(db, now=now)
        db.expire_all()
        current = [(m, c) for m, c in zip(rows, cases, strict=True) if c[4] is not MemoryStatus.SUPERSEDED]
        moved = [
            (m, c)
            for m, c in current
            if abs(m.strength - 1.0) >= STRENGTH_STEP or m.status is not c[4]  # all stored at 1.0
        ]
        assert 0 < len(moved) < len(current)  # the one recorded just now is still at full strength
        assert result == DecayResult(
            updated=len(moved),
            archived=sum(1 for m, _ in moved if m.status is MemoryStatus.ARCHIVED),
        )
        for memory, (recorded, used_ago, used, weight, status) in current:
            expected = strength(used_ago if used_ago is not None else recorded, used, weight)
            assert memory.strength == pytest.approx(expected, rel=1e-9, abs=1e-12)
            assert memory.status is status_after(expected, status)
        superseded = rows[-1]
        assert (superseded.strength, superseded.status) == (1.0, MemoryStatus.SUPERSEDED)
        assert {m.status for m, _ in current} == {MemoryStatus.ACTIVE, MemoryStatus.ARCHIVED}


def test_decay_rewrites_only_the_memories_it_moves(clean_db: Database) -> None:
    creator = uuid.uuid4()
    put(clean_db, conversation(creator))
    form_memories(clean_db)
    later = datetime.now(UTC) + timedelta(days=20)
    first = run_decay(clean_db, now=later)
    assert first.updated == len(memories(clean_db)) > 0  # formed at full strength, 20 days unused

    assert run_decay(clean_db, now=later).updated == 0
    assert run_decay(clean_db, now=later + timedelta(minutes=5)).updated == 0  # the worker's interval
    assert run_decay(clean_db, now=later + timedelta(days=3)).updated == first.updated
