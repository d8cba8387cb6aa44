"""Fixtures for the RabbitMQ adapter tests: the session's real broker, adapters, and a pika helper.

Tests share the one `rabbitmq_server` and stay apart by unique queue and exchange names.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import pika
import pytest
import pytest_asyncio
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.config import RabbitMQConfig
from mqtui.demo.localbrokers import LocalRabbitMQ
from tests.support import wait_for


def broker_entry(server: LocalRabbitMQ, **overrides: Any) -> dict[str, Any]:
    """The profile entry (as in a config file) for the test broker."""
    return {**server.broker_config(), "name": "rabbit", "timeout": 5.0, **overrides}


def make_adapter(server: LocalRabbitMQ, **overrides: Any) -> RabbitMQAdapter:
    return RabbitMQAdapter(msgspec.convert(broker_entry(server, **overrides), RabbitMQConfig))


@pytest_asyncio.fixture(loop_scope="function")
async def adapter(rabbitmq_server: LocalRabbitMQ) -> AsyncIterator[RabbitMQAdapter]:
    rabbit = make_adapter(rabbitmq_server)
    await rabbit.connect()
    yield rabbit
    await rabbit.close()


@pytest.fixture
def unique() -> Callable[[str], str]:
    tag = uuid.uuid4().hex[:8]
    return lambda name: f"t{tag}-{name}"


@pytest.fixture
def amqp(rabbitmq_server: LocalRabbitMQ) -> Iterator[BlockingChannel]:
    """A plain pika channel for setting up queues and playing producer or consumer."""
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = connection.channel()
    yield channel
    with contextlib.suppress(Exception):  # a test may have had the broker close it
        connection.close()


def publish(channel: BlockingChannel, queue: str, bodies: list[bytes], *, exchange: str = "", **props: Any) -> None:
    channel.confirm_delivery()
    for body in bodies:
        channel.basic_publish(exchange, queue, body, pika.BasicProperties(delivery_mode=2, **props), mandatory=True)


def management(server: LocalRabbitMQ, path: str, method: str = "GET", body: Any = None) -> Any:
    request = urllib.request.Request(
        server.management_url + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    request.add_header("Authorization", "Basic " + base64.b64encode(b"guest:guest").decode())
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def queue_counts(server: LocalRabbitMQ, queue: str, vhost: str = "%2F") -> tuple[int, int]:
    """(ready messages, consumers) as AMQP sees them now: exact, unlike the management API's samples."""
    connection = pika.BlockingConnection(pika.URLParameters(server.url.rsplit("/", 1)[0] + "/" + vhost))
    try:
        declared = connection.channel().queue_declare(queue, passive=True)
        return declared.method.message_count, declared.method.consumer_count
    finally:
        connection.close()


@dataclass
class DeadLettered:
    origin: str
    dlq: str
    dlx: str


def dead_letter_in_bulk(
    channel: BlockingChannel, unique: Callable[[str], str], total: int, *, by_broker: bool = True
) -> DeadLettered:
    """`total` distinct persistent dead letters `bulk-N` (origin -> fanout DLX -> DLQ), made fast.

    `by_broker`: rejected by a consumer, so RabbitMQ writes the x-death headers. Otherwise they are
    published into the DLQ with the same headers and with publisher confirms: RabbitMQ does not
    confirm its own dead-lettering, and a kill -9 of the broker loses dead letters it has not
    flushed yet (seen with 3.10 classic queues), which a test of surviving a broker crash must avoid.
    """
    setup = DeadLettered(unique("bulk-origin"), unique("bulk-dlq"), unique("bulk-dlx"))
    channel.exchange_declare(setup.dlx, "fanout", durable=True)
    channel.queue_declare(setup.dlq, durable=True)
    channel.queue_bind(setup.dlq, setup.dlx)
    channel.queue_declare(setup.origin, durable=True, arguments={"x-dead-letter-exchange": setup.dlx})
    if not by_broker:
        channel.confirm_delivery()
        now = datetime.now(UTC).replace(microsecond=0)
        for i in range(total):
            death = {"count": 1, "reason": "rejected", "queue": setup.origin, "time": now, "exchange": "",
                     "routing-keys": [setup.origin]}  # fmt: skip
            headers = {"x-death": [death], "x-first-death-queue": setup.origin, "x-first-death-reason": "rejected",
                       "x-first-death-exchange": ""}  # fmt: skip
            channel.basic_publish("", setup.dlq, b"bulk-%d" % i, pika.BasicProperties(delivery_mode=2, headers=headers))
        return setup
    persistent = pika.BasicProperties(delivery_mode=2)
    for i in range(total):
        channel.basic_publish("", setup.origin, b"bulk-%d" % i, persistent)
    channel.basic_qos(prefetch_count=500)
    for rejected, (method, _, _) in enumerate(channel.consume(setup.origin, inactivity_timeout=5), start=1):
        assert method is not None, f"only {rejected - 1} of {total} arrived"
        if rejected % 500 == 0 or rejected == total:
            channel.basic_nack(method.delivery_tag, multiple=True, requeue=False)
        if rejected == total:
            break
    channel.cancel()
    wait_for(lambda: channel.queue_declare(setup.dlq, passive=True).method.message_count == total, what="bulk DLQ")
    return setup


def ready(channel: BlockingChannel, queue: str) -> int:
    """Messages ready in `queue` now, on a channel the test already holds."""
    return channel.queue_declare(queue, passive=True).method.message_count


def declarations_on_disk(broker: LocalRabbitMQ) -> None:
    """Sync Mnesia's transaction log, so queues just declared survive a kill -9: RabbitMQ 3.x logs a
    declaration's commit before the log reaches the disk (tests/faults/test_rabbitmq_faults.py says more)."""
    assert broker.ctl("eval", "mnesia:sync_log().").strip() == "ok"


def drain_all(channel: BlockingChannel, queue: str) -> list[bytes]:
    found: list[bytes] = []
    while True:
        method, _, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return found
        found.append(body)
