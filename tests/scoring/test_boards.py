"""Leaderboards on real services: PostgreSQL (both fixtures' servers) and a real Redis server the
tests start on a free port (so it can be stopped and started again, and no other test's FLUSHDB
touches it). The same scenarios run against both stores, which must agree exactly."""

from __future__ import annotations

import itertools
import random
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import IN_CI, free_port, make_settings, new_client, port_open, sign_up
from veri.app import create_app
from veri.config import RedisSettings
from veri.db.engine import Database
from veri.models.scoring_boards import LeaderboardEntry
from veri.scoring.board_repository import PostgresBoards
from veri.scoring.boards import (
    Board,
    BoardStore,
    BoardUpdate,
    Entry,
    Leaderboards,
    RedisBoards,
    Standing,
    boards_for,
    parse_period,
    resolve_board,
)

AT = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)  # Thursday of ISO week 49


class RedisServer:
    """A private redis-server: stopped and started again on the same port, with or without
    keeping its data (SAVE writes the dump it loads on start)."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                *("--dir", str(self.directory), "--dbfilename", "dump.rdb"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not open its port"
            time.sleep(0.02)
        client = redis.Redis(port=self.port)
        while True:  # loading a dump answers LOADING until it is done
            try:
                client.ping()
                break
            except redis.exceptions.BusyLoadingError:
                time.sleep(0.02)
        client.close()

    def stop(self, *, keep_data: bool = False) -> None:
        if self.process is None:
            return
        if keep_data:
            with redis.Redis(port=self.port) as client:
                client.save()
        self.process.terminate()  # no save points configured: SIGTERM exits without a dump
        self.process.wait(10)
        self.process = None
        if not keep_data:
            (self.directory / "dump.rdb").unlink(missing_ok=True)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is not installed, and CI requires it")
        pytest.skip("redis-server not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def fake_board(period: str = "all", scope: str = "global", metric: str = "points") -> Board:
    return Board(metric, scope, period)  # type: ignore[arg-type]


# -- pure parts --------------------------------------------------------------------------------


def test_boards_for_names_every_scope_and_period() -> None:
    boards = boards_for("points", AT, ["Fitness", " fitness ", "Home  Decor"], ["TikTok", "youtube"])
    keys = [b.key for b in boards]
    assert keys[:3] == ["points:global:all", "points:global:week:2026-W49", "points:global:month:2026-12"]
    assert len(keys) == 5 * 3 == len(set(keys))  # niches and platforms normalised, duplicates dropped
    assert "points:niche:home decor:week:2026-W49" in keys and "points:platform:tiktok:month:2026-12" in keys
    # ISO weeks belong to their ISO year; months to the calendar (UTC).
    assert [b.period for b in boards_for("veriscore", datetime(2027, 1, 1, 5, tzinfo=UTC), [], [])] == [
        "all",
        "week:2026-W53",
        "month:2027-01",
    ]
    # A local time is taken in UTC: 00:30 in Paris on 1 December is still November.
    paris = datetime.fromisoformat("2026-12-01T00:30:00+01:00")
    assert boards_for("points", paris, [], [])[2].period == "month:2026-11"


def test_periods_and_scopes_are_checked() -> None:
    assert parse_period("week", now=AT) == "week:2026-W49"
    assert parse_period("month", now=AT) == "month:2026-12"
    assert parse_period("week:2020-W53") == "week:2020-W53"
    for bad in ("week:2026-W54", "month:2026-13", "year", "week:26-W01", ""):
        with pytest.raises(ValueError):
            parse_period(bad)
    assert resolve_board("veriscore", "niche:Fitness", "all") == Board("veriscore", "niche:fitness", "all")
    for field, args in {
        "metric": ("likes", "global", "all"),
        "scope": ("points", "platform:myspace", "all"),
        "period": ("points", "global", "week:2026-W60"),
    }.items():
        with pytest.raises(Exception) as caught:
            resolve_board(*args)
        assert getattr(caught.value, "field", None) == field
    with pytest.raises(ValueError):
        BoardUpdate(uuid.uuid4(), "points", AT, (), ())  # neither a delta nor a value


# -- both stores, one scenario -----------------------------------------------------------------


def scenario(seed: int = 5) -> tuple[list[tuple[str, list[Entry]]], list[uuid.UUID], list[Board]]:
    """Increments and sets over three boards, with many ties (scores from a small range)."""
    rng = random.Random(seed)
    creators = [uuid.uuid4() for _ in range(60)]
    boards = [fake_board(), fake_board("week:2026-W49"), Board("veriscore", "platform:tiktok", "all")]
    steps: list[tuple[str, list[Entry]]] = []
    for _ in range(40):
        kind = rng.choice(["increment", "increment", "set"])
        entries = [
            Entry(rng.choice(boards).key, rng.choice(creators), float(rng.choice([1, 2, 5, 10, 0.5])))
            for _ in range(rng.randint(1, 30))
        ]
        if kind == "set":
            entries = list({(e.board, e.creator_id): e for e in entries}.values())
        steps.append((kind, entries))
    return steps, creators, boards


def play(store: BoardStore, steps: list[tuple[str, list[Entry]]]) -> list[list[Entry]]:
    return [sorted(getattr(store, kind)(entries)) for kind, entries in steps]


def snapshot(store: BoardStore, creators: list[uuid.UUID], boards: list[Board]) -> dict[str, object]:
    out: dict[str, object] = {}
    for board in boards:
        out[board.key] = {
            "size": store.size(board),
            "top": store.top(board, 1000),
            "pages": [store.top(board, 7, offset) for offset in range(0, 63, 7)],
            "standings": {c: store.standing(board, c) for c in creators},
        }
    return out


def test_postgres_and_redis_give_identical_boards(db: Session, redis_client: redis.Redis) -> None:
    steps, creators, boards = scenario()
    postgres, cache = PostgresBoards(db), RedisBoards(redis_client)
    # Increments within one call may repeat a key: both stores add them all up.
    assert play(postgres, steps) == play(cache, steps)
    expected = snapshot(postgres, creators, boards)
    assert snapshot(cache, creators, boards) == expected
    board = boards[0]
    top = postgres.top(board, 1000)
    assert top and top[0].rank == 1
    # Competition ranks: a tie shares the rank, the next one skips; ties listed by id, descending.
    for before, after in itertools.pairwise(top):
        assert (before.score, before.creator_id) > (after.score, after.creator_id)
        assert after.rank == (before.rank if after.score == before.score else top.index(after) + 1)
    tied = next(s for a, s in itertools.pairwise(top) if a.score == s.score)
    assert postgres.standing(board, tied.creator_id) == tied
    # A page starting inside a tie carries the tie's rank.
    assert postgres.top(board, 3, top.index(tied))[0].rank == tied.rank
    assert postgres.standing(board, uuid.uuid4()) is None and cache.standing(board, uuid.uuid4()) is None
    assert postgres.top(fake_board("month:2000-01"), 10) == [] == cache.top(fake_board("month:2000-01"), 10)
    postgres.clear()
    cache.clear()
    assert snapshot(postgres, creators, boards) == snapshot(cache, creators, boards)
    assert all(postgres.size(b) == 0 for b in boards) and not redis_client.keys("veri:lb:points:*")


# -- the facade ---------------------------------------------------------------------------------


def points(creator: uuid.UUID, delta: float, at: datetime = AT, niches: tuple[str, ...] = ("fitness",)) -> BoardUpdate:
    return BoardUpdate(creator, "points", at, niches, ("tiktok",), delta=delta)


def committed(database: Database, boards: Leaderboards, updates: list[BoardUpdate]) -> None:
    """What the consumer does with one batch: record in its transaction, mirror after the commit."""
    with database.transaction() as db:
        boards.record(db, updates)
    boards.after_commit()


def redis_matches_postgres(database: Database, client: redis.Redis) -> bool:
    """Every PostgreSQL row is in Redis with the same score, and nothing else is."""
    with database.sessions() as db:
        rows = {(r.board, str(r.creator_id)): r.score for r in db.execute(select(LeaderboardEntry)).scalars()}
    mirrored = {}
    for key in client.scan_iter(match="veri:lb:*"):
        name = key.decode()
        if name.startswith("veri:lb:_"):
            continue
        for member, score in client.zrange(name, 0, -1, withscores=True):
            mirrored[(name.removeprefix("veri:lb:"), member.decode())] = score
    return rows == mirrored


def test_the_facade_records_every_board_and_mirrors_what_committed(
    clean_db: Database, redis_client: redis.Redis
) -> None:
    boards = Leaderboards(redis_client)
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    later = datetime(2026, 12, 9, tzinfo=UTC)  # the next ISO week, the same month
    committed(clean_db, boards, [points(alice, 10), points(bob, 5), points(alice, 2)])
    committed(clean_db, boards, [points(bob, 20, later), points(carol, 7, later, niches=())])
    committed(
        clean_db,
        boards,
        [
            BoardUpdate(alice, "veriscore", AT, ("fitness",), (), value=640.0),
            BoardUpdate(alice, "veriscore", later, ("fitness",), (), value=655.5),
        ],
    )
    # A rolled-back transaction mirrors nothing, even when after_commit is called afterwards.
    with pytest.raises(RuntimeError), clean_db.transaction() as db:
        boards.record(db, [points(carol, 1000)])
        raise RuntimeError("the batch failed")
    boards.after_commit()

    with clean_db.sessions() as db:
        assert boards.reads_from(db) == "redis"  # Redis had no marker: the first read rebuilt it
        alltime, week49, week50, month = (
            Board("points", "global", p) for p in ("all", "week:2026-W49", "week:2026-W50", "month:2026-12")
        )
        scores = {
            b.period: [(s.creator_id, s.score) for s in boards.top(db, b)] for b in (alltime, week49, week50, month)
        }
        assert scores == {
            "all": [(bob, 25.0), (alice, 12.0), (carol, 7.0)],
            "week:2026-W49": [(alice, 12.0), (bob, 5.0)],
            "week:2026-W50": [(bob, 20.0), (carol, 7.0)],
            "month:2026-12": [(bob, 25.0), (alice, 12.0), (carol, 7.0)],
        }
        niche = Board("points", "niche:fitness", "all")
        assert [s.creator_id for s in boards.top(db, niche)] == [bob, alice]  # carol has no niche
        assert boards.size(db, Board("points", "platform:tiktok", "week:2026-W50")) == 2
        # The VeriScore is set, not added: the latest value on each board of its moment.
        assert boards.standing(db, Board("veriscore", "global", "all"), alice) == Standing(alice, 655.5, 1)
        assert boards.standing(db, Board("veriscore", "niche:fitness", "week:2026-W49"), alice).score == 640.0
        # Postgres answers the same.
        postgres = Leaderboards(None)
        for board in (alltime, week49, week50, month, niche):
            assert postgres.top(db, board) == boards.top(db, board)
    assert redis_matches_postgres(clean_db, redis_client)


def test_savepoints_mirror_only_what_the_outer_transaction_commits(
    clean_db: Database, redis_client: redis.Redis
) -> None:
    boards = Leaderboards(redis_client, recheck_seconds=0)  # every read asks for the marker
    board = Board("points", "global", "all")
    kept, undone = uuid.uuid4(), uuid.uuid4()
    committed(clean_db, boards, [points(kept, 1)])
    with clean_db.sessions() as db:
        assert boards.reads_from(db) == "redis"
    with clean_db.transaction() as db:
        with db.begin_nested():
            boards.record(db, [points(kept, 2)])  # released: mirrored with the outer commit
        assert boards.after_commit() is None and redis_client.zscore("veri:lb:" + board.key, str(kept)) == 1.0
    boards.after_commit()
    assert redis_client.zscore("veri:lb:" + board.key, str(kept)) == 3.0
    assert redis_client.exists("veri:lb:_synced")

    with clean_db.transaction() as db:
        boards.record(db, [points(kept, 10)])
        with pytest.raises(RuntimeError), db.begin_nested():
            boards.record(db, [points(undone, 99)])
            raise RuntimeError("the savepoint is rolled back")
    boards.after_commit()
    # What the savepoint took back is not tracked: Redis is withdrawn, and the next read rebuilds it.
    assert not redis_client.exists("veri:lb:_synced")
    with clean_db.sessions() as db:
        assert boards.top(db, board) == [Standing(kept, 13.0, 1)] and boards.reads_from(db) == "redis"
    assert redis_matches_postgres(clean_db, redis_client)


def test_own_rank_far_outside_the_top_100(clean_db: Database, redis_client: redis.Redis) -> None:
    boards, postgres = Leaderboards(redis_client), Leaderboards(None)
    rng = random.Random(11)
    crowd = [uuid.uuid4() for _ in range(1500)]
    me = uuid.uuid4()
    committed(clean_db, boards, [points(c, float(rng.randint(10, 500))) for c in crowd] + [points(me, 3)])
    board = Board("points", "global", "all")
    with clean_db.sessions() as db:
        mine = boards.standing(db, board, me)
        assert mine == postgres.standing(db, board, me) == Standing(me, 3.0, 1501)
        assert len(boards.top(db, board)) == 100 and boards.top(db, board) == postgres.top(db, board)
        assert boards.top(db, board, 100, 1400) == postgres.top(db, board, 100, 1400)
        assert boards.size(db, board) == 1501 == postgres.size(db, board)


def test_reset_empties_both_stores(clean_db: Database, redis_client: redis.Redis) -> None:
    boards = Leaderboards(redis_client)
    creator = uuid.uuid4()
    committed(clean_db, boards, [points(creator, 5)])
    with clean_db.sessions() as db:
        assert boards.reads_from(db) == "redis" and boards.size(db, Board("points", "global", "all")) == 1
    with clean_db.transaction() as db:
        boards.reset(db)
    # No after_commit follows a replay's reset: the commit itself cleared Redis.
    assert redis_client.keys("veri:lb:points:*") == [] and redis_client.exists("veri:lb:_synced")
    with clean_db.sessions() as db:
        assert db.scalar(select(func.count()).select_from(LeaderboardEntry)) == 0
        assert boards.size(db, Board("points", "global", "all")) == 0
    committed(clean_db, boards, [points(creator, 2)])  # the replay records again
    with clean_db.sessions() as db:
        assert boards.standing(db, Board("points", "global", "all"), creator) == Standing(creator, 2.0, 1)
    assert redis_matches_postgres(clean_db, redis_client)


def test_redis_down_serves_postgres_and_is_rebuilt_when_it_returns(
    clean_db: Database, redis_server: RedisServer
) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5, socket_timeout=0.5)
    boards = Leaderboards(client, recheck_seconds=0.05)
    board = Board("points", "global", "all")
    first, second = uuid.uuid4(), uuid.uuid4()
    committed(clean_db, boards, [points(first, 10)])
    with clean_db.sessions() as db:
        assert boards.reads_from(db) == "redis"

    redis_server.stop()  # Redis is gone, with its data
    committed(clean_db, boards, [points(second, 30)])  # the mirror fails: logged, swallowed
    with clean_db.sessions() as db:
        assert boards.top(db, board) == [Standing(second, 30.0, 1), Standing(first, 10.0, 2)]  # from Postgres
        assert boards.standing(db, board, first) == Standing(first, 10.0, 2)
        assert boards.reads_from(db) == "postgres"

    redis_server.start()  # back, empty
    time.sleep(0.06)
    with clean_db.sessions() as db:
        assert boards.top(db, board) == [Standing(second, 30.0, 1), Standing(first, 10.0, 2)]
        assert boards.reads_from(db) == "redis"  # rebuilt by the read that found it back
    assert redis_matches_postgres(clean_db, client)
    client.close()


def test_a_writer_that_missed_writes_makes_every_reader_rebuild(clean_db: Database, redis_server: RedisServer) -> None:
    """Redis comes back with its data (a restart that kept its dump) but without the writes the
    worker's mirror lost meanwhile: the worker's next mirror withdraws the marker, and another
    process's reader (which never saw the failure) rebuilds instead of serving stale boards."""
    writer_client = redis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    reader_client = redis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    worker, api = Leaderboards(writer_client, recheck_seconds=0.05), Leaderboards(reader_client, recheck_seconds=0.05)
    board = Board("points", "global", "all")
    early, missed, later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    committed(clean_db, worker, [points(early, 1)])
    with clean_db.sessions() as db:
        assert api.top(db, board) == [Standing(early, 1.0, 1)] and api.reads_from(db) == "redis"

    redis_server.stop(keep_data=True)
    committed(clean_db, worker, [points(missed, 50)])  # lost by Redis
    redis_server.start()  # with the old data and the old marker
    time.sleep(0.06)
    committed(clean_db, worker, [points(later, 5)])
    with clean_db.sessions() as db:
        assert api.top(db, board) == [Standing(missed, 50.0, 1), Standing(later, 5.0, 2), Standing(early, 1.0, 3)]
        assert api.reads_from(db) == "redis"
    assert redis_matches_postgres(clean_db, writer_client)
    writer_client.close()
    reader_client.close()


