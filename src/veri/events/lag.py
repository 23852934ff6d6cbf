"""Consumer lag: measured by each consumer loop, stored in PostgreSQL, read by `/metrics`, the
admin page and `veri events lag` in any process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.events.bus.base import BusConsumer
from veri.models.events import ConsumerLag, DeadLetter, OutboxEvent, RelayCursor

__all__ = ["LagRow", "PipelineStatus", "pipeline_status", "record_lag"]


# A row no live consumer of its group has measured for this long is of a partition nobody owns any
# more (a topic recreated with fewer partitions, a member gone in a rebalance): the group's live
# consumers delete it, so "lag 0" can hold again. A group with no live consumer keeps its last rows.
STALE_AFTER = timedelta(minutes=2)


def record_lag(database: Database, consumer: BusConsumer) -> dict[int, int]:
    lag = consumer.lag()
    if not lag:
        return lag
    with database.transaction() as db:
        db.execute(
            delete(ConsumerLag).where(
                ConsumerLag.group_name == consumer.group,
                ConsumerLag.partition.not_in(list(lag)),
                ConsumerLag.measured_at < func.now() - STALE_AFTER,
            )
        )
        db.execute(
            insert(ConsumerLag)
            .values(
                [
                    {
                        "group_name": consumer.group,
                        "partition": p,
                        "lag": n,
                        "owner": consumer.member,
                    }
                    for p, n in lag.items()
                ]
            )
            .on_conflict_do_update(
                index_elements=["group_name", "partition"],
                set_={
                    "lag": insert(ConsumerLag).excluded.lag,
                    "owner": consumer.member,
                    "measured_at": func.now(),
                },
            )
        )
    return lag


@dataclass(frozen=True)
class LagRow:
    group: str
    partition: int
    lag: int
    owner: str
    measured_at: datetime


def lag_snapshot(db: Session) -> list[LagRow]:
    return [
        LagRow(r.group_name, r.partition, r.lag, r.owner, r.measured_at)
        for r in db.scalars(select(ConsumerLag).order_by(ConsumerLag.group_name, ConsumerLag.partition))
    ]


@dataclass(frozen=True)
class PipelineStatus:
    events: int
    relay_position: int | None
    relay_published: int | None
    # Dead letters not yet replayed, per consumer group.
    dead_letters_by_group: dict[str, int]
    lag: list[LagRow]

    @property
    def dead_letters_open(self) -> int:
        return sum(self.dead_letters_by_group.values())

    @property
    def total_lag(self) -> int:
        return sum(row.lag for row in self.lag)


def pipeline_status(db: Session) -> PipelineStatus:
    """The event pipeline's state, as the admin page, `/metrics` and `veri events lag` show it."""
    relay = db.execute(select(RelayCursor.position, RelayCursor.published).where(RelayCursor.name == "kafka")).first()
    open_letters = db.execute(
        select(DeadLetter.group_name, func.count())
        .where(DeadLetter.replayed_at.is_(None))
        .group_by(DeadLetter.group_name)
    ).all()
    return PipelineStatus(
        events=int(db.scalar(select(func.max(OutboxEvent.position))) or 0),
        relay_position=int(relay[0]) if relay else None,
        relay_published=int(relay[1]) if relay else None,
        dead_letters_by_group={group: int(count) for group, count in open_letters},
        lag=lag_snapshot(db),
    )
