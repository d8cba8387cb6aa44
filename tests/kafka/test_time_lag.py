"""Kafka time lag: each backlog row says when the record at its committed offset was written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Producer

from mqtui.brokers.kafka import time_lag
from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.services.snapshot import group_backlog
from tests.kafka.conftest import QUIET, KafkaTools, Record, unique

#: Records before the waiting one in the deep-partition test.
DEEP = 60_000
BASE = int(datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC).timestamp() * 1000)


def planted(partition: int, index: int) -> int:
    """The timestamp (ms) planted on record `index` of `partition`: ten seconds apart, partitions apart."""
    return BASE + partition * 1_000_000 + index * 10_000


def at(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def close(found: datetime | None, millis: int) -> bool:
    return found is not None and abs((found - at(millis)).total_seconds()) < 1


async def test_oldest_waiting_is_the_record_at_the_committed_offset(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("tlag", partitions=4)
    kafka.produce(topic, [Record(b"%d-%d" % (p, i), partition=p, timestamp=planted(p, i))
                          for p in range(4) for i in range(5)])  # fmt: skip
    group = unique("tlag")
    kafka.commit(group, topic, {0: 2, 1: 0, 2: 5})  # partition 2 caught up, partition 3 never committed
    rows = {r.partition: r for r in await adapter.backlog(group=group)}
    assert [rows[p].lag for p in range(4)] == [3, 5, 0, 5]
    assert close(rows[0].oldest_waiting_at, planted(0, 2))
    assert close(rows[1].oldest_waiting_at, planted(1, 0))
    assert rows[2].oldest_waiting_at is None and rows[2].time_lag_unknown is None
    assert close(rows[3].oldest_waiting_at, planted(3, 0))  # nothing committed: the low watermark's record
    assert all(rows[p].time_lag_unknown is None for p in range(4))
    # The group's time lag is its worst partition's: the oldest waiting record of all.
    [lag] = group_backlog(list(rows.values()))
    seconds = lag.time_lag(at(planted(3, 4)))
    assert seconds is not None and abs(seconds - (planted(3, 4) - planted(0, 2)) / 1000) < 1


async def test_a_steady_group_is_not_read_again_and_a_moved_one_is(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("tcache", partitions=2)
    kafka.produce(topic, [Record(b"x", partition=p, timestamp=planted(p, i)) for p in range(2) for i in range(4)])
    group = unique("tcache")
    kafka.commit(group, topic, {0: 1, 1: 1})
    first = {r.partition: r.oldest_waiting_at for r in await adapter.backlog(group=group)}
    assert close(first[0], planted(0, 1)) and close(first[1], planted(1, 1))
    read = adapter.waiting.partitions_read
    assert read == 2  # both partitions in one read
    again = {r.partition: r.oldest_waiting_at for r in await adapter.backlog(group=group)}
    assert again == first
    assert adapter.waiting.partitions_read == read  # from the cache: nothing asked of the broker
    kafka.commit(group, topic, {0: 3})  # partition 0 moved: only it is read again
    moved = {r.partition: r.oldest_waiting_at for r in await adapter.backlog(group=group)}
    assert close(moved[0], planted(0, 3)) and moved[1] == first[1]
    assert adapter.waiting.partitions_read == read + 1


async def test_groups_at_different_offsets_of_one_partition_each_get_theirs(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    topic = kafka.topic("tshare")
    kafka.produce(topic, [Record(b"x", partition=0, timestamp=planted(0, i)) for i in range(6)])
    groups = [unique("tshare") for _ in range(3)]
    for group, offset in zip(groups, (1, 3, 4), strict=True):
        kafka.commit(group, topic, {0: offset})
    rows = {r.group: r for r in await adapter.backlog() if r.destination == topic}
    for group, offset in zip(groups, (1, 3, 4), strict=True):
        assert close(rows[group].oldest_waiting_at, planted(0, offset)), (group, offset)
    read = adapter.waiting.partitions_read
    await adapter.backlog()
    assert adapter.waiting.partitions_read == read


async def test_a_caught_up_group_costs_no_read(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("tdone", partitions=2)
    kafka.produce(topic, [Record(b"x", partition=p, timestamp=planted(p, 0)) for p in range(2)])
    group = unique("tdone")
    kafka.commit(group, topic, {0: 1, 1: 1})
    rows = await adapter.backlog(group=group)
    assert [(r.lag, r.oldest_waiting_at, r.time_lag_unknown) for r in rows] == [(0, None, None)] * 2
    assert adapter.waiting.partitions_read == 0


async def test_a_record_deep_in_a_long_partition_is_read(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    """The demo's groups sit tens of thousands of records into a partition: tansu took longer than a
    20 ms fetch wait to answer there and gave nothing each time, so every Kafka row of the demo read '-'."""
    topic = kafka.topic("tdeep")
    producer = Producer({"bootstrap.servers": kafka.url, "batch.num.messages": 1, "linger.ms": 0, **QUIET})
    for i in range(DEEP):
        producer.produce(topic, value=b"x" * 200, partition=0, timestamp=planted(0, i))
        producer.poll(0)
    assert producer.flush(30) == 0
    group = unique("tdeep")
    kafka.commit(group, topic, {0: DEEP - 10})
    [row] = await adapter.backlog(group=group)
    assert row.lag == 10 and row.time_lag_unknown is None
    assert close(row.oldest_waiting_at, planted(0, DEEP - 10))


async def test_a_slow_read_leaves_the_poll_time_for_the_counts(
    adapter: KafkaAdapter, kafka: KafkaTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poller bounds a whole backlog call by the broker's timeout: the oldest-record read gets half of
    it, so a broker slow to hand out records (tansu under the demo's load) costs the time lag of this
    poll, not the lag counts ('backlog: no answer within 5s' before)."""
    given: list[float] = []

    def slow(settings: dict[str, Any], wanted: dict[Any, int], timeout: float, stop: Any) -> dict[Any, Any]:
        given.append(timeout)
        return {}  # nothing arrived within the time given

    monkeypatch.setattr(time_lag, "first_timestamps", slow)
    topic = kafka.topic("tslow")
    kafka.produce(topic, [Record(b"x", partition=0, timestamp=planted(0, i)) for i in range(3)])
    group = unique("tslow")
    kafka.commit(group, topic, {0: 1})
    [row] = await adapter.backlog(group=group)
    assert row.lag == 2 and row.time_lag_unknown == "the record at offset 1 was not read (yet)"
    assert given == [adapter.config.timeout / 2]
