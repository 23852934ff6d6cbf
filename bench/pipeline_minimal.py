"""bench/pipeline_minimal: the pipeline's ceiling, written by hand for the bench's events only.

The same stages as Veri's pipeline with everything general taken out: ingestion is a COPY of
the rows (no validation); on Kafka a relay reads the outbox and produces `type\\npayload` values
(cursor in memory); each consumer process owns fixed partitions (no leases, no group protocol),
decodes with orjson, enriches with the same pure function, and applies a whole batch with ONE
set-based statement: the content facts, the content-days with their growth, the creators'
daily rollups (incremented by the difference each row made, read in the same statement), and
on the embedded log its offsets. No processed marks, no dead letters, no upcasting.

What it assumes that Veri cannot: a post's snapshots arrive in time order (the bench's events
do), no campaign or brand attribution and no deals (the bench's events have none). With those,
it leaves exactly the rows Veri's analytics group leaves, which `bench/pipeline.py` checks.
"""

from __future__ import annotations

import multiprocessing
import time
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from veri.analytics.enrichment import normalise_metrics

__all__ = ["MinimalPipeline", "copy_into_outbox"]

GROUP = "minimal"
BATCH = 5000
PUBLISHED, SNAPSHOT = "content.published", "content.metrics_snapshot"
VERSION = {PUBLISHED: 1, SNAPSHOT: 2}

# One statement per batch. Data-modifying CTEs all see the table as it was before the statement,
# so `old` holds each content-day's previous growth and `pub_old` each post's previous day: the
# rollups move by exactly the difference this batch made (zero for a redelivered event).
APPLY = """
WITH s AS (
    SELECT * FROM unnest(%(ids)s::uuid[], %(days)s::date[], %(creators)s::uuid[], %(platforms)s::text[],
                         %(captured)s::timestamptz[], %(views)s::int8[], %(likes)s::int8[],
                         %(comments)s::int8[], %(shares)s::int8[], %(saves)s::int8[], %(rates)s::float8[],
                         %(firsts)s::bool[], %(dvs)s::int8[], %(des)s::int8[])
        AS s(content_id, day, creator_id, platform, captured_at, views, likes, comments, shares, saves,
             rate, first, dv, de)
), old AS (
    SELECT d.content_id, d.day, d.d_views, d.d_engagements
    FROM analytics_content_daily d JOIN s USING (content_id, day)
), up AS (
    INSERT INTO analytics_content_daily AS d
        (content_id, day, creator_id, platform, captured_at, views, likes, comments, shares, saves,
         engagement_rate, d_views, d_engagements)
    SELECT s.content_id, s.day, s.creator_id, s.platform, s.captured_at, s.views, s.likes, s.comments,
           s.shares, s.saves, s.rate,
           CASE WHEN s.first THEN s.views - COALESCE(p.views, 0) ELSE s.dv END,
           CASE WHEN s.first THEN s.likes + s.comments + s.shares + s.saves - COALESCE(p.eng, 0) ELSE s.de END
    FROM s LEFT JOIN LATERAL (
        SELECT q.views, q.likes + q.comments + q.shares + q.saves AS eng FROM analytics_content_daily q
        WHERE s.first AND q.content_id = s.content_id AND q.day < s.day ORDER BY q.day DESC LIMIT 1) p ON true
    ON CONFLICT (content_id, day) DO UPDATE SET
        captured_at = excluded.captured_at, views = excluded.views, likes = excluded.likes,
        comments = excluded.comments, shares = excluded.shares, saves = excluded.saves,
        engagement_rate = excluded.engagement_rate, d_views = excluded.d_views,
        d_engagements = excluded.d_engagements
    WHERE excluded.captured_at >= d.captured_at
    RETURNING d.content_id, d.day, d.creator_id, d.d_views, d.d_engagements
), pub_old AS (
    SELECT c.content_id, c.published_at::date AS day FROM analytics_content c
    WHERE c.content_id = ANY(%(p_ids)s::uuid[])
), pub AS (
    INSERT INTO analytics_content (content_id, creator_id, platform, published_at)
    SELECT * FROM unnest(%(p_ids)s::uuid[], %(p_creators)s::uuid[], %(p_platforms)s::text[],
                         %(p_published)s::timestamptz[])
    ON CONFLICT (content_id) DO UPDATE SET published_at = excluded.published_at
    RETURNING content_id, creator_id, published_at::date AS day
), delta AS (
    SELECT up.creator_id AS id, up.day, up.d_views - COALESCE(old.d_views, 0) AS views,
           up.d_engagements - COALESCE(old.d_engagements, 0) AS eng, 0 AS posts
    FROM up LEFT JOIN old USING (content_id, day)
    UNION ALL
    SELECT pub.creator_id, pub.day, 0, 0, 1 FROM pub LEFT JOIN pub_old USING (content_id)
    WHERE pub_old.day IS DISTINCT FROM pub.day
    UNION ALL
    SELECT pub.creator_id, pub_old.day, 0, 0, -1 FROM pub JOIN pub_old USING (content_id)
    WHERE pub_old.day <> pub.day
), offsets AS (
    INSERT INTO consumer_offsets (group_name, partition, txid, position)
    SELECT %(group)s, * FROM unnest(%(o_partitions)s::int2[], %(o_txids)s::int8[], %(o_positions)s::int8[])
    ON CONFLICT (group_name, partition) DO UPDATE SET txid = excluded.txid, position = excluded.position
)
INSERT INTO analytics_daily AS a
    (scope, scope_id, day, views, engagements, engagement_rate, posts, deals_accepted, deals_completed,
     earnings_cents)
SELECT 'creator', id, day, sum(views), sum(eng),
       CASE WHEN sum(views) > 0 THEN sum(eng)::float8 / sum(views) ELSE 0 END, sum(posts), 0, 0, 0
FROM delta GROUP BY id, day
ON CONFLICT (scope, scope_id, day) DO UPDATE SET
    views = a.views + excluded.views, engagements = a.engagements + excluded.engagements,
    engagement_rate = CASE WHEN a.views + excluded.views > 0
                           THEN (a.engagements + excluded.engagements)::float8 / (a.views + excluded.views)
                           ELSE 0 END,
    posts = a.posts + excluded.posts
"""


