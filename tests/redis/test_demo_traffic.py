"""The demo's Redis traffic gives every pane something true to show, and stops promptly."""

from __future__ import annotations

import asyncio

import pytest
import redis

from mqtui.demo import redis_traffic
from mqtui.demo.localbrokers import LocalRedis
from mqtui.model import DeadLetterQueue
from tests.redis.conftest import adapter_for
from tests.support import until


async def test_demo_traffic_fills_queues_groups_channel_and_dead_letters(
    private_redis: LocalRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis_traffic, "RETRY_INTERVAL", 0.1)
    monkeypatch.setattr(redis_traffic, "RETRY_MIN_IDLE_MS", 50)
    stop = asyncio.Event()
    broker = {"name": "demo-redis", "kind": "redis", "url": private_redis.url}
    runner = asyncio.create_task(redis_traffic.run(broker, stop))
    raw = redis.Redis(port=private_redis.port)
    try:
        async with adapter_for(private_redis.url) as adapter:

            async def both_dead_letter_queues() -> dict[str, DeadLetterQueue] | None:
                queues = {q.name: q for q in await adapter.dead_letter_queues()}
                return queues if {"jobs:dlq", "events@billing"} <= set(queues) else None

            queues = await until(both_dead_letter_queues, what="jobs:dlq and events@billing", timeout=60, interval=0.2)
            assert not runner.done()
            destinations = {d.name: d for d in await adapter.destinations()}
            groups = {r.group for r in await adapter.backlog() if r.destination == "events"}
            letters = await adapter.dead_letters("events@billing", limit=1)
            failed = await adapter.dead_letters("rq:failed:default")
            retries = {s.destination: s for s in await adapter.retry_schedules()}
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=5)
    assert {"jobs:dlq", "events@billing", "rq:failed:default"} <= set(queues)
    assert queues["events@billing"].detected_by == "max deliveries (5)"
    assert letters[0].attempts is not None and letters[0].attempts >= 5
    assert {f.reason for f in failed} == {"ZeroDivisionError: division by zero",
                                         "requests.exceptions.ConnectTimeout: upstream did not answer"}  # fmt: skip
    assert groups == {"shipper", "analytics", "billing"}
    assert retries["jobs:retry"].due_later and retries["jobs:retry"].next_due_at is not None  # parked, due later
    assert destinations["notifications"].consumers == 1
    assert destinations["celery"].depth == 3 and destinations["rq:queue:default"].depth == 1
    assert destinations["jobs"].kind.value == "list" and destinations["events"].depth > 0
    assert raw.llen("jobs:processing") == 0  # the worker gave back what it held when told to stop
    raw.close()
