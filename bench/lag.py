"""Lag at scale: one full backlog snapshot of many Kafka groups and many RabbitMQ queues, at 4 sizes.

Kafka (tansu): 20 topics of 30 partitions, each partition holding 3 records; groups commit offset 1 on
every partition of one topic, so each group is 30 rows. Sizes 25, 50, 100 and 200 groups (750 to 6,000
rows). mqtui: `KafkaAdapter.backlog()` on a connected adapter. Baseline: the fewest admin requests that
give the same rows, sent with confluent-kafka's AdminClient directly and all in flight together where
they do not depend on each other: ListGroups; then DescribeGroups (one request for every group, for
state and members), one OffsetFetch per group (the client takes one group per call) and Metadata;
then one ListOffsets(latest) for every involved partition.

RabbitMQ: 625, 1,250, 2,500 and 5,000 classic queues (made with one definitions import). mqtui:
`RabbitMQAdapter.destinations()` and `.backlog()`. Baselines: one unpaged management API request for
the same columns (`GET /api/queues?columns=...`), and for the backlog that plus `GET /api/consumers`
sent side by side.

Each measurement is the median of RUNS, mqtui and baseline taking turns. Target: under 1 s at the
largest size, and the cost growing linearly with the rows (8x rows -> about 8x time, not worse).
"""

from __future__ import annotations

import asyncio
import base64
import time
import urllib.request
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import orjson
from common import QUIET, figure, header, local_brokers, median, note
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from kafka_data import create_topics, fill_single

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.http import QUEUE_COLUMNS
from mqtui.config import KafkaConfig, RabbitMQConfig

RUNS = 5
TOPICS = 20
PARTITIONS = 30
GROUP_SIZES = (25, 50, 100, 200)
QUEUE_SIZES = (625, 1250, 2500, 5000)
SETTLE = 3.0
"""Seconds to let RabbitMQ's management statistics catch up after queues were created."""
BACKLOG_COLUMNS = "name,vhost,type,messages,messages_ready,messages_unacknowledged,consumers,idle_since"
CONSUMER_COLUMNS = "queue,consumer_tag,prefetch_count,ack_required,channel_details.name"


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def compare(
    mine: Callable[[], Awaitable[Any]], bare: Callable[[], Any], expect: int, count: Callable[[Any], int]
) -> tuple[float, float]:
    """Median seconds of mqtui and of the baseline (run on a thread), taking turns; both must see `expect`."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(RUNS):
        seconds, result = await timed(mine)
        assert count(result) == expect, f"mqtui saw {count(result)}, expected {expect}"
        ours.append(seconds)
        seconds, result = await timed(lambda: asyncio.to_thread(bare))
        assert count(result) == expect, f"baseline saw {count(result)}, expected {expect}"
        theirs.append(seconds)
    return median(ours), median(theirs)


def report(what: str, sizes: tuple[int, ...], unit: str, results: list[tuple[float, float]], rows_each: int) -> None:
    for size, (ours, theirs) in zip(sizes, results, strict=True):
        rows = size * rows_each
        figure(f"{what}, {size:,} {unit} ({rows:,} rows)", f"mqtui {ours * 1000:6.0f} ms",
               f"{theirs * 1000:6.0f} ms", ours / theirs, "<1 s" if size == sizes[-1] else "",
               ours < 1.0 if size == sizes[-1] else None)  # fmt: skip
    growth = sizes[-1] / sizes[0]
    ours_growth = results[-1][0] / results[0][0]
    theirs_growth = results[-1][1] / results[0][1]
    # Linear: no faster than the rows (25% slack for noise), or no faster than the broker's own answer
    # to the baseline's requests (RabbitMQ's management API itself grows faster than its queue count).
    linear = ours_growth <= max(growth, theirs_growth) * 1.25
    figure(f"{what}, growth {sizes[0]:,} -> {sizes[-1]:,} {unit}", f"mqtui x{ours_growth:.1f} for x{growth:.0f} rows",
           f"x{theirs_growth:.1f}", ours_growth / theirs_growth, f"<=x{growth:.0f} or <=baseline", linear)  # fmt: skip


# -- Kafka -----------------------------------------------------------------------------------------
def kafka_baseline(admin: AdminClient) -> list[tuple[str, tuple[str, int], int, Any]]:
    """The fewest admin requests for every group's backlog rows: (group, partition, lag, state)."""
    listed = admin.list_consumer_groups(request_timeout=30).result()
    groups = sorted(g.group_id for g in listed.valid)
    described = admin.describe_consumer_groups(groups, request_timeout=30)
    fetched = {
        g: admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)], request_timeout=30)[g] for g in groups
    }
    metadata = admin.list_topics(timeout=30)
    wait([*described.values(), *fetched.values()])
    committed = {
        g: {(tp.topic, tp.partition): tp.offset for tp in f.result().topic_partitions} for g, f in fetched.items()
    }
    states = {g: f.result().state for g, f in described.items()}
    involved = {tp for offsets in committed.values() for tp in offsets if tp[0] in metadata.topics}
    latest = admin.list_offsets({TopicPartition(t, p): OffsetSpec.latest() for t, p in involved}, request_timeout=30)
    wait(list(latest.values()))
    ends = {(tp.topic, tp.partition): f.result().offset for tp, f in latest.items()}
    rows = [(g, tp, ends[tp] - offset, states[g]) for g, offsets in committed.items() for tp, offset in offsets.items()]
    return rows


