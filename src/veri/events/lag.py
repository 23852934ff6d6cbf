"""Consumer lag: measured by each consumer loop, stored in PostgreSQL, read by `/metrics`, the
admin page and `veri events lag` in any process."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.db.engine import Database
from veri.events.bus.base import BusConsumer
from veri.models.events import ConsumerLag

__all__ = ["LagRow", "lag_snapshot", "record_lag"]


def record_lag(database: Database, consumer: BusConsumer) -> dict[int, int]:
    lag = consumer.lag()
    if not lag:
        return lag
    with database.transaction() as db:
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
