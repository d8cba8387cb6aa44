"""Kafka retry topics against the real broker: Spring Kafka's `-retry-N` topics with the
`retry_topic-backoff-timestamp` header (BigInteger bytes, and the older decimal text), and a retry
topic of the seed's retry envelopes; counted from the consuming group's committed offset."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson
import pytest

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.brokers.retries import SPRING_BACKOFF_HEADER, spring_due
from tests.kafka.conftest import KafkaTools, Record, unique


@pytest.fixture
def now_ms() -> int:
    """Planted due times count from the test's own start (a module constant would age during the suite)."""
    return int(time.time() * 1000)


def big_integer(millis: int) -> bytes:
    """What Java's `BigInteger.valueOf(millis).toByteArray()` gives: minimal big-endian two's complement."""
    return millis.to_bytes(millis.bit_length() // 8 + 1, "big", signed=True)


def spring(millis: int, *, text: bool = False) -> Record:
    value = str(millis).encode() if text else big_integer(millis)
    return Record(b"event", headers=[(SPRING_BACKOFF_HEADER, value), ("retry_topic-attempts", b"\x01")])


def near(found: datetime | None, millis: int) -> bool:
    return found is not None and abs((found - datetime.fromtimestamp(millis / 1000, UTC)).total_seconds()) < 1


def test_spring_header_encodings() -> None:
    millis = 1_765_000_123_456
    assert big_integer(millis) == bytes.fromhex("019AF2349440")  # 6 bytes, as Java writes it
    for value in (big_integer(millis), str(millis).encode(), b"\x00\x00" + big_integer(millis)):
        assert near(spring_due(value), millis)
    assert spring_due(b"2025-12-06T05:48:43.456") == datetime(2025, 12, 6, 5, 48, 43, 456000, tzinfo=UTC)
    assert spring_due(b"\xff") is None and spring_due(b"") is None


async def test_spring_retry_topic_counts_from_the_committed_offset(
    adapter: KafkaAdapter, kafka: KafkaTools, now_ms: int
) -> None:
    origin = unique("orders")
    topic = kafka.create(f"{origin}-retry-0", partitions=2)
    past, soon, later = now_ms - 120_000, now_ms + 300_000, now_ms + 600_000
    kafka.produce(topic, [
        Record(**{**spring(now_ms - 600_000).__dict__, "partition": 0}),  # consumed by the group below
        Record(**{**spring(past).__dict__, "partition": 0}),
        Record(**{**spring(later).__dict__, "partition": 0}),
        Record(**{**spring(soon, text=True).__dict__, "partition": 1}),  # spring-kafka 2.7's text header
    ])  # fmt: skip
    kafka.commit(unique("orders-retry-group"), topic, {0: 1})
    kafka.commit(unique("ahead"), topic, {0: 3})  # a group further on: the one behind decides
    [found] = [s for s in await adapter.retry_schedules() if s.destination == topic]
    assert (found.convention, found.origin, found.due_now, found.due_later) == ("spring retry topic", origin, 1, 2)
    assert near(found.next_due_at, soon) and near(found.overdue_since, past)
    assert not found.at_least and found.unknown_reason is None
    read = adapter.retries.records_read
    assert read == 3  # from the committed offset on partition 0, everything on partition 1
    again = [s for s in await adapter.retry_schedules() if s.destination == topic]
    assert again == [found] and adapter.retries.records_read == read  # remembered, not read again


async def test_retry_envelopes_without_a_group_and_a_capped_read(
    adapter: KafkaAdapter, kafka: KafkaTools, now_ms: int
) -> None:
    origin = unique("payments")
    topic = kafka.create(f"{origin}.retry")
    iso = datetime.fromtimestamp((now_ms + 60_000) / 1000, UTC).isoformat()
    envelopes = [
        {"type": "retry", "retry_at": iso, "event": {"id": 1}},
        {"type": "retry", "retry_at": now_ms - 5_000, "event": {"id": 2}},  # epoch ms, due
        {"type": "retry", "retry_at": (now_ms + 30_000) / 1000, "event": {"id": 3}},  # epoch seconds
    ]
    kafka.produce(topic, [orjson.dumps(e) for e in envelopes] + [b"not an envelope"])
    [found] = [s for s in await adapter.retry_schedules() if s.destination == topic]
    assert (found.convention, found.origin, found.due_now, found.due_later) == ("retry envelope", origin, 1, 2)
    assert near(found.next_due_at, now_ms + 30_000) and near(found.overdue_since, now_ms - 5_000)
    assert found.unknown_reason == "waiting records without a due time (not counted): 1"
    capped = KafkaAdapter(adapter.config)
    capped.retries.cap = 2
    await capped.connect()
    try:
        [first] = [s for s in await capped.retry_schedules() if s.destination == topic]
    finally:
        await capped.close()
    assert first.at_least and (first.due_now, first.due_later) == (1, 1)  # only the first two records read
