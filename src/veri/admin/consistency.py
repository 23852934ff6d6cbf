"""`veri check consistency`: is every accepted event applied exactly once, and does every derived
table equal a fresh replay of the event log?

Two checks, both read-only for the world:
- coverage, from the processed marks: each event a consumer group takes is marked once by the
  group (or by exactly one lane of a slow group); unmarked events are lost (or still queued, when
  the group has lag), events marked by two lanes were applied twice, dead letters not replayed
  are accepted but never applied.
- replay, in one REPEATABLE READ transaction that is rolled back: the derived tables are read,
  each group's `reset` deletes its state, the whole log is applied again by the same handlers,
  the tables are read again, and the two readings are compared row by row on natural keys
  (random ids and the system's own clocks left out). Nothing commits, so a running platform
  never sees the rebuilt state; the deleted rows stay locked until the check ends, so a worker
  writing the same rows waits for it: run it when the consumers have caught up.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.events.derived import DerivedTable
from veri.events.handlers import Handler
from veri.events.lanes import family_of
from veri.events.outbox import read_after

__all__ = ["ConsistencyReport", "Coverage", "TableDiff", "check_consistency", "derived_tables"]


# Float sums may be added up in another order by a replay: compared to this many significant digits.
FLOAT_DIGITS = 9


@dataclass
class Coverage:
    """One consumer group (a slow group's lanes together) against the log."""

    family: str
    groups: list[str]
    events: int = 0  # events of the types it takes
    applied: int = 0
    unapplied: int = 0  # no processed mark: lost, unless the group still has lag
    applied_twice: int = 0  # marked by two lanes
    dead_lettered: int = 0  # marked, parked in the dead-letter store, not replayed
    lag: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.unapplied or self.applied_twice or self.dead_lettered)


@dataclass
class TableDiff:
    """One derived table: rows the log's replay has that the table lacks (`missing`), rows the
    table has that the replay does not (`extra`), and rows on both sides that differ."""

    family: str
    table: str
    current_rows: int = 0
    replay_rows: int = 0
    missing: int = 0
    extra: int = 0
    changed: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    # Two replays of the same log in two orders (log order, then partition by partition) left
    # different rows: the group's result depends on how its partitions interleave, so a
    # difference here does not by itself mean a lost or doubled event.
    order_sensitive: bool = False

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.changed)

    @property
    def ok(self) -> bool:
        return self.equal or self.order_sensitive


@dataclass
class ConsistencyReport:
    events: int
    coverage: list[Coverage]
    tables: list[TableDiff]
    replayed_events: dict[str, int]
    seconds: float

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing applied twice, and every table that a replay rebuilds the same
        way whatever the order equal to that replay."""
        return all(c.ok for c in self.coverage) and all(t.ok for t in self.tables)

    @property
    def strictly_ok(self) -> bool:
        """`ok`, and the order-sensitive tables equal too."""
        return self.ok and all(t.equal for t in self.tables)

    @property
    def order_sensitive(self) -> list[str]:
        return [t.table for t in self.tables if t.order_sensitive]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "strictly_ok": self.strictly_ok,
            "events": self.events,
            "seconds": round(self.seconds, 2),
            "order_sensitive": self.order_sensitive,
            "coverage": [{**dataclasses.asdict(c), "ok": c.ok} for c in self.coverage],
            "tables": [{**dataclasses.asdict(t), "equal": t.equal, "ok": t.ok} for t in self.tables],
            "replayed_events": self.replayed_events,
        }


def _families(handlers: Sequence[Handler]) -> dict[str, list[Handler]]:
    out: dict[str, list[Handler]] = defaultdict(list)
    for handler in handlers:
        out[family_of(handler)].append(handler)
    return dict(out)


def derived_tables(handlers: Sequence[Handler]) -> list[tuple[str, DerivedTable]]:
    """The tables the groups declare (`Handler.derived`), each with its group's family."""
    found: dict[str, tuple[str, DerivedTable]] = {}
    for handler in handlers:
        for table in getattr(handler, "derived", ()):
            found.setdefault(table.name, (family_of(handler), table))
    return list(found.values())