# A producer tuned for throughput (the relay's and the ceiling's): large lz4 batches, 5 ms linger.
BULK_PRODUCER: dict[str, Any] = {
    "compression.type": "lz4",
    "linger.ms": 5,
    "batch.num.messages": 10_000,
    "queue.buffering.max.messages": 1_000_000,
}


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def copy_into_outbox(url: str, events: list[dict[str, Any]], partitions: int, batch: int = 1000) -> None:
    """Minimal ingestion: the rows, by COPY, in transactions of `batch` events like Veri's."""
    with psycopg.connect(libpq_url(url)) as connection:
        for start in range(0, len(events), batch):
            with (
                connection.transaction(),
                connection.cursor() as cursor,
                cursor.copy(
                    "COPY event_outbox (event_id, type, version, stream, subject, partition, actor, occurred_at,"
                    " payload) FROM STDIN"
                ) as copy,
            ):
                for e in events[start : start + batch]:
                    copy.write_row(
                        (
                            e["id"],
                            e["type"],
                            VERSION[e["type"]],
                            "content",
                            e["subject"],
                            zlib.crc32(e["subject"].encode()) % partitions,
                            e["actor"],
                            e["occurred_at"],
                            orjson.dumps(e["payload"]).decode(),
                        )
                    )


def _columns(rows: list[tuple[str, bytes | str]]) -> dict[str, Any]:
    """The statement's arrays for a batch of (type, payload JSON)."""
    published: dict[str, tuple[str, str, str]] = {}
    latest: dict[tuple[str, Any], tuple[datetime, str, str, Any]] = {}
    for type_, raw in rows:
        p = orjson.loads(raw)
        if type_ == PUBLISHED:
            published[p["content_id"]] = (p["creator_id"], p["platform"].lower(), p["published_at"])
        elif type_ == SNAPSHOT:
            captured = datetime.fromisoformat(p["captured_at"]).astimezone(UTC)
            key = (p["content_id"], captured.date())
            if key not in latest or captured >= latest[key][0]:
                latest[key] = (captured, p["creator_id"], p["platform"].lower(), normalise_metrics(p["metrics"]))
    cols: dict[str, list[Any]] = {
        k: []
        for k in (
            [
                "ids",
                "days",
                "creators",
                "platforms",
                "captured",
                "views",
                "likes",
                "comments",
                "shares",
                "saves",
                "rates",
                "firsts",
                "dvs",
                "des",
            ]
        )
    }
    previous: tuple[str, int, int] | None = None  # (content, views, engagements) of the row before
    for (content, day), (captured, creator, platform, m) in sorted(latest.items()):
        engagements = m.engagements
        first = previous is None or previous[0] != content
        cols["ids"].append(content)
        cols["days"].append(day)
        cols["creators"].append(creator)
        cols["platforms"].append(platform)
        cols["captured"].append(captured)
        cols["views"].append(m.views)
        cols["likes"].append(m.likes)
        cols["comments"].append(m.comments)
        cols["shares"].append(m.shares)
        cols["saves"].append(m.saves)
        cols["rates"].append(engagements / m.views if m.views else 0.0)
        cols["firsts"].append(first)
        cols["dvs"].append(0 if first or previous is None else m.views - previous[1])
        cols["des"].append(0 if first or previous is None else engagements - previous[2])
        previous = (content, m.views, engagements)
    return {
        **cols,
        "p_ids": list(published),
        "p_creators": [v[0] for v in published.values()],
        "p_platforms": [v[1] for v in published.values()],
        "p_published": [datetime.fromisoformat(v[2]) for v in published.values()],
        "group": GROUP,
    }