def add_groups(admin: AdminClient, start: int, stop: int) -> None:
    """Groups lag-gNNN committing offset 1 on all partitions of one topic each (never joined)."""
    requests = []
    for i in range(start, stop):
        offsets = [TopicPartition(f"lag-t{i % TOPICS:02d}", p, 1) for p in range(PARTITIONS)]
        requests.append(admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(f"lag-g{i:03d}", offsets)]))
    for request in requests:
        for future in request.values():
            future.result(30)


async def bench_kafka(url: str) -> None:
    topics = [f"lag-t{i:02d}" for i in range(TOPICS)]
    create_topics(url, topics, PARTITIONS)
    for topic in topics:
        fill_single(url, topic, per_partition=3, partitions=PARTITIONS)
    admin = AdminClient({"bootstrap.servers": url, **QUIET})
    adapter = KafkaAdapter(KafkaConfig(name="bench-kafka", url=url, timeout=30))
    await adapter.connect()
    results = []
    try:
        made = 0
        for size in GROUP_SIZES:
            add_groups(admin, made, size)
            made = size
            results.append(await compare(adapter.backlog, lambda: kafka_baseline(admin), size * PARTITIONS, len))
            note(f"kafka {size} groups: mqtui {results[-1][0] * 1000:.0f} ms, baseline {results[-1][1] * 1000:.0f} ms")
    finally:
        await adapter.close()
    report("kafka lag snapshot", GROUP_SIZES, "groups", results, PARTITIONS)


# -- RabbitMQ --------------------------------------------------------------------------------------
class Management:
    def __init__(self, url: str) -> None:
        self.url = url
        self.auth = "Basic " + base64.b64encode(b"guest:guest").decode()

    def call(self, path: str, body: Any = None, method: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path, data=None if body is None else orjson.dumps(body),
                                         method=method or ("POST" if body is not None else "GET"))  # fmt: skip
        request.add_header("Authorization", self.auth)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=120) as response:
            raw = response.read()
        return orjson.loads(raw) if raw else None


def add_queues(api: Management, start: int, stop: int) -> None:
    queues = [{"name": f"lag-q{i:05d}", "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}}
              for i in range(start, stop)]  # fmt: skip
    api.call("/api/definitions", {"queues": queues})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        listed = api.call("/api/queues?page=1&page_size=1&columns=name")
        if listed["filtered_count"] >= stop:
            time.sleep(SETTLE)  # the management stats collector is busy with the new queues for a while
            return
        time.sleep(0.2)
    raise RuntimeError(f"RabbitMQ did not list {stop} queues in time")


async def bench_rabbitmq(config: dict[str, Any]) -> None:
    api = Management(config["management_url"])
    adapter = RabbitMQAdapter(RabbitMQConfig(**{k: v for k, v in config.items() if k != "kind"}, timeout=30.0))
    await adapter.connect()
    pool = ThreadPoolExecutor(2)

    def listing() -> list[Any]:
        return api.call(f"/api/queues?columns={','.join(QUEUE_COLUMNS)}")

    def backlog() -> list[Any]:
        queues = pool.submit(api.call, f"/api/queues?columns={BACKLOG_COLUMNS}")
        consumers = pool.submit(api.call, f"/api/consumers?columns={CONSUMER_COLUMNS}")
        consumers.result()
        return queues.result()

    listed, lagged = [], []
    try:
        made = 0
        for size in QUEUE_SIZES:
            add_queues(api, made, size)
            made = size
            listed.append(await compare(adapter.destinations, listing, size, len))
            lagged.append(await compare(adapter.backlog, backlog, size, len))
            note(f"rabbitmq {size} queues: destinations {listed[-1][0] * 1000:.0f} ms (baseline "
                 f"{listed[-1][1] * 1000:.0f} ms), backlog {lagged[-1][0] * 1000:.0f} ms (baseline "
                 f"{lagged[-1][1] * 1000:.0f} ms)")  # fmt: skip
    finally:
        await adapter.close()
        pool.shutdown()
    report("rabbitmq destinations()", QUEUE_SIZES, "queues", listed, 1)
    report("rabbitmq backlog()", QUEUE_SIZES, "queues", lagged, 1)


def main() -> None:
    header("lag at scale: adapter snapshots vs the fewest direct admin requests")
    with local_brokers("kafka", "rabbitmq") as brokers:
        asyncio.run(bench_kafka(brokers["kafka"].url))
        asyncio.run(bench_rabbitmq(brokers["rabbitmq"].broker_config()))


if __name__ == "__main__":
    main()
