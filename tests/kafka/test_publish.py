"""Publish: keys, values, headers, partitions; every delivery report awaited; clear refusals."""

from __future__ import annotations

import pytest

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.errors import NotFound, UsageError
from mqtui.model import OutgoingMessage
from tests.kafka.conftest import KafkaTools, unique


async def test_publish_delivers_key_value_and_headers(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("pub")
    messages = [
        OutgoingMessage(value=b'{"n": %d}' % i, key=b"order-%d" % i, headers=(("trace", b"t%d" % i), ("trace", b"x")))
        for i in range(3)
    ]
    result = await adapter.publish(topic, messages)
    assert result.sent == 3 and result.failed == ()
    assert result.positions == ("0:0", "0:1", "0:2")
    stored = kafka.read_all(topic)
    assert [(m.key(), m.value(), m.headers()) for m in stored] == [
        (b"order-%d" % i, b'{"n": %d}' % i, [("trace", b"t%d" % i), ("trace", b"x")]) for i in range(3)
    ]


async def test_publish_to_a_chosen_partition(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("part", partitions=3)
    result = await adapter.publish(topic, [OutgoingMessage(b"a"), OutgoingMessage(b"b")], options={"partition": "2"})
    assert result.positions == ("2:0", "2:1")
    assert [(m.partition(), m.value()) for m in kafka.read_all(topic, 3)] == [(2, b"a"), (2, b"b")]


async def test_publish_many_reports_each_one(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("many", partitions=2)
    result = await adapter.publish(topic, [OutgoingMessage(b"%d" % i, key=b"k%d" % (i % 7)) for i in range(2000)])
    assert result.sent == 2000 and result.failed == ()
    assert len(set(result.positions)) == 2000
    assert len(kafka.read_all(topic, 2)) == 2000


async def test_publish_refusals(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("refuse", partitions=2)
    missing = unique("missing")
    with pytest.raises(NotFound, match=f"no topic '{missing}'"):
        await adapter.publish(missing, [OutgoingMessage(b"x")])
    assert missing not in {d.name for d in await adapter.destinations()}  # never auto-created
    with pytest.raises(NotFound, match="has no partition 5"):
        await adapter.publish(topic, [OutgoingMessage(b"x")], options={"partition": "5"})
    with pytest.raises(UsageError, match="unknown Kafka publish property 'exchange'"):
        await adapter.publish(topic, [OutgoingMessage(b"x")], options={"exchange": "amq"})
    assert kafka.read_all(topic, 2) == []


TOO_LARGE = "Unable to produce message: Broker: Message size too large"
"""librdkafka's refusal of a message over the producer's message.max.bytes (before anything is sent)."""


async def test_one_message_too_large_fails_alone_with_its_index(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("one-bad")
    messages = [OutgoingMessage(b"small-0"), OutgoingMessage(b"x" * 2_000_000), OutgoingMessage(b"small-2"),
                OutgoingMessage(b"small-3", key=b"k")]  # fmt: skip
    result = await adapter.publish(topic, messages)
    assert (result.sent, result.failed, result.positions) == (3, ((1, TOO_LARGE),), ("0:0", "0:1", "0:2"))
    assert [m.value() for m in kafka.read_all(topic)] == [b"small-0", b"small-2", b"small-3"]
