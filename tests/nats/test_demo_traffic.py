"""The demo's NATS traffic shows every pane something true, and stops promptly."""

from __future__ import annotations

import asyncio

from mqtui.demo import nats_traffic
from mqtui.demo.localbrokers import LocalNats
from mqtui.model import OutgoingMessage
from tests.nats.support import adapter_for
from tests.support import until


async def test_demo_traffic_fills_streams_lag_dead_letters_and_a_service(private_nats: LocalNats) -> None:
    stop = asyncio.Event()
    broker = {"name": "demo-nats", "kind": "nats", "url": private_nats.url, "monitor_url": private_nats.monitor_url}
    runner = asyncio.create_task(nats_traffic.run(broker, stop))
    try:
        async with adapter_for(private_nats) as adapter:

            async def dead_letters_arrived() -> bool:
                queues = {q.name: q for q in await adapter.dead_letter_queues()}
                return "DLQ" in queues and (queues["DLQ"].count or 0) >= 1

            await until(dead_letters_arrived, what="a dead letter in DLQ", timeout=30)
            rows = {r.group: r for r in await adapter.backlog()}
            assert set(rows) == {"shipper", "audit", "billing"}
            [queue] = await adapter.dead_letter_queues()
            assert (queue.name, queue.detected_by) == ("DLQ", "advisories")
            letters = await adapter.dead_letters("DLQ", limit=1)
            assert letters[0].origin is not None and letters[0].origin.startswith("orders.")
            assert letters[0].extra["consumer"] == "billing" and letters[0].attempts == 3
            reply = await adapter.request("svc.echo", OutgoingMessage(value=b"hi"), timeout=3)
            assert reply.value == b"echo: hi"
    finally:
        stop.set()
        await asyncio.wait_for(runner, timeout=5)
