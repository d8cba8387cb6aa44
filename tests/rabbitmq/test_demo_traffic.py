"""The demo's RabbitMQ traffic generator, run against the real broker in a vhost of its own."""

from __future__ import annotations

import asyncio

import pytest

from mqtui.demo import rabbitmq_traffic
from mqtui.localbrokers import LocalRabbitMQ
from mqtui.model import DestinationKind
from tests.rabbitmq.conftest import await_for, make_adapter, management


@pytest.mark.timeout(90)
async def test_demo_traffic_fills_every_pane_and_stops_promptly(rabbitmq_server: LocalRabbitMQ) -> None:
    vhost = "demo-traffic"
    management(rabbitmq_server, f"/api/vhosts/{vhost}", "PUT", {})
    management(
        rabbitmq_server, f"/api/permissions/{vhost}/guest", "PUT", {"configure": ".*", "write": ".*", "read": ".*"}
    )
    url = rabbitmq_server.url.rsplit("/", 1)[0] + "/" + vhost
    broker = {"name": "demo-rabbitmq", "kind": "rabbitmq", "url": url, "management_url": rabbitmq_server.management_url}
    stop = asyncio.Event()
    traffic = asyncio.create_task(rabbitmq_traffic.run(broker, stop))
    adapter = make_adapter(rabbitmq_server, url=url)
    await adapter.connect()
    try:

        async def busy() -> dict:
            rows = {d.name: d for d in await adapter.destinations()}
            wanted = ("orders", "orders.dlq", "emails", "payments", "shop.events")
            if not all(name in rows for name in wanted):
                return {}
            ok = rows["orders.dlq"].depth and rows["emails"].extra["ready"] != "0" and rows["shop.events"].depth
            return rows if ok and rows["orders"].consumers == 1 and rows["emails"].consumers == 1 else {}

        rows = await await_for(busy, "demo queues with traffic", timeout=60)
        assert not traffic.done()
        assert rows["orders.dlq"].is_dlq and rows["payments"].extra["type"] == "quorum"
        assert rows["shop.events"].kind == DestinationKind.STREAM
        dlqs = {q.name: q for q in await adapter.dead_letter_queues()}
        assert dlqs["orders.dlq"].origin == "orders"
        letters = await adapter.dead_letters("orders.dlq", limit=3)
        assert letters and all(letter.origin == "orders" and letter.reason == "rejected" for letter in letters)
        stop.set()
        await asyncio.wait_for(traffic, timeout=10)  # a hang guard: the roles stop within about a second

        def demo_connections() -> list:
            names = [
                (c.get("client_properties") or {}).get("connection_name", "")
                for c in management(rabbitmq_server, "/api/connections")
            ]
            return [name for name in names if name.startswith("mqtui-demo-")]

        await await_for(lambda: asyncio.to_thread(lambda: not demo_connections()), "demo connections to close")
    finally:
        stop.set()
        await adapter.close()
