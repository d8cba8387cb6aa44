"""What recording lag history costs, as a share of the poll it records (target: under 5%).

Kafka (tansu) with 6,000 backlog rows in two shapes: 200 groups x 30 partitions (the lag bench's
shape: 200 group rows to record per poll) and 6,000 groups on single-partition topics (6,000 group
rows per poll, the most a poll of 6,000 rows can make). Each poll is a real `BrokerPoller.poll_once` over the
Kafka adapter (destinations, backlog with time lag, DLQs, retries), as the console polls. Recording is
`HistoryStore.record` (what the poll path pays: queue the snapshot) and the writer thread's turn (rows
made, one transaction committed, measured as the time until `flush` returns), for each poll in turn.

Each figure is the median of RUNS polls after a first one (which also creates the series rows; noted).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import QUIET, figure, header, local_brokers, median, note
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from kafka_data import create_topics, fill_single

from mqtui.config import KafkaConfig
from mqtui.services.poller import BrokerPoller
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.services.store import HistoryStore

RUNS = 7
TOPICS = 20
PARTITIONS = 30
TARGET = 0.05


def commit_groups(admin: AdminClient, shape: str) -> None:
    """Groups committing offset 1: "wide" 200 groups on all 30 partitions of one topic each, "narrow"
    6,000 groups on one single-partition topic each (300 per topic). A group has a row for every
    partition of the topics it commits on, so either way the backlog is 6,000 rows."""
    requests = []
    for i in range(200 if shape == "wide" else 6000):
        partitions = range(PARTITIONS if shape == "wide" else 1)
        offsets = [TopicPartition(f"hist-t{i % TOPICS:02d}", p, 1) for p in partitions]
        group = ConsumerGroupTopicPartitions(f"{shape}-{i:04d}", offsets)
        requests.append(admin.alter_consumer_group_offsets([group]))
    for request in requests:
        for future in request.values():
            future.result(60)


async def measure(url: str, shape: str, directory: Path) -> None:
    snapshots: list[BrokerSnapshot] = []
    config = KafkaConfig(name="bench-kafka", url=url, timeout=30)
    poller = BrokerPoller(config, interval=2.0, listener=snapshots.append)
    store = HistoryStore(directory / f"{shape}.sqlite3")
    assert store.failure is None, store.failure
    polls: list[float] = []
    queued: list[float] = []
    written: list[float] = []
    rows = groups = 0
    try:
        for run in range(RUNS + 1):
            started = time.perf_counter()
            await poller.poll_once()
            poll = time.perf_counter() - started
            snapshot = poller.latest
            rows, groups = len(snapshot.backlog), len(snapshot.lag)
            started = time.perf_counter()
            store.record(snapshot, datetime.now(UTC))
            queue = time.perf_counter() - started
            assert store.flush(60)
            write = time.perf_counter() - started
            if run == 0:
                note(f"{shape}: first poll {poll * 1000:.0f} ms, first write {write * 1000:.1f} ms (series rows made)")
                continue
            polls.append(poll)
            queued.append(queue)
            written.append(write)
    finally:
        await poller.close()
        store.close()
    assert rows == 6000, f"{shape}: the poll saw {rows} rows"
    points, _polls = store.counts()
    assert points == groups * (RUNS + 1), f"{shape}: {points} points recorded for {groups} groups"
    poll = median(polls)
    label = f"{groups:,} groups"
    share_queued, share_written = median(queued) / poll, median(written) / poll
    baseline = f"poll of 6,000 rows {poll * 1000:.0f} ms"
    figure(f"history record() on the poll path, {label}", f"{median(queued) * 1e6:.1f} us = {share_queued:.3%}",
           baseline, share_queued, "<5%", share_queued < TARGET)  # fmt: skip
    figure(f"history writer per poll, {label}", f"{median(written) * 1000:.1f} ms = {share_written:.2%}",
           baseline, share_written, "<5%", share_written < TARGET)  # fmt: skip
    size = sum(path.stat().st_size for path in directory.glob(f"{shape}.sqlite3*"))
    note(f"{shape}: {points:,} points in {size / 1e6:.1f} MB ({size / points:.0f} B a point with the index)")


def main() -> None:
    header("lag history: recording cost per poll")
    for shape in ("wide", "narrow"):  # a broker each: the poll sees only this shape's groups
        with local_brokers("kafka") as brokers, tempfile.TemporaryDirectory(prefix="mqtui-history-") as temp:
            url = brokers["kafka"].url
            topics = [f"hist-t{i:02d}" for i in range(TOPICS)]
            partitions = PARTITIONS if shape == "wide" else 1
            create_topics(url, topics, partitions)
            for topic in topics:
                fill_single(url, topic, per_partition=3, partitions=partitions)
            commit_groups(AdminClient({"bootstrap.servers": url, **QUIET}), shape)
            asyncio.run(measure(url, shape, Path(temp)))


if __name__ == "__main__":
    main()
