"""The Kafka-protocol bus (Kafka, Redpanda; tansu in tests), with confluent-kafka (librdkafka):
one topic per stream, records keyed by subject, consumer groups with manual commits.

Correctness does not rest on broker features (tansu has no idempotent producer nor
transactions): the outbox is the source of truth, the relay re-sends until the broker has a
record, and consumers skip what they already applied."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy.orm import Session

from veri.events.bus.base import Delivery
from veri.events.outbox import LogRecord
from veri.events.registry import REGISTRY

__all__ = ["KafkaBus", "KafkaConsumer", "PublishFailed", "decode", "encode"]

log = structlog.get_logger(__name__)


class PublishFailed(RuntimeError):
    pass


def encode(record: LogRecord) -> bytes:
    envelope = orjson.dumps(
        {
            "position": record.position,
            "txid": record.txid,
            "id": record.event_id,
            "type": record.type,
            "version": record.version,
            "stream": record.stream,
            "subject": record.subject,
            "partition": record.partition,
            "actor": record.actor,
            "occurred_at": record.occurred_at,
            "recorded_at": record.recorded_at,
        }
    )
    # The payload is already JSON text: splice it in rather than parse and dump it again.
    payload = record.payload.encode() if isinstance(record.payload, str) else orjson.dumps(record.payload)
    return envelope[:-1] + b',"payload":' + payload + b"}"


# Where `encode` spliced the payload in. It cannot occur earlier: no envelope key is "payload",
# and a quote inside a JSON string is always escaped.
_PAYLOAD = b',"payload":'


def decode(value: bytes) -> LogRecord:
    cut = value.find(_PAYLOAD)
    if cut < 0 or not value.endswith(b"}"):
        data: dict[str, Any] = orjson.loads(value)
        payload: str | dict[str, Any] = data["payload"]
    else:
        # The payload stays JSON text, parsed once by pydantic straight into its model: parsing
        # it into a dict first cost as much again.
        data = orjson.loads(value[:cut] + b"}")
        payload = value[cut + len(_PAYLOAD) : -1].decode()
    return LogRecord(
        position=int(data["position"]),
        txid=int(data["txid"]),
        event_id=uuid.UUID(data["id"]),
        type=data["type"],
        version=int(data["version"]),
        stream=data["stream"],
        subject=data["subject"],
        partition=int(data["partition"]),
        actor=data["actor"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        payload=payload,
        # Records relayed before recorded_at was carried count as just recorded.
        recorded_at=datetime.fromisoformat(data["recorded_at"]) if data.get("recorded_at") else None,
    )


class KafkaBus:
    name = "kafka"
    needs_relay = True

    def __init__(
        self,
        bootstrap: str,
        *,
        topic_prefix: str = "veri.",
        partitions: int = 8,
        compression: str = "lz4",
        session_timeout_ms: int = 6000,
    ):
        self.bootstrap = bootstrap
        self.topic_prefix = topic_prefix
        self.partitions = partitions
        self.compression = compression
        self.session_timeout_ms = session_timeout_ms
        self._producer: Producer | None = None

    def topic(self, stream: str) -> str:
        return f"{self.topic_prefix}{stream}"

    def topics(self) -> list[str]:
        return sorted({self.topic(t.stream) for t in REGISTRY.all()})

    def ensure_topics(self, timeout: float = 10.0) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        existing = set(admin.list_topics(timeout=timeout).topics)
        wanted = [
            NewTopic(t, num_partitions=self.partitions, replication_factor=1)
            for t in self.topics()
            if t not in existing
        ]
        for topic, future in admin.create_topics(wanted, request_timeout=timeout).items() if wanted else []:
            try:
                future.result(timeout)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
            log.info("topic_created", topic=topic)

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "compression.type": self.compression,
                    "linger.ms": 5,
                    "batch.num.messages": 10_000,
                    "queue.buffering.max.messages": 1_000_000,
                    # The relay re-sends from the outbox; a record that cannot be delivered
                    # soon should fail the batch rather than wait for minutes.
                    "message.timeout.ms": 15_000,
                    "enable.idempotence": False,
                }
            )
        return self._producer

    def publish(self, records: Sequence[LogRecord]) -> None:
        failures: list[str] = []

        def on_delivery(error: KafkaError | None, _: object) -> None:
            if error is not None:
                failures.append(str(error))

        producer = self.producer
        for record in records:
            while True:
                try:
                    producer.produce(
                        self.topic(record.stream),
                        key=record.subject.encode(),
                        value=encode(record),
                        on_delivery=on_delivery,
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
        remaining = producer.flush(20.0)
        if remaining or failures:
            raise PublishFailed(f"{remaining} records not acknowledged; errors: {failures[:3]}")

    def consumer(self, group: str, member: str) -> KafkaConsumer:
        return KafkaConsumer(self, group, member)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(5.0)
            self._producer = None


class KafkaConsumer:
    def __init__(self, bus: KafkaBus, group: str, member: str):
        self.group = group
        self.member = member
        self._consumer = Consumer(
            {
                "bootstrap.servers": bus.bootstrap,
                "group.id": group,
                "client.id": member,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": bus.session_timeout_ms,
                "heartbeat.interval.ms": max(bus.session_timeout_ms // 4, 250),
                "topic.metadata.refresh.interval.ms": 2000,
                "fetch.wait.max.ms": 100,
            }
        )
        # Partitions this member holds, kept by the rebalance callbacks (called inside poll).
        self.assigned: set[tuple[str, int]] = set()
        self._consumer.subscribe(bus.topics(), on_assign=self._on_assign, on_revoke=self._on_revoke)

    def _on_assign(self, _: object, partitions: list[TopicPartition]) -> None:
        self.assigned |= {(tp.topic, tp.partition) for tp in partitions}
        log.info("partitions_assigned", group=self.group, member=self.member, partitions=sorted(self.assigned))

    def _on_revoke(self, _: object, partitions: list[TopicPartition]) -> None:
        self.assigned -= {(tp.topic, tp.partition) for tp in partitions}

    def poll(self, max_records: int, timeout: float) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for message in self._consumer.consume(num_messages=max_records, timeout=timeout):
            error = message.error()
            if error is not None:
                if error.code() not in (
                    KafkaError._PARTITION_EOF,
                    KafkaError.UNKNOWN_TOPIC_OR_PART,
                ):
                    log.warning("kafka_consume_error", group=self.group, error=str(error))
                continue
            value = message.value()
            assert value is not None
            deliveries.append(
                Delivery(
                    decode(value),
                    int(message.partition() or 0),
                    int(message.offset() or 0),
                    message.topic() or "",
                )
            )
        return deliveries

    def commit_in_transaction(self, db: Session, deliveries: Sequence[Delivery]) -> None:
        return None

    def commit_after(self, deliveries: Sequence[Delivery]) -> None:
        last: dict[tuple[str, int], int] = {}
        for d in deliveries:
            assert isinstance(d.offset, int)
            key = (d.topic, d.partition)
            last[key] = max(last.get(key, -1), d.offset)
        if last:
            try:
                self._consumer.commit(
                    offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()],
                    asynchronous=False,
                )
            except KafkaException as exc:
                # Already applied in Postgres; a redelivery is skipped by the processed marks.
                log.warning("kafka_commit_failed", group=self.group, error=str(exc))

    def lag(self) -> dict[int, int]:
        lag: dict[int, int] = {}
        try:
            assigned = self._consumer.assignment()
            for tp in self._consumer.position(assigned):
                # The watermarks the last fetch of the partition brought back: asking the broker
                # for each of dozens of partitions held the consumer's thread for seconds on tansu
                # (~0.1 s each, every few seconds), and its answers lagged the fetched ones.
                low, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if high < 0 or low < 0:  # not fetched yet
                    low, high = self._consumer.get_watermark_offsets(tp, timeout=2.0, cached=False)
                position = tp.offset if tp.offset >= 0 else low
                lag[tp.partition] = lag.get(tp.partition, 0) + max(high - position, 0)
        except KafkaException as exc:
            log.warning("kafka_lag_failed", group=self.group, error=str(exc))
        return lag

    def close(self) -> None:
        self._consumer.close()