def _coverage(db: Session, family: str, handlers: Sequence[Handler], *, examples: int) -> Coverage:
    groups = [h.group for h in handlers]
    types = sorted(set().union(*(h.types for h in handlers)))
    row = (
        db.execute(
            text(
                """
            WITH wanted AS (
                SELECT o.event_id,
                       (SELECT count(*) FROM processed_events p
                         WHERE p.event_id = o.event_id AND p.group_name = ANY(:groups)) AS marks,
                       EXISTS (SELECT 1 FROM dead_letters d
                                WHERE d.event_id = o.event_id AND d.group_name = ANY(:groups)
                                  AND d.replayed_at IS NULL) AS dead
                  FROM event_outbox o WHERE o.type = ANY(:types)
            )
            SELECT count(*) AS events,
                   count(*) FILTER (WHERE marks > 0 AND NOT dead) AS applied,
                   count(*) FILTER (WHERE marks = 0) AS unapplied,
                   count(*) FILTER (WHERE marks > 1) AS twice,
                   count(*) FILTER (WHERE dead) AS dead,
                   (array_agg(event_id::text) FILTER (WHERE marks <> 1 OR dead))[1:CAST(:examples AS int)] AS sample
              FROM wanted
            """
            ),
            {"groups": groups, "types": types, "examples": examples},
        )
        .mappings()
        .one()
    )
    lag = db.execute(
        text("SELECT coalesce(sum(lag), 0) FROM consumer_lag WHERE group_name = ANY(:groups)"), {"groups": groups}
    ).scalar_one()
    return Coverage(
        family=family,
        groups=groups,
        events=int(row["events"]),
        applied=int(row["applied"]),
        unapplied=int(row["unapplied"]),
        applied_twice=int(row["twice"]),
        dead_lettered=int(row["dead"]),
        lag=int(lag),
        examples=list(row["sample"] or []),
    )


