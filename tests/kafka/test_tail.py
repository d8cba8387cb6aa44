"""Tail: assigned reads from beginning, offset, time or end; exact messages; nobody's offsets move."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime

import pytest

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.errors import NotFound
from mqtui.model import Message, StartPosition
from tests.kafka.conftest import KafkaTools, Record, unique


async def collect(adapter: KafkaAdapter, topic: str, start: StartPosition) -> list[Message]:
    messages: list[Message] = []
    async for batch in adapter.tail(topic, start=start, stop_at_end=True):
        messages.extend(batch)
    return messages


def spread(kafka: KafkaTools, topic: str, partitions: int, per_partition: int) -> None:
    kafka.produce(topic, [Record(b"p%d-%d" % (p, i), key=b"k%d" % i, partition=p)
                          for i in range(per_partition) for p in range(partitions)])  # fmt: skip


async def test_from_beginning_returns_every_message_of_every_partition(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    topic = kafka.topic("tail", partitions=3)
    spread(kafka, topic, 3, 4)
    messages = await collect(adapter, topic, StartPosition("beginning"))
    assert sorted((m.partition, m.position, m.value) for m in messages) == [
        (p, i, b"p%d-%d" % (p, i)) for p in range(3) for i in range(4)
    ]
    assert all(m.destination == topic and m.broker == "test-kafka" for m in messages)
    assert {m.key for m in messages} == {b"k0", b"k1", b"k2", b"k3"}


async def test_keys_headers_binary_values_and_timestamps_survive(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("raw")
    stamp = int(datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC).timestamp() * 1000)
    hostile = b"\xff\xfe\x00\x1b[31mred\x07"
    kafka.produce(topic, [
        Record(hostile, key=b"\x00\x01", headers=[("dup", b"1"), ("dup", b"2"), ("none", None), ("bin", b"\xff")],
               timestamp=stamp),
        Record(b"", key=None),
    ])  # fmt: skip
    first, second = await collect(adapter, topic, StartPosition("beginning"))
    assert first.value == hostile and first.key == b"\x00\x01"
    assert first.headers == (("dup", b"1"), ("dup", b"2"), ("none", None), ("bin", b"\xff"))
    assert first.header("dup") == b"2"
    assert first.timestamp == datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert second.key is None and second.value == b"" and second.headers == ()


async def test_from_an_offset_reads_every_partition_from_that_offset(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("off", partitions=2)
    spread(kafka, topic, 2, 5)
    kafka.produce(topic, [Record(b"extra", partition=1)])  # partition 1 now holds offsets 0..5
    messages = await collect(adapter, topic, StartPosition("offset", offset=3))
    assert sorted((m.partition, m.position) for m in messages) == [(0, 3), (0, 4), (1, 3), (1, 4), (1, 5)]
    beyond = await collect(adapter, topic, StartPosition("offset", offset=99))
    assert beyond == []


async def test_from_a_time_reads_what_was_written_since(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("time", partitions=3)
    base = int(time.time() * 1000) - 60_000
    kafka.produce(topic, [Record(b"old-%d" % i, partition=0, timestamp=base + i) for i in range(4)]
                  + [Record(b"new-%d" % i, partition=0, timestamp=base + 30_000 + i) for i in range(3)]
                  + [Record(b"new-p1", partition=1, timestamp=base + 40_000)]
                  + [Record(b"old-p2", partition=2, timestamp=base + 5)])  # fmt: skip
    since = datetime.fromtimestamp((base + 20_000) / 1000, UTC)
    messages = await collect(adapter, topic, StartPosition("time", time=since))
    assert sorted((m.partition, m.position, m.value) for m in messages) == [
        (0, 4, b"new-0"), (0, 5, b"new-1"), (0, 6, b"new-2"), (1, 0, b"new-p1"),
    ]  # fmt: skip


async def test_tail_leaves_every_group_untouched(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    """Every start kind, with two groups on the topic: one committed on both partitions, one on one."""
    topic = kafka.topic("untouched", partitions=2)
    spread(kafka, topic, 2, 3)
    app, audit = unique("app"), unique("audit")
    kafka.commit(app, topic, {0: 1, 1: 2})
    kafka.commit(audit, topic, {1: 3})
    no_commit = -1001  # librdkafka's OFFSET_INVALID: the group has no committed offset there
    assert kafka.committed(app, topic, 2) == {0: 1, 1: 2}
    assert kafka.committed(audit, topic, 2) == {0: no_commit, 1: 3}
    groups_before = {r.group for r in await adapter.backlog()}
    an_hour_ago = datetime.fromtimestamp(time.time() - 3600, UTC)
    starts = (StartPosition("beginning"), StartPosition("offset", offset=1), StartPosition("time", time=an_hour_ago),
              StartPosition("end"))  # fmt: skip
    assert [len(await collect(adapter, topic, start)) for start in starts] == [6, 4, 6, 0]
    assert kafka.committed(app, topic, 2) == {0: 1, 1: 2}
    assert kafka.committed(audit, topic, 2) == {0: no_commit, 1: 3}
    assert {r.group for r in await adapter.backlog()} == groups_before
    assert sorted(
        (r.group, r.partition, r.committed) for r in await adapter.backlog() if r.destination == topic
    ) == sorted([(app, 0, 1), (app, 1, 2), (audit, 0, None), (audit, 1, 3)])


async def test_live_tail_from_end_sees_only_new_messages_then_closes_promptly(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    topic = kafka.topic("live", partitions=2)
    spread(kafka, topic, 2, 2)
    stream = adapter.tail(topic, start=StartPosition("end"))
    received: list[Message] = []

    async def read() -> None:
        async for batch in stream:
            received.extend(batch)
            if len(received) >= 3:
                return

    reader = asyncio.create_task(read())
    await asyncio.sleep(1.0)  # the consumer is assigned at the end before anything new arrives
    await asyncio.to_thread(kafka.produce, topic, [Record(b"n1", partition=0), Record(b"n2", partition=1),
                                                   Record(b"n3", partition=0)])  # fmt: skip
    await asyncio.wait_for(reader, 20)
    assert sorted(m.value for m in received) == [b"n1", b"n2", b"n3"]
    await stream.aclose()  # type: ignore[attr-defined]
    assert not [t for t in threading.enumerate() if t.name == f"mqtui-kafka-tail-{topic}"]


async def test_stop_at_end_stops_at_the_watermark_seen_at_start(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("snapshot")
    kafka.produce(topic, [b"a%d" % i for i in range(5)])
    seen: list[Message] = []
    async for batch in adapter.tail(topic, start=StartPosition("beginning"), stop_at_end=True):
        if not seen:
            await asyncio.to_thread(kafka.produce, topic, [b"late1", b"late2"])
        seen.extend(batch)
    assert [m.value for m in seen] == [b"a0", b"a1", b"a2", b"a3", b"a4"]


async def test_a_big_topic_arrives_in_batches(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("bulk")
    kafka.produce(topic, [b"%d" % i for i in range(400)])
    sizes = [len(batch) async for batch in adapter.tail(topic, start=StartPosition("beginning"), stop_at_end=True)]
    assert sum(sizes) == 400
    assert len(sizes) < 400 / 10  # batches, not one message per await


async def test_empty_topic_with_stop_at_end_ends_at_once(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("void", partitions=2)
    assert await asyncio.wait_for(collect(adapter, topic, StartPosition("beginning")), 5) == []


async def test_closing_the_adapter_ends_an_open_tail(kafka_server, kafka: KafkaTools) -> None:  # type: ignore[no-untyped-def]
    from tests.kafka.conftest import kafka_config

    topic = kafka.topic("closing")
    adapter = KafkaAdapter(kafka_config(kafka_server.url))
    await adapter.connect()
    stream = adapter.tail(topic, start=StartPosition("end"))
    reader = asyncio.create_task(anext(stream, None))
    await asyncio.sleep(0.5)
    await adapter.close()
    assert await asyncio.wait_for(reader, 5) is None


async def test_tail_of_an_unknown_topic_is_not_found(adapter: KafkaAdapter) -> None:
    with pytest.raises(NotFound):
        await collect(adapter, unique("nosuch"), StartPosition("beginning"))
