"""The embedded log: the outbox table read as a partitioned log. Offsets, partition leases and
member heartbeats live in PostgreSQL, so several workers of one group share the partitions and
a dead worker's partitions move to the others once its lease expires."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import timedelta

import structlog
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from veri.db.bulk import execute_binary
from veri.db.engine import Database
from veri.events.bus.base import Delivery, LeaseLost
from veri.events.outbox import COMMITTED_TXID, LOG_COLUMNS, ORDERED_READS, LogRecord
from veri.models.events import ConsumerLease, ConsumerMember, ConsumerOffset, OutboxEvent

__all__ = ["EmbeddedConsumer", "EmbeddedLog"]

log = structlog.get_logger(__name__)

# Each owned partition's records after the group's offset, up to a share each, partitions in the
# order asked (the consumer rotates it so none starves the others), each in log order.
_POLL = f"""
    SELECT p.partition, e.*
    FROM unnest(%(partitions)s::int[]) WITH ORDINALITY AS p(partition, turn)
    LEFT JOIN consumer_offsets o ON o.group_name = %(group)s AND o.partition = p.partition
    CROSS JOIN LATERAL (
        SELECT {LOG_COLUMNS} FROM event_outbox
        WHERE (partition, txid, position) > (p.partition, COALESCE(o.txid, 0), COALESCE(o.position, 0))
          AND partition = p.partition
          AND txid < {COMMITTED_TXID}
        ORDER BY partition, txid, position LIMIT %(share)s) e
    ORDER BY p.turn, e.txid, e.position
"""  # noqa: S608 - built from constants, never from input  # nosec B608

# Renew the leases this member still holds and move those partitions' offsets, in the batch's
# transaction; a partition missing from what it returns was lost to another member.
_COMMIT = """
    WITH mine AS (
        UPDATE consumer_leases SET expires_at = now() + %(ttl)s
        WHERE group_name = %(group)s AND owner = %(member)s AND expires_at > now()
          AND partition = ANY(%(partitions)s::int2[])
        RETURNING partition)
    INSERT INTO consumer_offsets AS o (group_name, partition, txid, position, updated_at)
    SELECT %(group)s, t.partition, t.txid, t.position, now()
    FROM unnest(%(partitions)s::int2[], %(txids)s::int8[], %(positions)s::int8[]) AS t(partition, txid, position)
    JOIN mine USING (partition)
    ON CONFLICT (group_name, partition) DO UPDATE
        SET txid = excluded.txid, position = excluded.position, updated_at = excluded.updated_at
    RETURNING o.partition
