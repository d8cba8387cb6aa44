"""The demo's RabbitMQ traffic generator, run against the real broker in a vhost of its own."""

from __future__ import annotations

import asyncio

import pika
import pytest

from mqtui.demo import rabbitmq_traffic
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.model import DestinationKind
from tests.rabbitmq.conftest import make_adapter, management, queue_counts
from tests.support import until, wait_for


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

        def busy() -> bool:
            # AMQP's declare-ok counts are exact at once; the management API's come every few seconds.
            try:
                dead, _ = queue_counts(rabbitmq_server, "orders.dlq", vhost)
                ready, senders = queue_counts(rabbitmq_server, "emails", vhost)
                _, workers = queue_counts(rabbitmq_server, "orders", vhost)
            except pika.exceptions.ChannelClosedByBroker:  # not declared yet
                return False
            return dead > 0 and ready > 0 and senders == 1 and workers == 1

        await asyncio.to_thread(
            wait_for, busy, what="dead letters, a growing email backlog and both workers", timeout=60
        )
        assert not traffic.done()
        rows = {d.name: d for d in await adapter.destinations()}
        assert rows["orders.dlq"].is_dlq and rows["payments"].extra["type"] == "quorum"
        assert rows["shop.events"].kind == DestinationKind.STREAM
        dlqs = {q.name: q for q in await adapter.dead_letter_queues()}
        assert dlqs["orders.dlq"].origin == "orders"
        assert "orders" not in dlqs  # orders.retry dead-letters back into it: retried, not dead
        [parked] = [s for s in await adapter.retry_schedules() if s.destination == rabbitmq_traffic.RETRY_QUEUE]
        assert (parked.convention, parked.origin, parked.due_now) == ("ttl + dead-letter", "orders", 0)
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

        await until(lambda: asyncio.to_thread(lambda: not demo_connections()), what="demo connections to close")
    finally:
        stop.set()
        await adapter.close()
