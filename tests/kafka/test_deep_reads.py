"""Bounded reads of a partition made of tens of thousands of one-record batches (as the demo's topics are).

tansu takes longer than a short fetch wait to gather records from such a partition and then answers
nothing; with a 20 ms wait every fetch came back empty, so `tail --end` and `search` on the demo's
busy topics read 0 records and gave up with "nothing arrived for 5s".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from confluent_kafka import Producer

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.model import StartPosition
from tests.helpers import run_mqtui
from tests.kafka.conftest import QUIET, KafkaTools

#: Records in the long partition, each produced as its own batch.
DEEP = 50_000


@pytest.fixture(scope="module")
def deep_topic(kafka: KafkaTools) -> str:
    topic = kafka.topic("deep")
    producer = Producer({"bootstrap.servers": kafka.url, "batch.num.messages": 1, "linger.ms": 0, **QUIET})
    for i in range(DEEP):
        producer.produce(topic, value=json.dumps({"n": i, "pad": "x" * 150}).encode(), partition=0)
        producer.poll(0)
    assert producer.flush(30) == 0
    return topic


async def test_tail_to_the_end_reads_a_long_partition_whole(adapter: KafkaAdapter, deep_topic: str) -> None:
    positions: list[int] = []
    async for batch in adapter.tail(deep_topic, start=StartPosition("beginning"), stop_at_end=True):
        positions.extend(int(m.position) for m in batch)
    assert len(positions) == DEEP
    assert positions == sorted(positions) and len(set(positions)) == DEEP


def test_search_scans_a_long_partition_whole(cli_config: Path, deep_topic: str) -> None:
    result = run_mqtui("--config", str(cli_config), "-p", "k", "search", "test-kafka", deep_topic,
                       "--where", f".value.n == {DEEP - 1}", "--json", timeout=60)  # fmt: skip
    assert result.code == 0, result.err
    assert [json.loads(json.loads(line)["value"])["n"] for line in result.out.splitlines()] == [DEEP - 1]
    assert result.err.splitlines() == [
        f"mqtui: scanned {DEEP:,} of {DEEP:,} messages in {deep_topic} (everything it held), 1 matched"
    ]
