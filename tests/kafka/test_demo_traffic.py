"""The demo's Kafka traffic: real lag, a lagging group, Spring-style dead letters, a prompt stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.demo import kafka_traffic
from mqtui.demo.localbrokers import LocalKafka
from tests.kafka.conftest import kafka_config
from tests.support import until


async def test_demo_traffic_shows_a_healthy_group_a_lagging_one_and_dead_letters(tmp_path: Path) -> None:
    broker = LocalKafka(tmp_path, name="demo-kafka")
    broker.start()
    try:
        stop = asyncio.Event()
        task = asyncio.create_task(kafka_traffic.run(broker.broker_config(), stop))
        adapter = KafkaAdapter(kafka_config(broker.url))
        await adapter.connect()
        try:
            rows = await wait_for_traffic(adapter, task)
            topics = {d.name: d for d in await adapter.destinations()}
            [dlq] = await adapter.dead_letter_queues()
            letters = await adapter.dead_letters("orders.DLQ", limit=5)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=3)  # stops within a second or two
            await adapter.close()
    finally:
        broker.kill()
    assert (topics["orders"].partitions, topics["payments"].partitions, topics["orders.DLQ"].is_dlq) == (3, 2, True)
    lag = {
        group: sum(r.lag or 0 for r in rows if r.group == group) for group in ("billing", "analytics", "fulfillment")
    }
    assert {r.destination for r in rows if r.group == "analytics"} == {"orders", "payments"}
    assert lag["analytics"] > lag["billing"] and lag["analytics"] > 100
    assert (dlq.name, dlq.origin) == ("orders.DLQ", "orders") and dlq.count
    letter = letters[0]
    assert letter.origin == "orders" and letter.origin_partition in (0, 1, 2) and letter.origin_position is not None
    assert letter.reason and letter.reason.startswith("Listener method threw exception")
    assert letter.extra["consumer group"] == "fulfillment"


async def wait_for_traffic(adapter: KafkaAdapter, task: asyncio.Task) -> list:  # type: ignore[type-arg]
    """Poll until all three groups committed, analytics fell 100 behind and a dead letter exists."""

    async def steady() -> list | None:  # type: ignore[type-arg]
        assert not task.done(), task
        rows = await adapter.backlog()
        queues = await adapter.dead_letter_queues()
        groups = {r.group for r in rows}
        analytics = sum(r.lag or 0 for r in rows if r.group == "analytics")
        if {"billing", "analytics", "fulfillment"} <= groups and analytics > 100 and queues and queues[0].count:
            return rows
        return None

    return await until(steady, what="the demo traffic's steady state", timeout=30, interval=0.2)