def _embedded_consumer(url: str, partitions: list[int], done: Any, ready: Any, stop: Any) -> None:
    cursors = {p: (0, 0) for p in partitions}
    with psycopg.connect(url) as connection:
        ready.set()
        while not stop.is_set():
            rows: list[tuple[int, int, int, str, str]] = []
            share = max(BATCH // len(partitions), 1)
            with connection.cursor(binary=True) as cursor:
                for partition in partitions:
                    cursor.execute(
                        "SELECT partition, txid, position, type, payload::text FROM event_outbox"
                        " WHERE partition = %s AND (txid, position) > (%s, %s)"
                        " AND txid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
                        " ORDER BY txid, position LIMIT %s",
                        (partition, *cursors[partition], share),
                    )
                    rows.extend(cursor.fetchall())
                if not rows:
                    connection.commit()
                    time.sleep(0.02)
                    continue
                last = {r[0]: (r[1], r[2]) for r in rows}
                params = _columns([(r[3], r[4]) for r in rows])
                params |= {
                    "o_partitions": list(last),
                    "o_txids": [v[0] for v in last.values()],
                    "o_positions": [v[1] for v in last.values()],
                }
                cursor.execute(APPLY, params, binary=True)
            connection.commit()
            cursors.update(last)
            with done.get_lock():
                done.value += len(rows)


def _kafka_consumer(
    url: str, bootstrap: str, topic: str, partitions: list[int], done: Any, ready: Any, stop: Any
) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{GROUP}-{topic}",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
        }
    )
    # Fixed partitions: no group protocol to join or rebalance.
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    none = {"o_partitions": [], "o_txids": [], "o_positions": []}
    with psycopg.connect(url) as connection:
        ready.set()
        while not stop.is_set():
            messages = [m for m in consumer.consume(num_messages=BATCH, timeout=0.2) if m.error() is None]
            if not messages:
                continue
            rows = []
            for m in messages:
                value = m.value()
                assert value is not None
                type_, _, payload = value.partition(b"\n")
                rows.append((type_.decode(), payload))
            with connection.cursor(binary=True) as cursor:
                cursor.execute(APPLY, _columns(rows) | none, binary=True)
            connection.commit()
            consumer.commit(asynchronous=True)
            with done.get_lock():
                done.value += len(rows)
    consumer.close()


def _kafka_relay(url: str, bootstrap: str, topic: str, ready: Any, stop: Any) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, **BULK_PRODUCER})
    cursor_at = (0, 0)
    with psycopg.connect(url, autocommit=True) as connection:
        ready.set()
        while not stop.is_set():
            rows = connection.execute(
                "SELECT txid, position, subject, type, payload::text FROM event_outbox"
                " WHERE (txid, position) > (%s, %s)"
                " AND txid < (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint"
                " ORDER BY txid, position LIMIT 5000",
                cursor_at,
            ).fetchall()
            if not rows:
                time.sleep(0.02)
                continue
            for _, _, subject, type_, payload in rows:
                while True:
                    try:
                        producer.produce(topic, key=subject.encode(), value=f"{type_}\n{payload}".encode())
                        break
                    except BufferError:
                        producer.poll(0.05)
                producer.poll(0)
            producer.flush(30)
            cursor_at = (rows[-1][0], rows[-1][1])


class MinimalPipeline:
    """`processes` consumer processes splitting `partitions` (and, on Kafka, one relay process)."""

    def __init__(self, url: str, partitions: int, processes: int, *, bootstrap: str = "", topic: str = ""):
        url = libpq_url(url)
        context = multiprocessing.get_context("spawn")
        self.done = context.Value("q", 0)
        self.stop = context.Event()
        self.processes: list[Any] = []
        readies = []
        for index in range(processes):
            owned = [p for p in range(partitions) if p % processes == index]
            ready = context.Event()
            if bootstrap:
                args: tuple[Any, ...] = (url, bootstrap, topic, owned, self.done, ready, self.stop)
                self.processes.append(context.Process(target=_kafka_consumer, args=args))
            else:
                self.processes.append(
                    context.Process(target=_embedded_consumer, args=(url, owned, self.done, ready, self.stop))
                )
            readies.append(ready)
        if bootstrap:
            ready = context.Event()
            self.processes.append(context.Process(target=_kafka_relay, args=(url, bootstrap, topic, ready, self.stop)))
            readies.append(ready)
        for process in self.processes:
            process.start()
        deadline = time.monotonic() + 60
        while not all(ready.is_set() for ready in readies):
            if time.monotonic() > deadline or any(not p.is_alive() for p in self.processes):
                self.close()
                raise RuntimeError("a minimal consumer did not start")
            time.sleep(0.05)

    def applied(self) -> int:
        return int(self.done.value)

    def close(self) -> None:
        self.stop.set()
        for process in self.processes:
            process.join(30)
            if process.is_alive():
                process.kill()
