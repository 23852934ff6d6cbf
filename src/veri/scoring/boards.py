"""Leaderboards: global, per niche and per platform; all time, per ISO week and per month; for
points and for the VeriScore.

PostgreSQL holds every board (`leaderboard_entries`, the system of record, written in the
`scoring` consumer's transaction). When Redis is configured its sorted sets mirror the rows
after each commit, and reads are served from them while Redis is healthy and known to be a
faithful copy; otherwise from PostgreSQL. A Redis failure is logged and swallowed; once Redis
answers again it is rebuilt from PostgreSQL (`Leaderboards.resync`, also `veri scores rebuild`).

Ranks are competition ranks ("1224"): a creator's rank is 1 + the number of creators with a
strictly higher score on the board, so equal scores share a rank and the next one is skipped.
Among equal scores lists are ordered by creator id, descending (Redis's own order for equal
scores, which PostgreSQL reproduces), so pages are stable and both stores agree exactly.
Periods are computed in UTC.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol, TypeVar, cast, get_args

import structlog
from prometheus_client import Counter
from redis.exceptions import LockError, RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from veri.creators import service as creator_service
from veri.errors import Invalid
from veri.identity.principal import Principal
from veri.models.accounts import Role
from veri.models.creators import Platform

if TYPE_CHECKING:
    from redis import Redis

    from veri.scoring.board_repository import PostgresBoards

__all__ = [
    "KEY_PREFIX",
    "METRICS",
    "PERIOD_WORDS",
    "Board",
    "BoardPage",
    "BoardStore",
    "BoardUpdate",
    "Entry",
    "Leaderboards",
    "Metric",
    "Ranked",
    "RedisBoards",
    "Standing",
    "board_page",
    "boards_for",
    "month_key",
    "niche_scope",
    "own_standing",
    "parse_period",
    "parse_scope",
    "platform_scope",
    "ranked",
    "resolve_board",
    "scope_choices",
    "totals_of",
    "week_key",
]

log = structlog.get_logger(__name__)

READS = Counter("veri_leaderboard_reads_total", "Leaderboard reads by the store that served them", ["store"])
REDIS_FAILURES = Counter("veri_leaderboard_redis_failures_total", "Redis errors the leaderboards swallowed", ["during"])

Metric = Literal["points", "veriscore"]
METRICS: tuple[Metric, ...] = get_args(Metric)
PLATFORMS = frozenset(p.value for p in Platform)
# "week" and "month" name the current one; explicit keys name any.
PERIOD_WORDS = ("all", "week", "month")
KEY_PREFIX = "veri:lb:"
NICHE_MAX = 40

_WEEK = re.compile(r"week:(\d{4})-W(\d{2})")
_MONTH = re.compile(r"month:(\d{4})-(\d{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# -- boards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    metric: Metric
    scope: str  # "global" | "niche:<tag>" | "platform:<name>"
    period: str  # "all" | "week:2026-W49" (ISO week) | "month:2026-12"

    @property
    def key(self) -> str:
        """The board's name in both stores: `points:niche:fitness:week:2026-W49`."""
        return f"{self.metric}:{self.scope}:{self.period}"


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def week_key(at: datetime) -> str:
    year, week, _ = _utc(at).isocalendar()
    return f"week:{year}-W{week:02d}"


def month_key(at: datetime) -> str:
    at = _utc(at)
    return f"month:{at.year}-{at.month:02d}"


def _niche_tag(tag: str) -> str:
    return " ".join(tag.split()).lower()


def niche_scope(tag: str) -> str:
    return f"niche:{_niche_tag(tag)}"


def platform_scope(name: str) -> str:
    return f"platform:{name.strip().lower()}"


def boards_for(metric: Metric, at: datetime, niches: Sequence[str], platforms: Sequence[str]) -> list[Board]:
    """Every board a creator's `metric` at `at` is on: global, each niche, each platform, each
    for all time, the ISO week of `at` and its month (UTC)."""
    scopes = ["global"]
    for tag in niches:
        if _niche_tag(tag) and niche_scope(tag) not in scopes:
            scopes.append(niche_scope(tag))
    for name in platforms:
        if name.strip() and platform_scope(name) not in scopes:
            scopes.append(platform_scope(name))
    periods = ("all", week_key(at), month_key(at))
    return [Board(metric, scope, period) for scope in scopes for period in periods]


