"""Kafka (tansu): replays of 1,000 Spring dead letters killed with kill -9 of mqtui, then run again.

Only the mqtui process is killed: tansu keeps everything in memory (it has no other storage engine
compiled in), so killing the broker loses every topic, and no replay guarantee could survive that.

Each seed gets a fresh origin topic (48 partitions, 50 records already in it) and a DLQ topic
`<origin>.DLQ` (2 partitions) holding 1,000 dead letters with the headers Spring Kafka's
DeadLetterPublishingRecoverer writes. A replay re-produces each dead letter (idempotent producer,
acks=all) with `mqtui-replayed-from: <dlq>/<partition>/<offset>`, then records it in the replay
group's committed offsets; a rerun skips what the commits record and, for a copy whose commit the kill
lost, what it finds by reading the origin's recent records for that header. So afterwards every dead
letter has exactly one copy in the origin: lost 0, duplicates 0.

The replay keeps up to `WINDOW` (5,000) dead letters in flight, so all 1,000 are produced at once, and
with the harness's SIGSTOP slices, even of 0.5 ms, about one point in four came after the last copy
was sent. So mqtui reaches tansu through a `GatedLink` that passes one Kafka request (and waits for
its answer) between two counts. tansu tells clients to connect to the address it advertises, so it
advertises the link's, and the test's own clients come through the link too; only connections whose
first request names mqtui's client id are metered. A produce request carries one origin partition's
batch (30 copies at most on 48 partitions), and the producer writes at most 5 requests ahead of its
answers (held by the link, delivered after the kill). So points stop at 820: the count that reaches
a point is at most one request past it, mqtui has written at most 5 requests more, so when it dies at
most 999 copies are sent, and the rerun always has some left to send.
"""

from __future__ import annotations

import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from mqtui.brokers.kafka.replay import REPLAYED_FROM
from mqtui.demo.localbrokers import LocalKafka
from tests.faults.harness import (
    FaultPoint,
    interrupt,
    profile,
    record,
    rerun,
    spawn_replay,
)
from tests.faults.link import GatedLink
from tests.kafka.conftest import QUIET, KafkaTools
from tests.kafka.test_dlq import spring_headers

pytestmark = pytest.mark.fault

TOTAL = 1000
BYSTANDERS = 50
SEEDS = range(20)
TIMEOUT = 5.0
ORIGIN_PARTITIONS, DLQ_PARTITIONS = 48, 2
#: Copies on the fullest origin partition: the replay's producer puts each on its key's partition
#: (Java's murmur2), which gives the keys order-0 to order-999 11 to 30 per partition (checked below).
LARGEST_SHARE = 30
#: Produce requests librdkafka's idempotent producer leaves unanswered at most (max.in.flight).
IN_FLIGHT = 5
#: A produce request carries one partition's batch. The count that reaches a point went up by one
#: request at most, and mqtui may have written IN_FLIGHT more that the link held and delivers after
#: the kill, so a point up to 820 leaves at least one copy unsent when mqtui dies.
MOST = TOTAL - (IN_FLIGHT + 1) * LARGEST_SHARE
REPLAY_GROUP = "mqtui-replay"
#: mqtui's client id in the profile: the link meters the connections whose first request carries it.
CLIENT_ID = "mqtui-fault-replay"


def from_mqtui(request: bytes) -> bool:
    """Whether a connection's first request (size, api key, version, correlation id, then the client id
    as a 2-byte length and its bytes) comes from the replay under test."""
    size = int.from_bytes(request[12:14], "big", signed=True)
    return request[14 : 14 + size] == CLIENT_ID.encode()


class LinkedKafka(LocalKafka):
    """tansu reached through a metered link: it advertises the link's address, so every client learns it
    from metadata and reconnects there."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, name="fault-kafka")
        self.link = GatedLink(self.port, framed=True, meters=from_mqtui)

    def _spawn(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        at = args.index("--advertised-listener-url") + 1
        return super()._spawn([*args[:at], f"tcp://127.0.0.1:{self.link.port}", *args[at + 1 :]], env)


@pytest.fixture(scope="module")
def tansu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LinkedKafka]:
    """A private tansu, so the suite's records stay out of the shared broker's memory."""
    broker = LinkedKafka(tmp_path_factory.mktemp("fault-kafka"))
    broker.link.start()
    try:
        broker.start()
        yield broker
    finally:
        broker.link.stop()  # first: tansu waits for its open connections on SIGTERM
        broker.stop()


@pytest.fixture
def link(tansu: LinkedKafka) -> GatedLink:
    """The link, held again: the last seed's rerun went through it unmetered."""
    tansu.link.hold()
    return tansu.link


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
    seed: int, tansu: LinkedKafka, link: GatedLink, tools: KafkaTools, tmp_path: Path
) -> None:
    point = FaultPoint.draw("kafka", "spring DLQ topic", seed, victims=("mqtui",), most=MOST)
    origin = f"orders-{seed}-{uuid.uuid4().hex[:6]}"
    dlq = f"{origin}.DLQ"
    seed_dead_letters(tools, origin, dlq)
    entry = {**tansu.broker_config(), "name": "stream", "url": f"127.0.0.1:{link.port}", "client_id": CLIENT_ID,
             "timeout": TIMEOUT}  # fmt: skip
    config = profile(tmp_path / "config.toml", entry)

    counter = RecordCounter(tansu.url, origin)
    try:
        process = spawn_replay(config, "stream", dlq, tmp_path / "first")
        first = interrupt(process, point, lambda: counter.count() - BYSTANDERS, tansu.kill, TOTAL,
                          tmp_path / "first", TIMEOUT, link=link)  # fmt: skip
    finally:
        counter.close()
    again = rerun(config, "stream", dlq)

    copies: Counter[str] = Counter()
    values: dict[str, bytes] = {}
    shares: Counter[int] = Counter()
    bystanders = 0
    for message in tools.read_all(origin, ORIGIN_PARTITIONS):
        source = dict(message.headers() or ()).get(REPLAYED_FROM)
        if source is None:
            bystanders += 1
            continue
        copies[source.decode()] += 1
        values[source.decode()] = message.value()
        shares[message.partition()] += 1
    expected = {f"{dlq}/{i % DLQ_PARTITIONS}/{i // DLQ_PARTITIONS}": order(i) for i in range(TOTAL)}
    assert bystanders == BYSTANDERS and set(copies) <= set(expected)
    assert all(values[source] == expected[source] for source in values)
    lost = sum(1 for source in expected if copies[source] == 0)
    duplicates = sum(n - 1 for n in copies.values() if n > 1)
    assert tools.committed(REPLAY_GROUP, dlq, DLQ_PARTITIONS) == dict.fromkeys(range(DLQ_PARTITIONS), TOTAL // 2)
    reported = record(point, TOTAL, first, again, lost, duplicates)
    assert (lost, duplicates, reported) == (0, 0, 0), point
    assert max(shares.values()) <= LARGEST_SHARE, f"MOST assumes at most {LARGEST_SHARE} copies a partition: {shares}"
    assert again["sent"] > 0, f"{point}: every copy was sent before the kill"
