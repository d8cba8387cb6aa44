"""Kafka fixtures: an adapter on the session's tansu broker, and helpers that write exact test data.

Every test makes its own topics and groups (unique names), so tests share one broker and stay
independent. Test data is produced one record per batch: tansu counts batches in its ListOffsets
high watermark (see test_tansu_deviations.py), and single-record batches make it answer truthfully.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.config import KafkaConfig
from mqtui.demo.localbrokers import LocalKafka
from tests.helpers import write_config

QUIET = {"log_level": 0}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Record:
    value: bytes = b""
    key: bytes | None = None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)
    partition: int | None = None
    timestamp: int | None = None


class KafkaTools:
    """Plain confluent-kafka, used to set the scene the adapter is then asked about."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = AdminClient({"bootstrap.servers": url, **QUIET})

    def topic(self, prefix: str = "t", partitions: int = 1) -> str:
        name = unique(prefix)
        self.create(name, partitions)
        return name

    def create(self, name: str, partitions: int = 1) -> str:
        for future in self.admin.create_topics([NewTopic(name, partitions, 1)]).values():
            future.result(10)
        return name

    def produce(self, topic: str, records: Iterable[Record | bytes]) -> list[tuple[int, int]]:
        """Send records one per batch and return each one's (partition, offset)."""
        producer = Producer({"bootstrap.servers": self.url, "batch.num.messages": 1, "linger.ms": 0, **QUIET})
        results: list[Any] = []
        items = [r if isinstance(r, Record) else Record(value=r) for r in records]
        reports: list[Any] = [None] * len(items)
        for index, record in enumerate(items):
            extra: dict[str, Any] = {}
            if record.partition is not None:
                extra["partition"] = record.partition
            if record.timestamp is not None:
                extra["timestamp"] = record.timestamp
            producer.produce(topic, value=record.value, key=record.key, headers=record.headers or None,
                             on_delivery=lambda e, m, i=index: reports.__setitem__(i, (e, m)), **extra)  # fmt: skip
            producer.flush(10)  # one record per request: what tansu needs to count offsets truthfully
        for error, message in reports:
            assert error is None, error
            results.append((message.partition(), message.offset()))
        return results

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        """Commit offsets for a group the way a consumer that read them would, without joining it."""
        consumer = Consumer({"bootstrap.servers": self.url, "group.id": group, "enable.auto.commit": False, **QUIET})
        try:
            consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
        finally:
            consumer.close()

    def consume_and_commit(self, group: str, topic: str, partition: int, count: int) -> None:
        """Really read `count` records of a partition as `group` (by assignment) and commit after them."""
        consumer = Consumer({"bootstrap.servers": self.url, "group.id": group, "enable.auto.commit": False,
                             "auto.offset.reset": "earliest", **QUIET})  # fmt: skip
        try:
            consumer.assign([TopicPartition(topic, partition, 0)])
            read: list[Any] = []
            while len(read) < count:
                read.extend(m for m in consumer.consume(count - len(read), 0.2) if m.error() is None)
            consumer.commit(offsets=[TopicPartition(topic, partition, read[-1].offset() + 1)], asynchronous=False)
        finally:
            consumer.close()

    def committed(self, group: str, topic: str, partitions: int) -> dict[int, int]:
        consumer = Consumer({"bootstrap.servers": self.url, "group.id": group, **QUIET})
        try:
            answer = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        finally:
            consumer.close()
        return {tp.partition: tp.offset for tp in answer}

    def read_all(self, topic: str, partitions: int = 1) -> list[Any]:
        """Every record of a topic, via assignment, until each partition reports its end."""
        consumer = Consumer({"bootstrap.servers": self.url, "group.id": unique("reader"),
                             "enable.partition.eof": True, "enable.auto.commit": False, **QUIET})  # fmt: skip
        try:
            consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
            ended: set[int] = set()
            records: list[Any] = []
            while len(ended) < partitions:
                for message in consumer.consume(1000, 0.2):
                    if message.error() is None:
                        records.append(message)
                    elif message.error().code() == KafkaError._PARTITION_EOF:
                        ended.add(message.partition())
        finally:
            consumer.close()
        return records


@pytest.fixture(scope="session")
def kafka(kafka_server: LocalKafka) -> Iterator[KafkaTools]:
    tools = KafkaTools(kafka_server.url)
    yield tools
    # Drop the admin connection before the broker stops: tansu waits for open connections on SIGTERM.
    del tools.admin
    gc.collect()


def kafka_config(url: str, **extra: Any) -> KafkaConfig:
    return KafkaConfig(name="test-kafka", url=url, timeout=5.0, **extra)


@pytest_asyncio.fixture(loop_scope="function")
async def adapter(kafka_server: LocalKafka) -> AsyncIterator[KafkaAdapter]:
    connected = KafkaAdapter(kafka_config(kafka_server.url))
    await connected.connect()
    try:
        yield connected
    finally:
        await connected.close()


@pytest.fixture
def cli_config(tmp_path: Path, kafka_server: LocalKafka) -> Iterator[Path]:
    """A profile `k` holding the session broker as `test-kafka`."""
    yield write_config(tmp_path / "config.toml", {"k": {"brokers": [kafka_server.broker_config()]}})