"""


class EmbeddedLog:
    name = "embedded"
    needs_relay = False

    def __init__(self, database: Database, *, partitions: int, lease_seconds: float):
        self.database = database
        self.partitions = partitions
        self.lease_seconds = lease_seconds

    def consumer(self, group: str, member: str) -> EmbeddedConsumer:
        return EmbeddedConsumer(self.database, group, member, self.partitions, self.lease_seconds)

    def publish(self, records: Sequence[LogRecord]) -> None:
        raise NotImplementedError("the embedded log is the outbox: there is nothing to publish")

    def close(self) -> None:
        return None


class EmbeddedConsumer:
    def __init__(self, database: Database, group: str, member: str, partitions: int, lease_seconds: float):
        self.database = database
        self.group = group
        self.member = member
        self.partitions = partitions
        self.ttl = timedelta(seconds=lease_seconds)
        self.owned: list[int] = []
        self._rebalanced_at = 0.0
        self._next = 0  # round-robin start, so no partition starves the others

    # -- leases -----------------------------------------------------------------------------

    def rebalance(self) -> list[int]:
        """Heartbeat, renew this member's leases, give back what exceeds a fair share, claim
        free or expired partitions up to it."""
        with self.database.transaction() as db:
            now = db.scalar(select(func.now()))
            assert now is not None
            db.execute(
                insert(ConsumerMember)
                .values(group_name=self.group, member=self.member, heartbeat_at=now)
                .on_conflict_do_update(index_elements=["group_name", "member"], set_={"heartbeat_at": now})
            )
            db.execute(
                delete(ConsumerMember).where(
                    ConsumerMember.group_name == self.group,
                    ConsumerMember.heartbeat_at < now - 3 * self.ttl,
                )
            )
            live = db.scalar(
                select(func.count()).where(
                    ConsumerMember.group_name == self.group,
                    ConsumerMember.heartbeat_at > now - self.ttl,
                )
            )
            fair = math.ceil(self.partitions / max(int(live or 1), 1))
            owned = sorted(
                db.scalars(
                    update(ConsumerLease)
                    .where(
                        ConsumerLease.group_name == self.group,
                        ConsumerLease.owner == self.member,
                        ConsumerLease.expires_at > now,
                    )
                    .values(expires_at=now + self.ttl)
                    .returning(ConsumerLease.partition)
                ).all()
            )
            if len(owned) > fair:
                extra = owned[fair:]
                db.execute(
                    delete(ConsumerLease).where(
                        ConsumerLease.group_name == self.group,
                        ConsumerLease.owner == self.member,
                        ConsumerLease.partition.in_(extra),
                    )
                )
                owned = owned[:fair]
            if len(owned) < fair:
                taken = set(
                    db.scalars(
                        select(ConsumerLease.partition).where(
                            ConsumerLease.group_name == self.group, ConsumerLease.expires_at > now
                        )
                    ).all()
                )
                for partition in range(self.partitions):
                    if len(owned) >= fair:
                        break
                    if partition in taken:
                        continue
                    claimed = db.scalar(
                        insert(ConsumerLease)
                        .values(
                            group_name=self.group,
                            partition=partition,
                            owner=self.member,
                            expires_at=now + self.ttl,
                        )
                        .on_conflict_do_update(
                            index_elements=["group_name", "partition"],
                            set_={"owner": self.member, "expires_at": now + self.ttl},
                            where=ConsumerLease.expires_at <= now,
                        )
                        .returning(ConsumerLease.partition)
                    )
                    if claimed is not None:
                        owned.append(int(claimed))
        if sorted(owned) != self.owned:
            log.info(
                "partitions_assigned",
                group=self.group,
                member=self.member,
                partitions=sorted(owned),
            )
        self.owned = sorted(owned)
        self._rebalanced_at = time.monotonic()
        return self.owned

    # -- consuming --------------------------------------------------------------------------

    def _cursors(self) -> dict[int, tuple[int, int]]:
        with self.database.sessions() as db:
            rows = db.execute(
                select(ConsumerOffset.partition, ConsumerOffset.txid, ConsumerOffset.position).where(
                    ConsumerOffset.group_name == self.group,
                    ConsumerOffset.partition.in_(self.owned),
                )
            ).all()
        found = {int(p): (int(t), int(pos)) for p, t, pos in rows}
        return {p: found.get(p, (0, 0)) for p in self.owned}

    def poll(self, max_records: int, timeout: float) -> list[Delivery]:
        if time.monotonic() - self._rebalanced_at > self.ttl.total_seconds() / 3:
            self.rebalance()
        if not self.owned:
            time.sleep(timeout)
            return []
        order = self.owned[self._next % len(self.owned) :] + self.owned[: self._next % len(self.owned)]
        self._next += 1
        share = max(max_records // len(order), 1)
        # Offsets and every owned partition's next records in one round trip: a batch's fixed
        # cost is what a consumer that keeps up (small batches) pays per event.
        with self.database.sessions() as db:
            db.execute(ORDERED_READS)
            rows = execute_binary(db, _POLL, {"group": self.group, "partitions": order, "share": share})
        deliveries = [Delivery(LogRecord(*row[1:]), row[0], (row[2], row[1])) for row in rows]
        if not deliveries:
            time.sleep(timeout)
        return deliveries

    def commit_in_transaction(self, db: Session, deliveries: Sequence[Delivery]) -> None:
        last: dict[int, tuple[int, int]] = {}
        for delivery in deliveries:
            assert isinstance(delivery.offset, tuple)
            last[delivery.partition] = max(last.get(delivery.partition, (0, 0)), delivery.offset)
        if not last:
            return
        moved = execute_binary(
            db,
            _COMMIT,
            {
                "group": self.group,
                "member": self.member,
                "ttl": self.ttl,
                "partitions": list(last),
                "txids": [cursor[0] for cursor in last.values()],
                "positions": [cursor[1] for cursor in last.values()],
            },
        )
        lost = set(last) - {row[0] for row in moved}
        if lost:
            # Fencing: a member whose lease lapsed (paused, partitioned) must not move the offset;
            # raising rolls back the batch, offsets of the partitions it still owns included.
            raise LeaseLost(f"{self.member} no longer owns {self.group}/{min(lost)}")

    def commit_after(self, deliveries: Sequence[Delivery]) -> None:
        return None

    def lag(self) -> dict[int, int]:
        cursors = self._cursors()
        with self.database.sessions() as db:
            return {
                partition: int(
                    db.scalar(
                        select(func.count()).select_from(
                            select(OutboxEvent.position)
                            .where(
                                OutboxEvent.partition == partition,
                                tuple_(OutboxEvent.txid, OutboxEvent.position) > tuple_(*cursor),
                            )
                            .limit(1_000_000)
                            .subquery()
                        )
                    )
                    or 0
                )
                for partition, cursor in cursors.items()
            }

    def close(self) -> None:
        """Give the partitions back at once instead of letting the leases run out."""
        with self.database.transaction() as db:
            db.execute(
                delete(ConsumerLease).where(ConsumerLease.group_name == self.group, ConsumerLease.owner == self.member)
            )
            db.execute(
                delete(ConsumerMember).where(
                    ConsumerMember.group_name == self.group, ConsumerMember.member == self.member
                )
            )
        self.owned = []
