"""Filling tansu topics fast while keeping its watermarks truthful.

tansu 0.6.0 answers ListOffsets(latest) with the base offset of the partition's last record batch plus
one, not with the offset after its last record. Records inside a batch still get one offset each
(consumers see 0, 1, 2, ...), so only the high watermark is wrong, and only when the last batch held
more than one record. Producing everything in one-record batches (`batch.num.messages=1`) makes it
right but runs at about 10,000 records/s (100 s for a million). So the bulk goes in large batches at
several hundred thousand records/s, the producer is flushed, and each partition then gets one final
record in a batch of its own: the watermark is then the true end (1,000,000 for 1,000,000 records).
"""

from __future__ import annotations

from typing import Any

from common import QUIET
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

BULK = {"linger.ms": 20, "batch.num.messages": 10_000, "batch.size": 4_000_000, "queue.buffering.max.messages": 500_000}
SINGLE = {"linger.ms": 0, "batch.num.messages": 1}


def create_topics(url: str, names: list[str], partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": url, **QUIET})
    for future in admin.create_topics([NewTopic(name, partitions, 1) for name in names]).values():
        future.result(30)


def _produce(producer: Producer, topic: str, value: bytes, partition: int, count: int, **extra: Any) -> None:
    for _ in range(count):
        while True:
            try:
                producer.produce(topic, value, partition=partition, **extra)
                break
            except BufferError:
                producer.poll(0.01)


def fill(url: str, topic: str, count: int, size: int = 200, partitions: int = 1) -> None:
    """`count` records of `size` bytes spread over `partitions`, with watermarks summing to `count`."""
    value = b"x" * size
    per_partition = [count // partitions + (1 if p < count % partitions else 0) for p in range(partitions)]
    bulk = Producer({"bootstrap.servers": url, **BULK, **QUIET})
    for partition, records in enumerate(per_partition):
        _produce(bulk, topic, value, partition, max(0, records - 1))
    if bulk.flush(120) != 0:
        raise RuntimeError("bulk produce did not finish")
    single = Producer({"bootstrap.servers": url, **SINGLE, **QUIET})
    for partition, records in enumerate(per_partition):
        if records:
            _produce(single, topic, value, partition, 1)
            single.flush(30)  # a batch of its own: the watermark becomes base offset + 1 = the true end


def fill_cycling(url: str, topic: str, values: list[bytes], count: int) -> None:
    """`count` records on partition 0 cycling through `values` (realistic payloads, few to build), the
    last in a batch of its own so that the high watermark is `count`."""
    bulk = Producer({"bootstrap.servers": url, **BULK, **QUIET})
    for n in range(count - 1):
        _produce(bulk, topic, values[n % len(values)], 0, 1)
    if bulk.flush(120) != 0:
        raise RuntimeError("bulk produce did not finish")
    single = Producer({"bootstrap.servers": url, **SINGLE, **QUIET})
    _produce(single, topic, values[(count - 1) % len(values)], 0, 1)
    single.flush(30)


def fill_single(url: str, topic: str, per_partition: int, partitions: int, size: int = 100) -> None:
    """Few records per partition, each in its own batch (exact watermarks, ~10,000 records/s)."""
    producer = Producer({"bootstrap.servers": url, **SINGLE, **QUIET})
    value = b"y" * size
    for partition in range(partitions):
        _produce(producer, topic, value, partition, per_partition)
    if producer.flush(60) != 0:
        raise RuntimeError("produce did not finish")


def high_watermarks(url: str, topic: str, partitions: int = 1) -> list[int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": url, "group.id": "bench-watermarks", **QUIET})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)]
    finally:
        consumer.close()