# -- the API and the page ------------------------------------------------------------------------


def test_the_api_and_the_page(clean_db: Database, redis_server: RedisServer, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path, redis=RedisSettings(redis_url=redis_server.url)), database=clean_db)
    creator, other, brand = new_client(app), new_client(app), new_client(app)
    sign_up(creator, "creator", "lbcreator")
    sign_up(other, "creator", "lbother")
    sign_up(brand, "brand", "lbbrand")
    me = uuid.UUID(creator.get("/api/v1/creators/me").json()["id"])
    rival = uuid.UUID(other.get("/api/v1/creators/me").json()["id"])
    writer = Leaderboards(redis.Redis.from_url(redis_server.url))
    now = datetime.now(UTC)
    crowd = [uuid.uuid4() for _ in range(120)]  # ids of creators since deleted: no name to show
    committed(clean_db, writer, [points(c, 100.0 + i, now) for i, c in enumerate(crowd)])
    committed(clean_db, writer, [points(rival, 5000, now, niches=("gaming",)), points(me, 42, now)])

    url = "/api/v1/leaderboards?metric=points&scope=global&period=week&limit=3"
    body = brand.get(url).json()
    assert body["size"] == 122 and body["board"]["period"].startswith("week:")
    assert body["standings"][0] == {
        "rank": 1,
        "creator_id": str(rival),
        "handle": "lbother",
        "display_name": "Lbother",
        "score": 5000.0,
    }
    assert [s["rank"] for s in body["standings"]] == [1, 2, 3] and body["standings"][1]["handle"] is None
    assert brand.get(url + "&offset=120").json()["standings"][0]["rank"] == 121
    mine = creator.get("/api/v1/leaderboards/me?period=month").json()
    assert mine["standing"]["rank"] == 122 and mine["standing"]["handle"] == "lbcreator" and mine["size"] == 122
    assert creator.get("/api/v1/leaderboards/me?scope=niche:gaming").json()["standing"] is None
    assert brand.get("/api/v1/leaderboards/me").status_code == 403
    assert new_client(app).get("/api/v1/leaderboards").status_code == 401

    for query, field in (
        ("metric=likes", "metric"),
        ("scope=planet:mars", "scope"),
        ("scope=platform:myspace", "scope"),
        ("scope=niche:", "scope"),
        ("period=year", "period"),
        ("period=week:2026-W60", "period"),
        ("period=month:2026-13", "period"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
    ):
        response = brand.get(f"/api/v1/leaderboards?{query}")
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["field"] == field, response.json()

    # The page: the top 100, and the creator's own row below them, highlighted.
    page = creator.get("/leaderboards?metric=points&scope=global&period=week", headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    assert 'data-live="leaderboard"' in page.text and 'data-live-src="/leaderboards/table?metric=points' in page.text
    assert page.text.count("<tr") == 1 + 100 + 2  # header, the top 100, the gap and the creator's row
    assert 'class="me" aria-current="true"' in page.text and "@lbcreator" in page.text
    assert ">122<" in page.text and 'href="/leaderboards" aria-current="page"' in page.text
    table = creator.get("/leaderboards/table?metric=points&scope=global&period=week")
    assert table.status_code == 200 and "<html" not in table.text and 'class="me"' in table.text
    brand_page = brand.get(
        "/leaderboards?scope=platform:tiktok&period=all&metric=points", headers={"accept": "text/html"}
    )
    assert brand_page.status_code == 200 and 'class="me"' not in brand_page.text
    assert f'href="/creators/{rival}"' in brand_page.text  # brands may open a creator's profile
    niche_page = creator.get("/leaderboards?niche=Gaming&period=all", headers={"accept": "text/html"})
    assert (
        niche_page.status_code == 200
        and "@lbother" in niche_page.text
        and "You are not on this board" in niche_page.text
    )
    assert creator.get("/leaderboards?period=decade", headers={"accept": "text/html"}).status_code == 422
    for client in (creator, other, brand):
        client.__exit__(None, None, None)


def test_without_redis_the_app_serves_postgres(clean_db: Database, tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), database=clean_db)
    brand: TestClient = new_client(app)
    sign_up(brand, "brand", "lbplain")
    committed(clean_db, Leaderboards(None), [points(uuid.uuid4(), 9, datetime.now(UTC))])
    assert brand.get("/api/v1/leaderboards?period=all").json()["standings"][0]["score"] == 9.0
    assert app.state.leaderboards.cache is None
    brand.__exit__(None, None, None)
