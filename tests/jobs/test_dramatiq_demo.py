"""The demo's Dramatiq queue (its own broker and worker, in process): the queue's row, dead-lettered
receipts to requeue, and a requeue that the demo's worker then runs to the end."""

from __future__ import annotations

import asyncio

import pytest
import redis

from mqtui.brokers.redis.adapter import RedisAdapter
from mqtui.config import RedisConfig
from mqtui.demo import dramatiq_traffic
from tests.support import until

pytest.importorskip("dramatiq", reason="dramatiq is the jobs extra")

XQ = "dramatiq:receipts.XQ"


async def test_demo_dramatiq_queue_has_dead_letters_that_requeue(
    redis_url: str, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dramatiq_traffic, "INTERVAL", 0.05)
    stop = asyncio.Event()
    runner = asyncio.create_task(dramatiq_traffic.run(redis_url, stop))
    adapter = RedisAdapter(RedisConfig(name="demo-redis", url=redis_url, timeout=3.0))
    await adapter.connect()
    try:

        async def dead() -> bool:
            found = {q.name: q.count or 0 for q in await adapter.dead_letter_queues()}
            return found.get(XQ, 0) >= 2

        await until(dead, what="two failed receipts in dramatiq:receipts.XQ", timeout=20)
        row = {d.name: d for d in await adapter.destinations()}["dramatiq:receipts"]
        letters = await adapter.dead_letters(XQ)
        requeued = await adapter.replay(XQ, ids=[letters[0].id])
        await until(
            lambda: not raw.zscore(XQ, letters[0].id) and not raw.hexists("dramatiq:receipts.msgs", letters[0].id),
            what="the requeued receipt sent (acked: gone from the queue's bodies)",
            timeout=20,
        )
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=10)
        await adapter.close()
    assert row.extra["convention"] == "dramatiq" and int(row.extra["dramatiq_dead"]) >= 2
    assert letters[0].extra["actor"] == "send_receipt" and requeued.sent == 1
    assert letters[0].reason is not None and letters[0].reason.startswith("TimeoutError: payment provider")
    assert not raw.zscore(XQ, letters[0].id)  # its second run did not fail
