"""Kafka (tansu): replays of 1,000 Spring dead letters killed with kill -9 of mqtui, then run again.

Only the mqtui process is killed: tansu keeps everything in memory (it has no other storage engine
compiled in), so killing the broker loses every topic, and no replay guarantee could survive that.

Each seed gets a fresh origin topic (3 partitions, 50 records already in it) and a DLQ topic
`<origin>.DLQ` (2 partitions) holding 1,000 dead letters with the headers Spring Kafka's
DeadLetterPublishingRecoverer writes. A replay re-produces each dead letter (idempotent producer,
acks=all) with `mqtui-replayed-from: <dlq>/<partition>/<offset>`, then records it in the replay
group's committed offsets; a rerun skips what the commits record and, for a copy whose commit the kill
lost, what it finds by reading the origin's recent records for that header. With up to 500 dead letters
in flight the replay is fast, so some points land after the last copy was delivered but before the
replay recorded its progress and printed its result: those count too. So afterwards every dead
letter has exactly one copy in the origin: lost 0, duplicates 0.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from mqtui.brokers.kafka_replay import REPLAYED_FROM
from mqtui.localbrokers import LocalKafka
from tests.faults.harness import (
    FaultPoint,
    interrupt,
    profile,
    record,
    rerun,
    spawn_replay,
)
from tests.kafka.conftest import QUIET, KafkaTools
from tests.kafka.test_dlq import spring_headers

pytestmark = pytest.mark.fault

TOTAL = 1000
BYSTANDERS = 50
SEEDS = range(20)
MOST = 900
#: The replay keeps up to 500 dead letters in flight, so it runs in shorter slices than the others.
STEP = 0.0005
TIMEOUT = 5.0
ORIGIN_PARTITIONS, DLQ_PARTITIONS = 3, 2
REPLAY_GROUP = "mqtui-replay"


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A private tansu, so the suite's 40,000 records stay out of the shared broker's memory."""
    broker = LocalKafka(tmp_path_factory.mktemp("fault-kafka"), name="fault-kafka")
    broker.start()
    yield broker
    broker.stop()


def order(index: int) -> bytes:
    return orjson.dumps({"id": f"m{index:04d}", "type": "order.created", "total": index})


def produce_one_per_batch(url: str, topic: str, records: list[tuple[int, bytes, bytes, list]]) -> None:
    """(partition, key, value, headers) records, each in a batch of its own (tansu counts batches)."""
    producer = Producer({"bootstrap.servers": url, "batch.num.messages": 1, "linger.ms": 0, **QUIET})
    errors: list[object] = []
    for partition, key, value, headers in records:
        producer.produce(topic, value=value, key=key, headers=headers or None, partition=partition,
                         on_delivery=lambda error, _m: errors.append(error) if error else None)  # fmt: skip
        producer.poll(0)
    assert producer.flush(30) == 0 and not errors, errors


def seed_dead_letters(tools: KafkaTools, origin: str, dlq: str) -> None:
    tools.create(origin, ORIGIN_PARTITIONS)
    tools.create(dlq, DLQ_PARTITIONS)
    live = [(i % ORIGIN_PARTITIONS, b"live-%d" % i, b'{"id": "live-%d"}' % i, []) for i in range(BYSTANDERS)]
    produce_one_per_batch(tools.url, origin, live)
    letters = [
        (i % DLQ_PARTITIONS, b"order-%d" % i, order(i),
         [*spring_headers(origin, i % ORIGIN_PARTITIONS, 100 + i), ("trace-id", b"t-%d" % i)])
        for i in range(TOTAL)
    ]  # fmt: skip
    produce_one_per_batch(tools.url, dlq, letters)
    ends = end_offsets(tools.url, dlq, DLQ_PARTITIONS)
    assert ends == [TOTAL // DLQ_PARTITIONS] * DLQ_PARTITIONS, ends


def end_offsets(url: str, topic: str, partitions: int) -> list[int]:
    consumer = Consumer({"bootstrap.servers": url, "group.id": "fault-probe", **QUIET})
    try:
        return [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5, cached=False)[1]
                for p in range(partitions)]  # fmt: skip
    finally:
        consumer.close()


class RecordCounter:
    """Counts the records of a topic by reading them as they come (tansu's high watermark falls short
    of the last multi-record batch, and the replay sends many records per batch)."""

    def __init__(self, url: str, topic: str) -> None:
        self.consumer = Consumer({"bootstrap.servers": url, "group.id": "fault-probe", "enable.auto.commit": False,
                                  "fetch.wait.max.ms": 5, **QUIET})  # fmt: skip
        self.consumer.assign([TopicPartition(topic, p, 0) for p in range(ORIGIN_PARTITIONS)])
        self.seen = 0

    def count(self) -> int:
        """Records so far: reads until a short wait brings nothing new."""
        while batch := self.consumer.consume(10_000, 0.01):
            self.seen += sum(1 for message in batch if message.error() is None)
        return self.seen

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def tools(tansu: LocalKafka) -> Iterator[KafkaTools]:
    kafka = KafkaTools(tansu.url)
    yield kafka
    del kafka.admin  # tansu waits for open connections on SIGTERM


@pytest.mark.parametrize("seed", SEEDS)
def test_spring_dlq_replay_killed_at_a_seeded_point(
    seed: int, tansu: LocalKafka, tools: KafkaTools, tmp_path: Path
) -> None:
    point = FaultPoint.draw("kafka", "spring DLQ topic", seed, victims=("mqtui",), most=MOST)
    origin = f"orders-{seed}-{uuid.uuid4().hex[:6]}"
    dlq = f"{origin}.DLQ"
    seed_dead_letters(tools, origin, dlq)
    config = profile(tmp_path / "config.toml", {**tansu.broker_config(), "name": "stream", "timeout": TIMEOUT})

    counter = RecordCounter(tansu.url, origin)
    try:
        process = spawn_replay(config, "stream", dlq, tmp_path / "first")
        first = interrupt(process, point, lambda: counter.count() - BYSTANDERS, tansu.kill, TOTAL,
                          tmp_path / "first", TIMEOUT, step=STEP, late=True)  # fmt: skip
    finally:
        counter.close()
    again = rerun(config, "stream", dlq)

    copies: Counter[str] = Counter()
    values: dict[str, bytes] = {}
    bystanders = 0
    for message in tools.read_all(origin, ORIGIN_PARTITIONS):
        source = dict(message.headers() or ()).get(REPLAYED_FROM)
        if source is None:
            bystanders += 1
            continue
        copies[source.decode()] += 1
        values[source.decode()] = message.value()
    expected = {f"{dlq}/{i % DLQ_PARTITIONS}/{i // DLQ_PARTITIONS}": order(i) for i in range(TOTAL)}
    assert bystanders == BYSTANDERS and set(copies) <= set(expected)
    assert all(values[source] == expected[source] for source in values)
    lost = sum(1 for source in expected if copies[source] == 0)
    duplicates = sum(n - 1 for n in copies.values() if n > 1)
    assert tools.committed(REPLAY_GROUP, dlq, DLQ_PARTITIONS) == dict.fromkeys(range(DLQ_PARTITIONS), TOTAL // 2)
    reported = record(point, TOTAL, first, again, lost, duplicates)
    assert (lost, duplicates, reported) == (0, 0, 0), point