def parse_scope(value: str) -> str:
    """A scope as a person may ask for it, normalised; ValueError says what is wrong."""
    value = value.strip()
    if value == "global":
        return value
    kind, _, rest = value.partition(":")
    if kind == "niche":
        tag = _niche_tag(rest)
        if not tag or len(tag) > NICHE_MAX or _CONTROL.search(tag):
            raise ValueError(f"a niche is 1 to {NICHE_MAX} printable characters")
        return f"niche:{tag}"
    if kind == "platform":
        name = rest.strip().lower()
        if name not in PLATFORMS:
            raise ValueError(f"the platform is one of {', '.join(sorted(PLATFORMS))}")
        return f"platform:{name}"
    raise ValueError("the scope is 'global', 'niche:<tag>' or 'platform:<name>'")


def parse_period(value: str, *, now: datetime | None = None) -> str:
    """`all`, `week` (the current ISO week), `month` (the current month), or an explicit key
    (`week:2026-W49`, `month:2026-12`); ValueError says what is wrong."""
    value = value.strip()
    now = now or datetime.now(UTC)
    if value == "all":
        return value
    if value == "week":
        return week_key(now)
    if value == "month":
        return month_key(now)
    if m := _WEEK.fullmatch(value):
        year, week = int(m[1]), int(m[2])
        try:
            date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no ISO week {week}") from None
        return value
    if m := _MONTH.fullmatch(value):
        if not 1 <= int(m[2]) <= 12:
            raise ValueError("the month is 01 to 12")
        return value
    raise ValueError("the period is 'all', 'week', 'month', 'week:YYYY-Www' or 'month:YYYY-MM'")


def resolve_board(metric: str, scope: str, period: str, *, now: datetime | None = None) -> Board:
    """The board a request names; `Invalid` names the field that is wrong."""
    if metric not in METRICS:
        raise Invalid("metric", f"the metric is one of {', '.join(METRICS)}")
    try:
        scope = parse_scope(scope)
    except ValueError as exc:
        raise Invalid("scope", str(exc)) from None
    try:
        period = parse_period(period, now=now)
    except ValueError as exc:
        raise Invalid("period", str(exc)) from None
    return Board(metric, scope, period)


# -- what the consumer records -----------------------------------------------------------------


@dataclass(frozen=True)
class BoardUpdate:
    """A change of one creator's `metric` at `at`: points add a `delta`; the VeriScore sets a
    `value` (the latest score) on every board of `at`."""

    creator_id: uuid.UUID
    metric: Metric
    at: datetime
    niches: tuple[str, ...]
    platforms: tuple[str, ...]
    delta: float | None = None
    value: float | None = None

    def __post_init__(self) -> None:
        if (self.delta is None) == (self.value is None):
            raise ValueError("a board update has either a delta or a value")


@dataclass(frozen=True, slots=True)
class Standing:
    creator_id: uuid.UUID
    score: float
    rank: int  # 1-based competition rank: 1 + the number of creators with a higher score


class Entry(NamedTuple):
    """One creator's score on one board (by key): what the stores write and mirror."""

    board: str
    creator_id: uuid.UUID
    score: float


def ranked(rows: Iterable[tuple[uuid.UUID, float]], *, offset: int, first_rank: int) -> list[Standing]:
    """Standings of rows listed from position `offset` (0-based) in board order, the first of
    which has `first_rank`: a row whose score differs from the row before is at its position."""
    out: list[Standing] = []
    rank, previous = first_rank, None
    for i, (creator_id, score) in enumerate(rows):
        if i and score != previous:
            rank = offset + i + 1
        out.append(Standing(creator_id, score, rank))
        previous = score
    return out


def totals_of(entries: Iterable[Entry]) -> dict[tuple[str, uuid.UUID], float]:
    """The entries' amounts added up per (board, creator), in the order they first appear."""
    totals: dict[tuple[str, uuid.UUID], float] = {}
    for e in entries:
        totals[e.board, e.creator_id] = totals.get((e.board, e.creator_id), 0.0) + e.score
    return totals


class BoardStore(Protocol):
    """Where boards live: PostgreSQL (`board_repository.PostgresBoards`) or Redis (`RedisBoards`)."""

    def increment(self, entries: Sequence[Entry]) -> list[Entry]:
        """Add each entry's score to the creator's (0 when absent; repeated keys add up);
        return the new score of each (board, creator)."""
        ...

    def set(self, entries: Sequence[Entry]) -> list[Entry]:
        """Set the creators' scores; return them."""
        ...

    def top(self, board: Board, limit: int, offset: int = 0) -> list[Standing]: ...

    def standing(self, board: Board, creator_id: uuid.UUID) -> Standing | None: ...

    def size(self, board: Board) -> int: ...

    def clear(self) -> None:
        """Delete every board."""
        ...


