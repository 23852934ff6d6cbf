"""bench/kafka_clients: why Veri uses confluent-kafka. The same 100k keyed messages produced and
consumed through tansu by confluent-kafka and by aiokafka, in one run. Prints JSON.

    .venv/bin/python bench/kafka_clients.py --messages 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import Tansu, free_port


def messages(n: int) -> list[tuple[bytes, bytes]]:
    body = json.dumps({"type": "content.metrics_snapshot", "payload": {"metrics": {"play_count": 1234}}}).encode()
    return [(f"creator:{i % 500}".encode(), body) for i in range(n)]


def confluent(bootstrap: str, items: list[tuple[bytes, bytes]]) -> dict[str, float]:
    from confluent_kafka import Consumer, Producer

    topic = f"c-{uuid.uuid4().hex[:6]}"
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "linger.ms": 5,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    started = time.perf_counter()
    for key, value in items:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    produced = time.perf_counter() - started
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": topic, "auto.offset.reset": "earliest", "session.timeout.ms": 3000}
    )
    consumer.subscribe([topic])
    seen, started = 0, 0.0
    while seen < len(items):
        got = sum(1 for m in consumer.consume(num_messages=5000, timeout=1.0) if m.error() is None)
        if got and not started:  # time from the first delivery: joining the group is not throughput
            started = time.perf_counter()
        seen += got
    consumed = time.perf_counter() - started
    consumer.close()
    return {"produce_per_s": len(items) / produced, "consume_per_s": len(items) / consumed}


async def aiokafka_run(bootstrap: str, items: list[tuple[bytes, bytes]]) -> dict[str, float]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = f"a-{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, compression_type="lz4")
    await producer.start()
    started = time.perf_counter()
    batch = []
    for key, value in items:
        batch.append(await producer.send(topic, value=value, key=key))
    await asyncio.gather(*batch)
    produced = time.perf_counter() - started
    await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest", session_timeout_ms=6000
    )
    await consumer.start()
    seen, started = 0, 0.0
    while seen < len(items):
        result = await consumer.getmany(timeout_ms=1000, max_records=5000)
        got = sum(len(v) for v in result.values())
        if got and not started:
            started = time.perf_counter()
        seen += got
    consumed = time.perf_counter() - started
    await consumer.stop()
    return {"produce_per_s": len(items) / produced, "consume_per_s": len(items) / consumed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    n = parser.parse_args().messages
    items = messages(n)
    broker = Tansu(free_port(), Path(tempfile.mkdtemp()) / "tansu.log")
    broker.start()
    try:
        results = {"confluent-kafka": confluent(broker.bootstrap, items)}
        try:
            results["aiokafka"] = asyncio.run(aiokafka_run(broker.bootstrap, items))
        except ImportError:
            results["aiokafka"] = {"produce_per_s": 0.0, "consume_per_s": 0.0}
        base = results["aiokafka"]
        for client, rates in results.items():
            print(
                json.dumps(
                    {
                        "bench": "kafka_clients",
                        "client": client,
                        "messages": n,
                        "produce_per_s": round(rates["produce_per_s"]),
                        "consume_per_s": round(rates["consume_per_s"]),
                        "produce_ratio_to_aiokafka": round(rates["produce_per_s"] / base["produce_per_s"], 2)
                        if base["produce_per_s"]
                        else None,
                        "consume_ratio_to_aiokafka": round(rates["consume_per_s"] / base["consume_per_s"], 2)
                        if base["consume_per_s"]
                        else None,
                    }
                )
            )
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
