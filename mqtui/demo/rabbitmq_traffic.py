"""Demo traffic for RabbitMQ: a topic exchange feeding four queues, with consumers of every temper.

* exchange `shop` (topic) fed at ~30 messages per second with keys `orders.*`, `emails.*`, `payments.*`;
* `orders` (classic, dead-letter exchange `orders.dlx` -> `orders.dlq`): a worker that keeps up but
  rejects every twentieth order, so `orders.dlq` fills with dead letters carrying `x-death`, and parks
  another one in twenty in `orders.retry` (no consumer, TTL 30 s, dead-lettered back to `orders`) for one
  more try: the Retries table's TTL + dead-letter queue;
* `emails` (classic, at most 5,000 messages): a sender slower than the traffic, so its ready count grows;
* `payments` (quorum, delivery-limit 5): a worker that keeps up;
* `shop.events` (stream bound to `#`, 20 MB): every message, for `tail --from beginning`.

pika is blocking, so each role runs on its own thread with its own connection; `stop` (or any role
failing, e.g. the broker restarting) ends them all within about a second, and the supervisor in
`mqtui.demo.traffic` starts them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

EXCHANGE = "shop"
RETRY_QUEUE, RETRY_TTL_MS = "orders.retry", 30_000
EMAIL_PAUSE = 0.25
"""The email sender handles 4 a second while 8 arrive: its backlog grows until x-max-length."""


def _connect(url: str, role: str) -> BlockingConnection:
    parameters = pika.URLParameters(url)
    parameters.client_properties = {"connection_name": f"mqtui-demo-{role}"}
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    return BlockingConnection(parameters)


def _declare(channel: BlockingChannel) -> None:
    channel.exchange_declare(EXCHANGE, "topic", durable=True)
    channel.exchange_declare("orders.dlx", "fanout", durable=True)
    channel.queue_declare("orders.dlq", durable=True)
    channel.queue_bind("orders.dlq", "orders.dlx")
    back = {"x-message-ttl": RETRY_TTL_MS, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "orders"}
    channel.queue_declare(RETRY_QUEUE, durable=True, arguments=back)
    queues: dict[str, tuple[str, dict[str, Any]]] = {
        "orders": ("orders.*", {"x-dead-letter-exchange": "orders.dlx"}),
        "emails": ("emails.*", {"x-max-length": 5000}),
        "payments": ("payments.*", {"x-queue-type": "quorum", "x-delivery-limit": 5}),
        "shop.events": ("#", {"x-queue-type": "stream", "x-max-length-bytes": 20_000_000}),
    }
    for queue, (key, arguments) in queues.items():
        channel.queue_declare(queue, durable=True, arguments=arguments)
        channel.queue_bind(queue, EXCHANGE, key)


def _produce(url: str, stopping: threading.Event) -> None:
    connection = _connect(url, "producer")
    try:
        channel = connection.channel()
        for n in itertools.count(1):
            if stopping.is_set():
                return
            keys = ["orders.created", "emails.send"] + (["payments.charge"] if n % 2 == 0 else [])
            if n % 3 == 0:
                keys.append("emails.send")
            for key in keys:
                body = orjson.dumps({"n": n, "kind": key, "amount": round(n * 1.37 % 500, 2)})
                properties = pika.BasicProperties(
                    content_type="application/json",
                    delivery_mode=2,
                    message_id=str(uuid.uuid4()),
                    timestamp=int(time.time()),
                    headers={"source": "demo", "seq": n},
                )
                channel.basic_publish(EXCHANGE, key, body, properties)
            connection.sleep(0.08)
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def _consume(
    url: str,
    queue: str,
    stopping: threading.Event,
    *,
    prefetch: int,
    handle: Callable[[BlockingChannel, Any, bytes], None],
) -> None:
    connection = _connect(url, queue)
    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=prefetch)

        def deliver(ch: BlockingChannel, method: Any, _properties: Any, body: bytes) -> None:
            if stopping.is_set():  # hand back what was prefetched instead of working through it
                ch.basic_nack(method.delivery_tag, requeue=True)
            else:
                handle(ch, method, body)

        channel.basic_consume(queue, deliver)
        while not stopping.is_set():
            connection.process_data_events(time_limit=0.2)
    finally:
        with contextlib.suppress(Exception):
            connection.close()


def _orders(channel: BlockingChannel, method: Any, body: bytes) -> None:
    try:
        document = orjson.loads(body)
        order = int(document.get("n", 0))
    except (orjson.JSONDecodeError, AttributeError, TypeError, ValueError):
        document, order = {}, 0
    if order % 20 == 0:
        channel.basic_reject(method.delivery_tag, requeue=False)  # dead-lettered to orders.dlq
        return
    if order % 20 == 10 and not document.get("retried"):  # one more try in 30 s, once
        properties = pika.BasicProperties(content_type="application/json", delivery_mode=2, timestamp=int(time.time()))
        channel.basic_publish("", RETRY_QUEUE, orjson.dumps({**document, "retried": True}), properties)
    channel.basic_ack(method.delivery_tag)


def _emails(channel: BlockingChannel, method: Any, _body: bytes) -> None:
    time.sleep(EMAIL_PAUSE)
    channel.basic_ack(method.delivery_tag)


def _payments(channel: BlockingChannel, method: Any, _body: bytes) -> None:
    channel.basic_ack(method.delivery_tag)


async def run(broker: dict[str, Any], stop: asyncio.Event) -> None:
    """Drive the demo queues until `stop` is set; raise if a role fails, so the supervisor restarts it."""
    url = broker["url"]
    loop = asyncio.get_running_loop()
    stopping = threading.Event()
    failed = asyncio.Event()
    errors: list[BaseException] = []

    def role(target: Callable[..., None], *args: Any, **kwargs: Any) -> threading.Thread:
        def body() -> None:
            try:
                target(*args, **kwargs)
            except BaseException as exc:
                if not stopping.is_set():
                    errors.append(exc)
                    loop.call_soon_threadsafe(failed.set)

        return threading.Thread(target=body, name=f"mqtui-demo-rabbitmq-{target.__name__}", daemon=True)

    # Declare everything once before the roles start, so no consumer races the producer's declarations.
    await asyncio.to_thread(_setup, url)
    threads = [
        role(_produce, url, stopping),
        role(_consume, url, "orders", stopping, prefetch=20, handle=_orders),
        role(_consume, url, "emails", stopping, prefetch=5, handle=_emails),
        role(_consume, url, "payments", stopping, prefetch=20, handle=_payments),
    ]
    for thread in threads:
        thread.start()
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(failed.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.set()
        for waiter in waiters:
            waiter.cancel()
        for thread in threads:
            await asyncio.to_thread(thread.join, 2.0)
    if errors and not stop.is_set():
        raise RuntimeError(f"rabbitmq demo traffic failed: {type(errors[0]).__name__}: {errors[0]}")


def _setup(url: str) -> None:
    connection = _connect(url, "setup")
    try:
        _declare(connection.channel())
    finally:
        connection.close()
