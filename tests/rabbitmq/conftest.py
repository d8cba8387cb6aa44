"""Fixtures for the RabbitMQ adapter tests: the session's real broker, adapters, and a pika helper.

Tests share the one `rabbitmq_server` and stay apart by unique queue and exchange names.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

import msgspec
import pika
import pytest
import pytest_asyncio
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq import RabbitMQAdapter
from mqtui.config import RabbitMQConfig
from mqtui.localbrokers import LocalRabbitMQ

T = TypeVar("T")


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


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll until `probe` returns something truthy (the management API samples every 0.5 s)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


async def await_for(probe: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """`wait_for` for async probes."""
    import asyncio

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