def _plain(value: Any) -> Any:
    """A value as JSON compares it: floats rounded, ids and times as text, containers recursed."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return float(f"{value:.{FLOAT_DIGITS}g}")
    if isinstance(value, Decimal):
        return _plain(float(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


Rows = dict[str, list[dict[str, Any]]]


def _read(db: Session, table: DerivedTable) -> Rows:
    """The table's rows by key (a key may hold several rows: memories' versions), each sorted."""
    out: Rows = defaultdict(list)
    for mapping in db.execute(text(table.query)).mappings():
        row = {k: _plain(v) for k, v in mapping.items()}
        out[json.dumps([row[k] for k in table.key])].append(row)
    for rows in out.values():
        rows.sort(key=lambda r: json.dumps(r, sort_keys=True))
    return dict(out)


def _compare(family: str, table: DerivedTable, current: Rows, replay: Rows, *, examples: int) -> TableDiff:
    diff = TableDiff(
        family=family,
        table=table.name,
        current_rows=sum(len(v) for v in current.values()),
        replay_rows=sum(len(v) for v in replay.values()),
    )

    def example(kind: str, key: str, **rows: Any) -> None:
        if len(diff.examples) < examples:
            diff.examples.append({"kind": kind, "key": json.loads(key), **rows})

    for key in sorted(current.keys() | replay.keys()):
        mine, theirs = current.get(key, []), replay.get(key, [])
        if mine == theirs:
            continue
        if len(mine) == len(theirs) == 1:
            diff.changed += 1
            columns = [c for c in mine[0] if mine[0][c] != theirs[0].get(c)]
            example(
                "changed",
                key,
                columns={c: {"table": mine[0][c], "replay": theirs[0].get(c)} for c in columns},
            )
            continue
        # Several versions under one key: count what one side has beyond the other.
        left = [json.dumps(r, sort_keys=True) for r in mine]
        right = [json.dumps(r, sort_keys=True) for r in theirs]
        only_table = [r for r in left if r not in right]
        only_replay = [r for r in right if r not in left]
        diff.extra += len(only_table)
        diff.missing += len(only_replay)
        if only_table:
            example("extra", key, row=json.loads(only_table[0]))
        if only_replay:
            example("missing", key, row=json.loads(only_replay[0]))
    return diff


def _replay(db: Session, families: dict[str, list[Handler]], *, batch_size: int, by_partition: bool) -> dict[str, int]:
    """Reset each family's state and apply the whole log again, batch by batch, every lane given
    the events it takes (as the workers would, interleaved): in log order, or `by_partition`
    one partition after another (as `veri scores rebuild` reads it)."""
    for handlers in families.values():
        for handler in handlers:
            handler.reset(db)
    applied: dict[str, int] = defaultdict(int)
    partitions: list[int | None] = [None]
    if by_partition:
        found = db.execute(text("SELECT DISTINCT partition FROM event_outbox ORDER BY 1")).scalars()
        partitions = [int(p) for p in found]
    for partition in partitions:
        _apply_log(db, families, applied, batch_size=batch_size, partition=partition)
    return dict(applied)


def _apply_log(
    db: Session,
    families: dict[str, list[Handler]],
    applied: dict[str, int],
    *,
    batch_size: int,
    partition: int | None,
) -> None:
    cursor = (0, 0)
    while True:
        records = read_after(db, cursor, limit=batch_size, partition=partition)
        if not records:
            break
        cursor = records[-1].cursor
        for family, handlers in families.items():
            for handler in handlers:
                accepts: Callable[[Any], bool] | None = getattr(handler, "accepts", None)
                events = [r.to_event() for r in records if r.type in handler.types and (accepts is None or accepts(r))]
                if events:
                    handler.handle(db, events)
                    applied[family] += len(events)


def check_consistency(
    database: Database,
    handlers: Sequence[Handler],
    *,
    replay: bool = True,
    orders: bool = True,
    examples: int = 5,
    batch_size: int = 500,
) -> ConsistencyReport:
    """Coverage of every group in `handlers`, and (with `replay`) their derived tables against a
    replay of the log by those handlers; with `orders`, a table that differs is replayed again in
    another order to tell an order-sensitive group from a lost or doubled effect. The handlers
    must not reach outside the transaction (no Redis, no embedding model, no LLM):
    `wiring.replay_handlers` builds them so."""
    started = time.perf_counter()
    families = _families(handlers)
    chosen = derived_tables(handlers)
    with database.sessions() as db:
        # One snapshot for the readings before and after and for the log replayed between them.
        db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            events = int(db.execute(text("SELECT count(*) FROM event_outbox")).scalar_one())
            coverage = [_coverage(db, family, hs, examples=examples) for family, hs in families.items()]
            diffs: list[TableDiff] = []
            replayed: dict[str, int] = {}
            if replay:
                before = {t.name: _read(db, t) for _, t in chosen}
                replayed = _replay(db, families, batch_size=batch_size, by_partition=False)
                db.flush()
                rebuilt = {t.name: _read(db, t) for _, t in chosen}
                diffs = [_compare(f, t, before[t.name], rebuilt[t.name], examples=examples) for f, t in chosen]
                if orders and any(not d.equal for d in diffs):
                    # A difference: is it the log's, or only the order the partitions were read in?
                    _replay(db, families, batch_size=batch_size, by_partition=True)
                    db.flush()
                    for (family, table), diff in zip(chosen, diffs, strict=True):
                        if not diff.equal:
                            other = _read(db, table)
                            again = _compare(family, table, rebuilt[table.name], other, examples=0)
                            diff.order_sensitive = not again.equal
        finally:
            db.rollback()  # the replay's state is never kept
    return ConsistencyReport(
        events=events,
        coverage=coverage,
        tables=diffs,
        replayed_events=replayed,
        seconds=time.perf_counter() - started,
    )
