"""Lag rows: each consumer loop records its partitions' lag; a row nobody has measured for a while
(a partition that vanished when a topic came back with fewer, a member gone) is deleted by the
group's live consumers, so a caught-up group shows lag 0 again."""

from __future__ import annotations

from sqlalchemy import text

from veri.db.engine import Database
from veri.events.lag import record_lag


class Measured:
    """A consumer of the group as `record_lag` sees it: its group, its name and its partitions' lag."""

    def __init__(self, group: str, lag: dict[int, int]):
        self.group, self.member, self._lag = group, "worker-1", lag

    def lag(self) -> dict[int, int]:
        return self._lag


def _rows(database: Database) -> dict[tuple[str, int], int]:
    with database.sessions() as db:
        return {(g, p): n for g, p, n in db.execute(text("SELECT group_name, partition, lag FROM consumer_lag"))}


def test_rows_of_partitions_nobody_measures_any_more_are_dropped(clean_db: Database) -> None:
    record_lag(clean_db, Measured("analytics", {p: 5 for p in range(8)}))  # type: ignore[arg-type]
    record_lag(clean_db, Measured("scoring", {7: 3}))  # type: ignore[arg-type]
    with clean_db.transaction() as db:  # partitions 4-7 of analytics last measured ten minutes ago
        db.execute(
            text(
                "UPDATE consumer_lag SET measured_at = now() - interval '10 minutes'"
                " WHERE group_name = 'analytics' AND partition >= 4"
            )
        )

    record_lag(clean_db, Measured("analytics", {0: 0, 1: 0, 2: 0, 3: 0}))  # type: ignore[arg-type]

    assert _rows(clean_db) == {**{("analytics", p): 0 for p in range(4)}, ("scoring", 7): 3}


def test_a_recent_row_of_another_member_stays(clean_db: Database) -> None:
    record_lag(clean_db, Measured("analytics", {0: 2, 1: 4}))  # type: ignore[arg-type]
    record_lag(clean_db, Measured("analytics", {0: 1}))  # type: ignore[arg-type]
    assert _rows(clean_db) == {("analytics", 0): 1, ("analytics", 1): 4}
