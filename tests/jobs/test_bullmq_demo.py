"""The demo's BullMQ queue (through the Python port): its row, failed jobs to retry, and a retry the demo's
worker then sends."""

from __future__ import annotations

import asyncio

import pytest

from mqtui.brokers.redis.adapter import RedisAdapter
from mqtui.config import RedisConfig
from mqtui.demo import bullmq_traffic
from tests.support import until

pytest.importorskip("bullmq", reason="BullMQ's Python port is the jobs extra")


async def test_demo_bullmq_queue_has_failures_that_retry(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bullmq_traffic, "INTERVAL", 0.05)
    stop = asyncio.Event()
    runner = asyncio.create_task(bullmq_traffic.run(redis_url, stop))
    adapter = RedisAdapter(RedisConfig(name="demo-redis", url=redis_url, timeout=3.0))
    await adapter.connect()
    try:

        async def failed() -> bool:
            found = {q.name: q.count or 0 for q in await adapter.dead_letter_queues()}
            return found.get("bull:emails:failed", 0) >= 2

        await until(failed, what="two bounced emails in BullMQ's failed set", timeout=20)
        row = {d.name: d for d in await adapter.destinations()}["bull:emails"]
        letters = await adapter.dead_letters("bull:emails:failed")
        retried = await adapter.replay("bull:emails:failed", ids=[letters[0].id])

        async def sent() -> bool:
            return letters[0].id not in {letter.id for letter in await adapter.dead_letters("bull:emails:failed")}

        await until(sent, what="the retried email sent", timeout=20)
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=10)
        await adapter.close()
    assert row.extra["convention"] == "bullmq" and row.consumers == 1
    assert letters[0].reason is not None and letters[0].reason.startswith("SMTP 451")
    assert letters[0].extra["job"] == "send" and retried.sent == 1
