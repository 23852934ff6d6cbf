"""A person's own action is formed into memory while months of history wait in their own lane."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.factories import drain, find, memories, message, put
from veri.config import get_settings
from veri.db.engine import Database
from veri.events.bus.embedded import EmbeddedLog
from veri.events.envelope import Event
from veri.events.lanes import HISTORY_AFTER, Lane, is_history
from veri.events.runtime import ConsumerLoop, RetryPolicy
from veri.events.types import AccountCreated
from veri.memory.handlers import MemoryHandler
from veri.models.memory import Memory


def _event(occurred: datetime, recorded: datetime | None) -> Event:
    payload = AccountCreated(user_id=uuid.uuid4(), role="creator", display_name="A")
    return Event(uuid.uuid4(), "account.created", 1, occurred, "user:x", "t", payload, "accounts", 0, recorded)


def test_the_lane_is_decided_by_the_event_alone() -> None:
    now = datetime.now(UTC)
    assert not is_history(_event(now, now + timedelta(seconds=2)))
    assert not is_history(_event(now - HISTORY_AFTER, now))  # exactly an hour: still live
    assert is_history(_event(now - timedelta(days=30), now))
    assert not is_history(_event(now - timedelta(days=30), None))  # not stored yet: live


def _loop(database: Database, lane: Lane) -> ConsumerLoop:
    consumer = EmbeddedLog(database, partitions=get_settings().events.event_partitions, lease_seconds=60).consumer(
        lane.group, f"test-{uuid.uuid4().hex[:6]}"
    )
    return ConsumerLoop(database, consumer, lane, batch_size=lane.batch_size, retry=RetryPolicy(2, 0.0))


def test_live_memory_forms_while_history_waits_and_each_event_is_formed_once(clean_db: Database) -> None:
    old, fresh = uuid.uuid4(), uuid.uuid4()
    months_ago = datetime.now(UTC) - timedelta(days=90)
    history = [
        message(old, f"Throwback number {i}: the spring shoot with Peakform went fine", months_ago + timedelta(hours=i))
        for i in range(120)
    ]
    put(clean_db, history)
    put(clean_db, [message(fresh, "Just signed with Lumen for a skincare reel", datetime.now(UTC), speaker="Ana")])

    handler = MemoryHandler(None)
    live, backlog = Lane(handler, history=False), Lane(handler, history=True)
    assert (live.group, backlog.group) == ("memory", "memory-history")
    drain([_loop(clean_db, live)])
    assert [m.creator_id for m in find(clean_db, "skincare reel with Lumen", creator_id=fresh)] == [fresh]
    assert not memories(clean_db, Memory.creator_id == old), "history waits in its own lane"

    drain([_loop(clean_db, backlog)])
    formed = memories(clean_db, Memory.creator_id == old)
    sources = [s for m in formed for s in m.source_event_ids]
    assert len(sources) == len(set(sources)) and {str(e["id"]) for e in history} <= {str(s) for s in sources}
    assert len(memories(clean_db, Memory.creator_id == fresh)) == 1


class Recording:
    group, types, batch_size = "memory", frozenset({"account.created"}), 10

    def __init__(self) -> None:
        self.handled: list[Event] = []

    def handle(self, db: object, events: list[Event]) -> None:
        self.handled.extend(events)

    def after_commit(self, events: list[Event]) -> None: ...

    def reset(self, db: object) -> None: ...


def test_a_dead_letter_replayed_by_hand_is_applied_whichever_lane_holds_it() -> None:
    """The loop hands a lane only its own events; a replay by hand (a letter from before the
    lanes, or a Kafka record relayed without recorded_at) must not be silently dropped."""
    inner = Recording()
    now = datetime.now(UTC)
    old = _event(now - timedelta(days=30), now)
    Lane(inner, history=False).handle(None, [old])  # type: ignore[arg-type]
    assert inner.handled == [old]


def test_two_lanes_never_form_one_creators_memory_at_once(clean_db: Database) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from veri.memory.store import lock_creators

    creator = uuid.uuid4()
    with clean_db.sessions() as first, clean_db.sessions() as second:
        lock_creators(first, {creator, uuid.uuid4()})
        second.execute(text("SET lock_timeout = '200ms'"))
        try:
            lock_creators(second, {creator})
        except OperationalError as exc:
            assert "lock timeout" in str(exc)
        else:
            raise AssertionError("the second lane got a creator the first one holds")
        second.rollback()
        lock_creators(second, {uuid.uuid4()})  # another creator: no wait
        first.rollback()
        lock_creators(second, {creator})  # released with the first transaction