# -- Redis -------------------------------------------------------------------------------------

# A creator's score and how many score higher, in one round trip.
_STANDING_LUA = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return false end
return {score, redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf')}
"""


@lru_cache(maxsize=65_536)
def _member(raw: bytes | str) -> uuid.UUID:
    """A member's creator id; cached, as the same top of a board is read again and again."""
    return uuid.UUID(raw.decode() if isinstance(raw, bytes) else raw)


class RedisBoards:
    """One sorted set per board, `veri:lb:<board key>`, members the creator ids."""

    def __init__(self, redis: Redis, *, prefix: str = KEY_PREFIX):
        self.redis = redis
        self.prefix = prefix
        self._standing = redis.register_script(_STANDING_LUA)
        # Present while Redis holds a faithful copy of PostgreSQL's boards.
        self.synced_key = f"{prefix}_synced"
        self.lock_key = f"{prefix}_resync"

    def _key(self, board: str) -> str:
        return self.prefix + board

    def increment(self, entries: Sequence[Entry]) -> list[Entry]:
        if len(entries) == 1:  # the common case, without a pipeline's overhead
            e = entries[0]
            score = cast(float, self.redis.zincrby(self._key(e.board), e.score, str(e.creator_id)))
            return [Entry(e.board, e.creator_id, float(score))]
        totals = totals_of(entries)
        pipe = self.redis.pipeline(transaction=False)
        for (board, creator_id), amount in totals.items():
            pipe.zincrby(self._key(board), amount, str(creator_id))
        return [Entry(b, c, float(s)) for (b, c), s in zip(totals, pipe.execute(), strict=True)]

    def set(self, entries: Sequence[Entry]) -> list[Entry]:
        by_board: dict[str, dict[str, float]] = {}
        for e in entries:
            by_board.setdefault(e.board, {})[str(e.creator_id)] = e.score
        if len(by_board) == 1:
            [(board, mapping)] = by_board.items()
            self.redis.zadd(self._key(board), mapping)
        elif by_board:
            pipe = self.redis.pipeline(transaction=False)
            for board, mapping in by_board.items():
                pipe.zadd(self._key(board), mapping)
            pipe.execute()
        return list(entries)

    def top(self, board: Board, limit: int, offset: int = 0) -> list[Standing]:
        key = self._key(board.key)
        rows = cast(
            "list[tuple[bytes | str, float]]", self.redis.zrevrange(key, offset, offset + limit - 1, withscores=True)
        )
        if not rows:
            return []
        first_rank = 1
        if offset:
            first_rank += int(self.redis.zcount(key, f"({rows[0][1]!r}", "+inf"))
        return ranked(((_member(m), float(s)) for m, s in rows), offset=offset, first_rank=first_rank)

    def standing(self, board: Board, creator_id: uuid.UUID) -> Standing | None:
        found = self._standing(keys=[self._key(board.key)], args=[str(creator_id)])
        if not found:
            return None
        score, higher = found
        return Standing(creator_id, float(score), int(higher) + 1)

    def size(self, board: Board) -> int:
        return int(self.redis.zcard(self._key(board.key)))

    def clear(self) -> None:
        for metric in METRICS:
            batch: list[bytes | str] = []
            for key in self.redis.scan_iter(match=f"{self.prefix}{metric}:*", count=1000):
                batch.append(key)
                if len(batch) == 1000:
                    self.redis.unlink(*batch)
                    batch = []
            if batch:
                self.redis.unlink(*batch)

    # Whether Redis may serve reads: a marker shared by every process.

    def is_synced(self) -> bool:
        return bool(self.redis.exists(self.synced_key))

    def mark_synced(self) -> None:
        self.redis.set(self.synced_key, datetime.now(UTC).isoformat())

    def mark_unsynced(self) -> None:
        self.redis.delete(self.synced_key)


# -- the facade --------------------------------------------------------------------------------

T = TypeVar("T")

# A resync rebuilds Redis from a scan of PostgreSQL; rows changed less than this before it began
# are written again at its end, in case their writer's mirror landed before the scan's copy.
_CATCH_UP = timedelta(seconds=60)
_RESYNC_LOCK_SECONDS = 600


@dataclass
class _Pending:
    """What one session's open transaction recorded, mirrored only if it commits."""

    reset: bool = False
    entries: list[Entry] = field(default_factory=list)
    # A savepoint rolled back after some were recorded: the commit withdraws Redis instead.
    unsure: bool = False


class Leaderboards:
    """The boards as the consumer, the routes and the CLI use them.

    `record` writes PostgreSQL in the caller's transaction; what it wrote is mirrored to Redis
    by `after_commit`, only once the transaction has committed (a rolled-back attempt mirrors
    nothing). The mirror writes the scores PostgreSQL computed (ZADD), so replaying a mirror is
    harmless and Redis converges on PostgreSQL. Reads go to Redis when it is configured, answers,
    and carries the `_synced` marker; else to PostgreSQL. After a Redis error this process
    leaves Redis alone for `recheck_seconds`; when it answers again the marker is removed (every
    process then reads PostgreSQL) and the next read rebuilds Redis (`resync`).
    """

    def __init__(self, redis: Redis | None, *, prefix: str = KEY_PREFIX, recheck_seconds: float = 1.0):
        self.cache = RedisBoards(redis, prefix=prefix) if redis is not None else None
        self.recheck_seconds = recheck_seconds
        self.resync_batch = 10_000
        self._queue_lock = threading.Lock()
        self._writing = threading.RLock()  # this process's Redis writes: mirrors vs a rebuild
        self._committed: list[Entry] = []
        self._failed = False  # a Redis write or read failed: on recovery, Redis is rebuilt
        self._down_until = 0.0  # monotonic: Redis is not tried before
        self._trusted_until = 0.0  # monotonic: the marker was seen, Redis serves reads until then
        self._session_key = f"veri.leaderboards.{id(self)}"

    # -- writes --------------------------------------------------------------------------------

    def record(self, db: Session, updates: Sequence[BoardUpdate]) -> None:
        """Apply `updates` to PostgreSQL inside the caller's transaction (set-based)."""
        adds, sets = _fold(updates)
        store = _postgres(db)
        written = store.increment(adds) + store.set(sets)
        if self.cache is not None and written:
            self._pending(db).entries.extend(written)

    def after_commit(self) -> None:
        """Mirror what committed transactions recorded to Redis, pipelined. A Redis error is
        logged and swallowed: Redis is then stale and is rebuilt once it answers again."""
        with self._queue_lock:
            entries, self._committed = self._committed, []
        if self.cache is None or not entries or time.monotonic() < self._down_until:
            return  # without Redis now, the rebuild will carry these
        with self._writing:
            try:
                if self._failed:
                    self._mark_unsynced()
                self.cache.set(entries)
            except RedisError as exc:
                self._fail("mirror", exc)

    def reset(self, db: Session) -> None:
        """Delete every board (before a replay): PostgreSQL in the caller's transaction, Redis
        as soon as it commits."""
        _postgres(db).clear()
        if self.cache is not None:
            pending = self._pending(db)
            pending.reset, pending.entries = True, []

    def _pending(self, db: Session) -> _Pending:
        pending = db.info.get(self._session_key)
        if pending is None:
            pending = db.info[self._session_key] = _Pending()
            hooked = f"{self._session_key}.hooked"
            if not db.info.get(hooked):
                db.info[hooked] = True
                self._hook(db)
        assert isinstance(pending, _Pending)
        return pending

    def _hook(self, db: Session) -> None:
        key = self._session_key

        def committed(session: Session) -> None:
            if session.in_nested_transaction():
                return  # a savepoint released: its entries wait for the outer commit
            pending = session.info.pop(key, None)
            if pending is None:
                return
            if pending.reset:
                # Replays reset in a transaction of their own, with no after_commit to follow.
                with self._queue_lock:
                    self._committed = []
                self._clear_redis()
            if pending.unsure:
                self._withdraw()
                return
            with self._queue_lock:
                self._committed.extend(pending.entries)

        def rolled_back(session: Session, previous: SessionTransaction) -> None:
            pending = session.info.get(key)
            if previous.nested and pending is not None and (pending.entries or pending.reset):
                # Which of them the savepoint took back is not tracked: rebuild Redis instead.
                pending.unsure = True

        def ended(session: Session, transaction: SessionTransaction) -> None:
            if transaction.parent is None:  # committed (and taken above), rolled back or closed
                session.info.pop(key, None)

        event.listen(db, "after_commit", committed)
        event.listen(db, "after_soft_rollback", rolled_back)
        event.listen(db, "after_transaction_end", ended)

    def _withdraw(self) -> None:
        """Redis cannot be brought up to date by a mirror: no process reads it until it is rebuilt."""
        assert self.cache is not None
        if time.monotonic() < self._down_until:
            self._failed = True
            return
        try:
            self._mark_unsynced()
        except RedisError as exc:
            self._fail("withdraw", exc)

    def _clear_redis(self) -> None:
        assert self.cache is not None
        if time.monotonic() < self._down_until:
            self._failed = True
            return
        with self._writing:
            try:
                self.cache.mark_unsynced()
                self.cache.clear()
                self.cache.mark_synced()  # both stores are empty: a faithful copy
            except RedisError as exc:
                self._fail("reset", exc)

    # -- reads ---------------------------------------------------------------------------------

    def top(self, db: Session, board: Board, limit: int = 100, offset: int = 0) -> list[Standing]:
        return self._read(db, lambda store: store.top(board, limit, offset))

    def standing(self, db: Session, board: Board, creator_id: uuid.UUID) -> Standing | None:
        """A creator's own standing, wherever they are on the board; None when not on it."""
        return self._read(db, lambda store: store.standing(board, creator_id))

    def size(self, db: Session, board: Board) -> int:
        return self._read(db, lambda store: store.size(board))

    def reads_from(self, db: Session) -> Literal["redis", "postgres"]:
        """Where reads go now (rebuilding Redis first if it has just come back)."""
        return "redis" if self._readable_cache(db) is not None else "postgres"

    def _read(self, db: Session, read: Callable[[BoardStore], T]) -> T:
        cache = self._readable_cache(db)
        if cache is not None:
            try:
                result = read(cache)
            except RedisError as exc:
                self._fail("read", exc)
            else:
                READS.labels("redis").inc()
                return result
        READS.labels("postgres").inc()
        return read(_postgres(db))

    def _readable_cache(self, db: Session) -> RedisBoards | None:
        if self.cache is None:
            return None
        now = time.monotonic()
        if now < self._trusted_until:
            return self.cache
        if now < self._down_until:
            return None
        try:
            if self._failed:
                self._mark_unsynced()
            elif self.cache.is_synced():
                self._trusted_until = now + self.recheck_seconds
                return self.cache
            # Redis answers but is not a faithful copy: rebuild it, unless another process is.
            if self._rebuild(db, wait=False) is None:
                return None
        except RedisError as exc:
            self._fail("check", exc)
            return None
        self._trusted_until = time.monotonic() + self.recheck_seconds
        return self.cache

    # -- rebuilding Redis ----------------------------------------------------------------------

    def resync(self, db: Session) -> int:
        """Rebuild Redis from PostgreSQL's committed boards; the number of entries copied (0
        without Redis). Waits for a rebuild another process is running. Redis errors propagate:
        the CLI says so."""
        if self.cache is None:
            return 0
        copied = self._rebuild(db, wait=True)
        if copied is None:
            raise RedisError("another process holds the leaderboard resync lock")
        self._trusted_until = time.monotonic() + self.recheck_seconds
        return copied

    def _rebuild(self, db: Session, *, wait: bool) -> int | None:
        cache = self.cache
        assert cache is not None
        lock = cache.redis.lock(cache.lock_key, timeout=_RESYNC_LOCK_SECONDS)
        if not lock.acquire(blocking=wait, blocking_timeout=_RESYNC_LOCK_SECONDS if wait else None):
            return None
        started = time.perf_counter()
        try:
            with self._writing:
                store = _postgres(db)
                since = store.clock() - _CATCH_UP
                cache.mark_unsynced()
                cache.clear()
                copied = 0
                for chunk in store.entries(self.resync_batch):
                    cache.set(chunk)
                    copied += len(chunk)
                cache.set(store.changed_since(since))
                cache.mark_synced()
                self._failed, self._down_until = False, 0.0
        finally:
            try:
                lock.release()
            except LockError:
                log.warning("leaderboards_resync_lock_expired")
        log.info("leaderboards_resynced", entries=copied, seconds=round(time.perf_counter() - started, 3))
        return copied

    def _mark_unsynced(self) -> None:
        """Redis missed writes: no process reads it until it is rebuilt."""
        assert self.cache is not None
        self.cache.mark_unsynced()
        self._failed = False
        self._trusted_until = 0.0

    def _fail(self, during: str, exc: RedisError) -> None:
        REDIS_FAILURES.labels(during).inc()
        log.warning("leaderboards_redis_failed", during=during, error=str(exc) or type(exc).__name__)
        self._failed = True
        self._trusted_until = 0.0
        self._down_until = time.monotonic() + self.recheck_seconds


def _postgres(db: Session) -> PostgresBoards:
    # Imported here: the repository builds this module's types (Entry, Standing).
    from veri.scoring.board_repository import PostgresBoards

    return PostgresBoards(db)


def _fold(updates: Sequence[BoardUpdate]) -> tuple[list[Entry], list[Entry]]:
    """One operation per (board, creator), in the order of the updates: deltas add up, a value
    replaces what came before it (and deltas after a value add to it)."""
    ops: dict[tuple[str, uuid.UUID], tuple[bool, float]] = {}  # (is a set, amount)
    for update in updates:
        for board in boards_for(update.metric, update.at, update.niches, update.platforms):
            key = (board.key, update.creator_id)
            if update.value is not None:
                ops[key] = (True, float(update.value))
            else:
                assert update.delta is not None
                is_set, amount = ops.get(key, (False, 0.0))
                ops[key] = (is_set, amount + float(update.delta))
    adds = [Entry(b, c, amount) for (b, c), (is_set, amount) in ops.items() if not is_set]
    sets = [Entry(b, c, amount) for (b, c), (is_set, amount) in ops.items() if is_set]
    return adds, sets


# -- what the API and the page show ------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """A standing with who it is (boards store ids only)."""

    rank: int
    creator_id: uuid.UUID
    score: float
    handle: str | None
    display_name: str | None


@dataclass(frozen=True)
class BoardPage:
    board: Board
    size: int
    limit: int
    offset: int
    standings: list[Ranked]
    # The viewing creator's own standing (also outside this page); None for others.
    me: Ranked | None = None

    @property
    def me_listed(self) -> bool:
        return self.me is not None and any(s.creator_id == self.me.creator_id for s in self.standings)


def _named(db: Session, standings: Sequence[Standing]) -> list[Ranked]:
    from veri.scoring.board_repository import creator_names

    names = creator_names(db, [s.creator_id for s in standings])
    out = []
    for s in standings:
        handle, name = names.get(s.creator_id, (None, None))
        out.append(Ranked(s.rank, s.creator_id, s.score, handle, name))
    return out


def board_page(
    db: Session,
    boards: Leaderboards,
    *,
    board: Board,
    principal: Principal,
    limit: int = 100,
    offset: int = 0,
) -> BoardPage:
    """A page of a board with each creator's handle and name; a creator also gets their own
    standing, wherever they are."""
    standings = boards.top(db, board, limit, offset)
    mine = None
    if principal.role is Role.CREATOR and principal.creator_id is not None:
        own = next((s for s in standings if s.creator_id == principal.creator_id), None)
        own = own or boards.standing(db, board, principal.creator_id)
        mine = own
    named = _named(db, [*standings, *([mine] if mine is not None else [])])
    me = named[-1] if mine is not None else None
    return BoardPage(board, boards.size(db, board), limit, offset, named[: len(standings)], me)


def own_standing(db: Session, boards: Leaderboards, *, board: Board, principal: Principal) -> tuple[int, Ranked | None]:
    """The creator's own standing on `board` (None when they are not on it) and the board's size."""
    creator = creator_service.own_creator(db, principal=principal)
    standing = boards.standing(db, board, creator.id)
    named = _named(db, [standing]) if standing is not None else []
    return boards.size(db, board), (named[0] if named else None)


def scope_choices(db: Session, principal: Principal, selected: str) -> list[tuple[str, str]]:
    """The scopes a page offers: global, the creator's own niches, every platform, and the one
    asked for."""
    choices = [("global", "Everyone")]
    if principal.role is Role.CREATOR and principal.creator_id is not None:
        creator = creator_service.own_creator(db, principal=principal)
        choices += [(niche_scope(n), f"Niche: {_niche_tag(n)}") for n in creator.niches or [] if _niche_tag(n)]
    choices += [(platform_scope(p.value), f"Platform: {p.value}") for p in Platform]
    if selected not in {value for value, _ in choices}:
        choices.append((selected, selected.replace(":", ": ", 1).capitalize()))
    return list(dict.fromkeys(choices))
