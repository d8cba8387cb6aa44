"""Demo traffic for NATS: a busy ORDERS stream, three kinds of consumer, dead letters and a service.

* stream `ORDERS` (subjects `orders.>`, bounded by count and age) fed at ~20 messages per second;
* durable pull consumers `shipper` (keeps up), `audit` (slow, so its lag grows) and `billing`
  (max_deliver=3, naks every tenth order, so the server gives up on it and publishes MAX_DELIVERIES
  advisories);
* stream `DLQ` capturing the max-deliveries and terminated advisories: the adapter recognises any
  stream that captures them, so the demo profile needs no `dlq_stream`;
* a core request/reply service on `svc.echo`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

import nats
import orjson
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, StreamConfig
from nats.js.errors import NotFoundError

ADVISORIES = ["$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.>"]
KINDS = ("created", "paid", "shipped")


async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(str(config.name))
    except NotFoundError:
        await js.add_stream(config)


async def _publish(js: JetStreamContext, stop: asyncio.Event) -> None:
    for n in itertools.count(1):
        kind = KINDS[n % len(KINDS)]
        body = orjson.dumps({"order": n, "kind": kind, "amount": round(n * 1.37 % 500, 2)})
        await js.publish(f"orders.{kind}", body, headers={"source": "demo", "order-id": str(n)})
        if await _stopped(stop, 0.05):
            return


async def _work(js: JetStreamContext, durable: str, stop: asyncio.Event, *, pause: float, batch: int,
                nak_every: int = 0, max_deliver: int = -1) -> None:  # fmt: skip
    sub = await js.pull_subscribe(
        "orders.>", durable=durable, stream="ORDERS",
        config=ConsumerConfig(max_deliver=max_deliver, ack_wait=10),
    )  # fmt: skip
    while not stop.is_set():
        try:
            messages = await sub.fetch(batch, timeout=1)
        except (TimeoutError, nats.errors.TimeoutError):
            continue
        for msg in messages:
            order = int((msg.headers or {}).get("order-id", "0") or 0)
            if nak_every and order % nak_every == 0:
                await msg.nak()
            else:
                await msg.ack()
        if await _stopped(stop, pause):
            return


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set()


async def run(broker: dict[str, Any], stop: asyncio.Event) -> None:
    nc = await nats.connect(broker["url"], name="mqtui-demo", max_reconnect_attempts=5, reconnect_time_wait=1)
    try:
        js = nc.jetstream()
        await _ensure_stream(js, StreamConfig(name="ORDERS", subjects=["orders.>"], max_msgs=100_000, max_age=3600))
        await _ensure_stream(js, StreamConfig(name="DLQ", subjects=ADVISORIES, max_msgs=10_000))

        async def echo(msg: Any) -> None:
            await msg.respond(b"echo: " + msg.data)

        await nc.subscribe("svc.echo", cb=echo)
        tasks = [
            asyncio.create_task(_publish(js, stop)),
            asyncio.create_task(_work(js, "shipper", stop, pause=0.0, batch=50)),
            asyncio.create_task(_work(js, "audit", stop, pause=1.0, batch=5)),
            asyncio.create_task(_work(js, "billing", stop, pause=0.0, batch=20, nak_every=10, max_deliver=3)),
        ]
        waiter = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception() if task is not waiter else None
                if error is not None:
                    raise error  # a generator that failed: the supervisor restarts the whole demo traffic
        finally:
            for task in (waiter, *tasks):
                task.cancel()
            await asyncio.gather(waiter, *tasks, return_exceptions=True)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), timeout=2)
