"""The live brokers (Postgres LISTEN/NOTIFY and Redis pub/sub) behind `live.service.publish`:
delivered after the commit and never on rollback (a savepoint's included), from another process
too (as a worker's consumer group publishes), and whole however large (Postgres's 8000 bytes)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from tests.factories import REDIS_URL
from tests.live.helpers import Inbox, listening, redis_client
from veri.db.engine import Database
from veri.live import service
from veri.live.broker import LiveBroker, LiveMessage, broker_for, decode, forget_broker, use_broker
from veri.live.hub import RESYNC, LiveHub
from veri.live.postgres import APPLICATION_NAME, MAX_PAYLOAD_BYTES, PostgresBroker, notify_payloads
from veri.live.redis_pubsub import RedisBroker
from veri.models.accounts import Role, User


@pytest.fixture(params=["postgres", "redis"])
def broker(request: pytest.FixtureRequest, clean_db: Database) -> Iterator[LiveBroker]:
    """The broker the database's sessions publish through, as `wiring.live` registers it."""
    chosen: LiveBroker
    if request.param == "redis":
        client = redis_client()
        chosen = RedisBroker(client)
    else:
        chosen = PostgresBroker(clean_db.engine.url)
    use_broker(clean_db.engine, chosen)
    yield chosen
    forget_broker(clean_db.engine, chosen)
    if request.param == "redis":
        client.close()


@pytest.fixture
def inbox(broker: LiveBroker) -> Iterator[Inbox]:
    with listening(broker) as received:
        yield received


def test_delivered_after_commit_and_never_on_rollback(clean_db: Database, broker: LiveBroker, inbox: Inbox) -> None:
    maya, lena = uuid.uuid4(), uuid.uuid4()
    with clean_db.sessions() as db:
        service.publish(db, user_ids=[maya], kind="deal.message", data={"n": 1})
        assert inbox.empty_for(0.3), "delivered before the commit"
        db.commit()
    assert inbox.get() == LiveMessage((maya,), "deal.message", {"n": 1})

    with clean_db.sessions() as db:
        service.publish(db, user_ids=[maya, lena], kind="deal.message", data={"n": 2})
        db.rollback()
        service.publish(db, user_ids=[lena], kind="deal.offer", data={"n": 3})
        db.commit()
    # Messages arrive in commit order: the next one is the committed one, the rolled back never.
    assert inbox.get() == LiveMessage((lena,), "deal.offer", {"n": 3})
    assert inbox.empty_for(0.3)


def test_a_rolled_back_savepoint_takes_its_messages_along(clean_db: Database, broker: LiveBroker, inbox: Inbox) -> None:
    someone = uuid.uuid4()
    with clean_db.sessions() as db, db.begin():
        service.publish(db, user_ids=[someone], kind="kept", data={})
        savepoint = db.begin_nested()
        service.publish(db, user_ids=[someone], kind="undone", data={})
        savepoint.rollback()
        released = db.begin_nested()
        service.publish(db, user_ids=[someone], kind="released", data={})
        released.commit()
    assert [inbox.get().kind, inbox.get().kind] == ["kept", "released"]
    assert inbox.empty_for(0.3)


def test_a_session_closed_without_commit_sends_nothing(clean_db: Database, broker: LiveBroker, inbox: Inbox) -> None:
    someone = uuid.uuid4()
    db = clean_db.sessions()
    service.publish(db, user_ids=[someone], kind="abandoned", data={})
    db.close()
    with clean_db.sessions() as db:
        service.publish(db, user_ids=[someone], kind="committed", data={})
        db.commit()
    assert inbox.get().kind == "committed"
    assert inbox.empty_for(0.3)


def test_published_with_the_state_change_it_announces(clean_db: Database, broker: LiveBroker, inbox: Inbox) -> None:
    """Whoever receives the message and reads the database sees the write it announces."""
    user_id = uuid.uuid4()
    with clean_db.transaction() as db:
        db.add(User(id=user_id, email="seen@example.com", display_name="Seen", password_hash="x", role=Role.CREATOR))
        service.publish(db, user_ids=[user_id], kind="user.created", data={"id": str(user_id)})
    message = inbox.get()
    with clean_db.sessions() as db:
        assert db.scalar(select(User.email).where(User.id == uuid.UUID(message.data["id"]))) == "seen@example.com"


def test_a_large_message_to_many_users_arrives_whole_or_marked_truncated(
    clean_db: Database, broker: LiveBroker, inbox: Inbox
) -> None:
    users = [uuid.uuid4() for _ in range(600)]
    body = "é" * 6000  # 12 kB of UTF-8, over what one NOTIFY carries with the ids
    with clean_db.transaction() as db:
        service.publish(db, user_ids=users, kind="deal.message", data={"deal_id": "d-1", "body": body})
    received: list[uuid.UUID] = []
    while len(received) < len(users):
        message = inbox.get()
        received.extend(message.user_ids)
        assert message.data["deal_id"] == "d-1"
        if broker.name == "postgres":  # cut to its short fields, and says so
            assert message.data == {"deal_id": "d-1", "truncated": True}
        else:
            assert message.data["body"] == body
    assert sorted(received) == sorted(users)


