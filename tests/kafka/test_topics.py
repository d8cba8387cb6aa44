"""Topics: partitions, replication, depth from watermarks, internal topics, DLQ flags, details."""

from __future__ import annotations

import pytest

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.config import KafkaConfig
from mqtui.errors import NotFound
from mqtui.model import DestinationKind
from tests.kafka.conftest import KafkaTools, Record, kafka_config, unique


async def test_destinations_count_messages_per_topic_from_watermarks(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    orders = kafka.topic("orders", partitions=3)
    kafka.produce(orders, [Record(value=b"%d" % i, partition=i % 3) for i in range(7)])
    empty = kafka.topic("empty", partitions=2)
    found = {d.name: d for d in await adapter.destinations()}
    assert found[orders].kind is DestinationKind.TOPIC
    assert found[orders].partitions == 3
    assert found[orders].depth == 7
    assert found[orders].extra["replication"] == "1"
    assert found[orders].is_dlq is False
    assert found[empty].depth == 0 and found[empty].partitions == 2


async def test_dlq_topics_are_flagged_by_the_default_naming_rules(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    base = unique("pay")
    names = [kafka.create(f"{base}.DLQ"), kafka.create(f"{base}-dlq"), kafka.create(f"{base}.DLT"), kafka.create(base)]
    found = {d.name: d.is_dlq for d in await adapter.destinations()}
    assert [found[n] for n in names] == [True, True, True, False]


async def test_configured_dlq_patterns_replace_the_defaults(kafka_server, kafka: KafkaTools) -> None:  # type: ignore[no-untyped-def]
    base = unique("ship")
    custom, default = kafka.create(f"dead.{base}"), kafka.create(f"{base}.DLQ")
    adapter = KafkaAdapter(kafka_config(kafka_server.url, dlq_patterns=["dead.{name}"]))
    await adapter.connect()
    try:
        found = {d.name: d.is_dlq for d in await adapter.destinations()}
        queues = {q.name: q.origin for q in await adapter.dead_letter_queues()}
    finally:
        await adapter.close()
    assert found[custom] is True and found[default] is False
    assert queues[custom] == base and default not in queues


async def test_internal_topics_hidden_unless_asked(kafka_server, kafka: KafkaTools) -> None:  # type: ignore[no-untyped-def]
    internal = kafka.create(unique("__internal"))
    adapter = KafkaAdapter(kafka_config(kafka_server.url))
    await adapter.connect()
    try:
        assert internal not in {d.name for d in await adapter.destinations()}
        shown = {d.name: d for d in await adapter.destinations(include_internal=True)}
    finally:
        await adapter.close()
    assert shown[internal].internal is True
    adapter = KafkaAdapter(KafkaConfig(name="k", url=kafka_server.url, show_internal=True))
    await adapter.connect()
    try:
        assert internal in {d.name for d in await adapter.destinations()}
    finally:
        await adapter.close()


async def test_describe_shows_partitions_and_says_configs_are_not_reported(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    topic = kafka.topic("desc", partitions=2)
    kafka.produce(topic, [Record(b"a", partition=0), Record(b"b", partition=1), Record(b"c", partition=1)])
    detail = await adapter.describe(topic)
    summary = dict(detail.summary)
    assert summary["partitions"] == "2" and summary["messages"] == "3" and summary["replication"] == "1"
    partitions = detail.sections[0]
    assert partitions.title == "Partitions"
    assert [row[:4] for row in partitions.rows] == [("0", "0", "1", "1"), ("1", "0", "2", "2")]
    # tansu answers DescribeConfigs with no entries: the detail says so instead of an empty table.
    assert summary["configs"].startswith("none reported")
    assert [s.title for s in detail.sections] == ["Partitions"]


async def test_describe_a_dlq_names_its_origin(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = unique("inv")
    kafka.create(f"{origin}.DLQ")
    assert dict((await adapter.describe(f"{origin}.DLQ")).summary)["dead letters of"] == origin


async def test_unknown_topic_is_not_found_and_not_created(adapter: KafkaAdapter) -> None:
    name = unique("nosuch")
    with pytest.raises(NotFound, match=f"test-kafka: no topic '{name}'"):
        await adapter.describe(name)
    assert name not in {d.name for d in await adapter.destinations(include_internal=True)}
