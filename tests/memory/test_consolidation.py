"""Consolidation's rules without a database: what each kind of draft does given the memories it
may join."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from veri.memory.consolidation import Action, Applied, Consolidator, latest_metrics
from veri.memory.drafts import Draft
from veri.models.memory import Memory, MemoryStatus, MemoryType

START = datetime(2026, 3, 2, 10, tzinfo=UTC)
CREATOR = uuid.uuid4()


def clock() -> Iterator[datetime]:
    moment = datetime(2026, 6, 1, tzinfo=UTC)
    while True:
        moment += timedelta(seconds=1)
        yield moment


def consolidator(*joinable: Memory, cited: list[tuple[str, str, str, uuid.UUID]] | None = None) -> Consolidator:
    ticks = clock()
    return Consolidator(joinable, cited or [], clock=lambda: next(ticks))


def draft(
    text: str, *, kind: str = "observation", key: str = "message:1", at: datetime = START, **fields: Any
) -> Draft:
    memory_type = {
        "observation": MemoryType.BRAND_INTERACTION,
        "fact": MemoryType.CREATOR_ENTITY,
        "state": MemoryType.CONTENT_KNOWLEDGE,
        "metrics": MemoryType.CONTENT_KNOWLEDGE,
        "insight": MemoryType.CAMPAIGN_EPISODIC,
    }[kind]
    fields.setdefault("sources", [uuid.uuid4()])
    return Draft(memory_type, key=key, text=text, valid_from=at, creator_id=CREATOR, kind=kind, **fields)


def fact(value: str, at: datetime) -> Draft:
    return draft(
        f"Maya lives in {value}",
        kind="fact",
        key="fact:location",
        at=at,
        value=value.casefold(),
        attributes={"fact": "location", "value": value},
    )


def stored(d: Draft) -> Memory:
    """A draft as it would have been written by an earlier batch."""
    (memory,) = consolidator().consolidate([d]).created
    return memory


def test_the_same_observation_twice_is_one_memory_citing_both() -> None:
    first, again = draft("Maya: the budget is $1,200"), draft("Maya:  the BUDGET is $1,200", importance=0.9)
    result = consolidator().consolidate([first, again])
    (memory,) = result.created
    assert result.merged == 1
    assert memory.source_event_ids == [*first.sources, *again.sources]
    assert memory.importance == 0.9
    # About someone else, the same words are another memory.
    other = draft("Maya: the budget is $1,200")
    other.creator_id = uuid.uuid4()
    assert len(consolidator(memory).consolidate([other]).created) == 1


def test_an_event_already_cited_is_not_applied_again() -> None:
    d = draft("Maya: hello")
    cited = [(d.type.value, d.key, "observation", s) for s in d.sources]
    assert consolidator(cited=cited).decide(d) == consolidator(cited=cited).decide(d)
    result = consolidator(cited=cited).consolidate([d, d])
    assert (result.created, result.skipped) == ([], 2)
    # Within a batch too: the second of two identical drafts is skipped, not merged.
    result = consolidator().consolidate([d, d])
    assert (len(result.created), result.merged, result.skipped) == (1, 0, 1)


def test_a_new_value_of_a_fact_supersedes_the_current_one() -> None:
    porto = stored(fact("Porto", START))
    lisbon_draft = fact("Lisbon", START + timedelta(days=30))
    result = consolidator(porto).consolidate([lisbon_draft])
    (lisbon,) = result.created
    assert result.superseded == 1
    assert porto.valid_to == lisbon.valid_from and porto.superseded_by == lisbon.id
    assert porto.superseded_at is not None
    assert porto.status is MemoryStatus.SUPERSEDED and lisbon.status is MemoryStatus.ACTIVE


def test_the_same_value_of_a_fact_merges() -> None:
    porto = stored(fact("Porto", START))
    again = fact("porto", START + timedelta(days=3))
    assert consolidator(porto).decide(again).action is Action.MERGE
    assert porto.status is MemoryStatus.ACTIVE and porto.valid_to is None
    assert again.sources[0] in porto.source_event_ids


def test_an_older_value_arriving_late_is_recorded_as_already_closed() -> None:
    lisbon = stored(fact("Lisbon", START + timedelta(days=30)))
    decision = consolidator(lisbon).decide(fact("Porto", START))
    assert decision.action is Action.CREATE and decision.memory is not None
    assert decision.memory.status is MemoryStatus.SUPERSEDED
    assert decision.memory.valid_to == lisbon.valid_from
    assert lisbon.status is MemoryStatus.ACTIVE


def test_a_post_is_created_once_and_updated_by_its_latest_metrics() -> None:
    post = draft("Maya published a tiktok video", kind="state", key="content:1", attributes={"platform": "tiktok"})

    def metrics(at: datetime, rate: float) -> Draft:
        return draft(
            "",
            kind="metrics",
            key="content:1",
            at=at,
            attributes={"views": 100, "engagement_rate": rate, "captured_at": at.isoformat()},
        )

    early, late = metrics(START + timedelta(days=1), 0.02), metrics(START + timedelta(days=2), 0.07)
    assert latest_metrics([late, early]) == [late]
    batch = consolidator()
    result = batch.consolidate([post, early, late])
    (memory,) = result.created
    assert batch.unknown_posts([late]) == []
    (decision,) = batch.apply_metrics([late])
    assert decision.action is Action.UPDATE
    assert memory.attributes["engagement_rate"] == 0.07 and memory.importance == 0.65
    # Older than what the post has, or about a post never seen: skipped.
    assert batch.apply_metrics([early])[0].action is Action.SKIP
    stray = draft("", kind="metrics", key="content:2", attributes={"captured_at": START.isoformat()})
    assert batch.unknown_posts([stray]) == ["content:2"]
    assert batch.apply_metrics([stray])[0].action is Action.SKIP


def test_a_post_from_an_earlier_batch_is_updated_in_place() -> None:
    post = stored(draft("Maya published", kind="state", key="content:1", attributes={"platform": "tiktok"}))
    again = draft("Maya published", kind="state", key="content:1", attributes={"platform": "x", "hour": 9})
    decision = consolidator(post).decide(again)
    assert decision.action is Action.UPDATE and decision.memory is post
    assert post.attributes == {"platform": "tiktok", "hour": 9}  # what it had wins


def test_a_new_insight_supersedes_the_old_and_the_same_one_merges() -> None:
    old = stored(draft("Campaigns returned 2.0x", kind="insight", key="insight:roi:all"))
    same = consolidator(old).decide(draft("Campaigns returned 2.0x", kind="insight", key="insight:roi:all"))
    assert same.action is Action.MERGE
    newer = consolidator(old).decide(draft("Campaigns returned 3.1x", kind="insight", key="insight:roi:all"))
    assert newer.action is Action.SUPERSEDE and newer.memory is not None
    assert old.superseded_by == newer.memory.id and old.status is MemoryStatus.SUPERSEDED


def test_applied_counts_each_decision() -> None:
    porto = stored(fact("Porto", START))
    result = consolidator(porto).consolidate(
        [fact("Lisbon", START + timedelta(days=1)), draft("a"), draft("a"), fact("Lisbon", START + timedelta(days=2))]
    )
    assert (len(result.created), result.superseded, result.merged, result.skipped) == (2, 1, 2, 0)
    assert Applied().created == []


@given(
    st.lists(
        st.tuples(st.sampled_from(["observation", "fact", "insight", "state"]), st.sampled_from(["a", "b"])),
        max_size=12,
    )
)
def test_the_consolidators_state_is_made_in_init_only(steps: list[tuple[str, str]]) -> None:
    batch = consolidator()
    before = set(vars(batch))
    drafts = [
        draft(text, kind=kind, key=f"{kind}:{text}", value=text if kind == "fact" else None) for kind, text in steps
    ]
    result = batch.consolidate(drafts)
    assert set(vars(batch)) == before
    # Every active memory it made is one a later draft can join.
    for memory in result.created:
        if memory.status is MemoryStatus.ACTIVE:
            assert memory in batch.twins.values() or memory in batch.current.values()