def test_postgres_payloads_stay_under_the_limit() -> None:
    users = tuple(uuid.uuid4() for _ in range(1000))
    payloads = notify_payloads(LiveMessage(users, "leaderboard", {"board": "weekly", "top": list(range(3000))}))
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)
    decoded = [decode(p) for p in payloads]
    assert [u for d in decoded for u in d.user_ids] == list(users)
    assert decoded[0].data == {"board": "weekly", "truncated": True}


def test_publishing_from_another_process_reaches_this_one(clean_db: Database, broker: LiveBroker, inbox: Inbox) -> None:
    """As a worker's consumer group would: its own process, its own transaction."""
    user_id = uuid.uuid4()
    setup = (
        f"use_broker(engine, RedisBroker(redis.Redis.from_url({REDIS_URL!r})))" if broker.name == "redis" else "pass"
    )
    script = textwrap.dedent(
        f"""
        import uuid, redis
        from sqlalchemy import create_engine
        from sqlalchemy.orm import Session
        from veri.live import service
        from veri.live.broker import use_broker
        from veri.live.redis_pubsub import RedisBroker

        engine = create_engine({clean_db.url!r})
        {setup}
        with Session(engine) as db, db.begin():
            service.publish(db, user_ids=[uuid.UUID({str(user_id)!r})], kind="task.verified", data={{"task_id": 7}})
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert inbox.get(timeout=10) == LiveMessage((user_id,), "task.verified", {"task_id": 7})


def test_unreadable_payloads_are_skipped(clean_db: Database, broker: LiveBroker, inbox: Inbox) -> None:
    """Someone else's NOTIFY (or PUBLISH) on the channel does not stop the listener."""
    from veri.live.broker import CHANNEL

    if broker.name == "redis":
        assert isinstance(broker, RedisBroker)
        broker.client.publish(CHANNEL, b"not json")
    else:
        with clean_db.engine.connect() as conn:
            conn.exec_driver_sql(f"NOTIFY {CHANNEL}, '{{\"nope\": 1}}'")
            conn.commit()
    someone = uuid.uuid4()
    with clean_db.transaction() as db:
        service.publish(db, user_ids=[someone], kind="after", data={})
    assert inbox.get().kind == "after"


def test_without_registration_sessions_publish_through_postgres(clean_db: Database) -> None:
    with clean_db.sessions() as db:
        assert isinstance(broker_for(db), PostgresBroker)


def test_bad_kind_is_refused(clean_db: Database) -> None:
    from veri.errors import Invalid

    with clean_db.sessions() as db, pytest.raises(Invalid):
        service.publish(db, user_ids=[uuid.uuid4()], kind="", data={})


def _cut_listener(broker: LiveBroker, clean_db: Database, client_name: str) -> None:
    """Kill the listening connection server-side, as a restart or a network fault would."""
    if isinstance(broker, RedisBroker):
        for client in broker.client.client_list():
            if client.get("name") == client_name and "subscribe" in client.get("cmd", ""):
                broker.client.client_kill_filter(_id=client["id"])
        return
    with clean_db.engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": APPLICATION_NAME},
        ).scalar()
    assert killed == 1


@pytest.mark.parametrize("kind", ["postgres", "redis"])
def test_the_hub_listens_again_after_losing_its_connection(clean_db: Database, kind: str) -> None:
    """Its pages are told to refetch (what was published meanwhile is lost), and what is
    published afterwards reaches them."""
    name = f"veri-live-test-{uuid.uuid4().hex[:8]}"
    chosen: LiveBroker
    if kind == "redis":
        redis_client().close()
        import redis

        chosen = RedisBroker(redis.Redis.from_url(REDIS_URL, client_name=name))
    else:
        chosen = PostgresBroker(clean_db.engine.url)
    use_broker(clean_db.engine, chosen)
    someone = uuid.uuid4()

    async def scenario() -> None:
        hub = LiveHub(chosen)
        try:
            subscription = await hub.subscribe(someone)
            await asyncio.to_thread(_cut_listener, chosen, clean_db, name)
            assert await subscription.next(10) == RESYNC
            with clean_db.transaction() as db:
                service.publish(db, user_ids=[someone], kind="after.fault", data={})
            chunk = await subscription.next(10)
            assert chunk is not None and b'"after.fault"' in chunk
        finally:
            hub.stop()

    try:
        asyncio.run(scenario())
    finally:
        forget_broker(clean_db.engine, chosen)
