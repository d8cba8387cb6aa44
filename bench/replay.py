"""Replay: dead letters sent back per second by `adapter.replay()`, against the bare client's confirmed
publish rate, for each broker.

Each broker gets a DLQ of COUNT[kind] dead letters of about 200 bytes and an origin to send them to:

- Kafka (tansu): `orders.DLQ` (1 partition) -> `orders` (3 partitions), by the `{name}.DLQ` rule. Baselines:
  an idempotent acks=all producer (mqtui's producer settings) sending the same records, (a) all at once
  then one flush, (b) one at a time, each flushed before the next. Like mqtui's replay, which makes its
  producer for each replay, both start with a new producer, so both wait for librdkafka to get an
  idempotent producer id (about half a second on tansu; most of (a) for 20,000 records). Two more
  figures, without a verdict, show what that hides: (c) a producer that already has its id and its
  connections (one record sent and flushed before the clock starts), all at once then one flush, and
  the same three sides for a DLQ of LARGE dead letters.
- RabbitMQ: messages rejected from `orders` into `orders.dlq` through a fanout dead-letter exchange
  (RabbitMQ writes the x-death headers). Baseline: pika with publisher confirms, `basic_publish`
  (persistent, mandatory) of the same bodies; a BlockingChannel waits for each confirm, so (a) = (b).
- Redis: a DLQ list `jobs:dlq` -> `jobs`, and a DLQ stream `events:dlq` -> `events`. Baselines: redis-py
  (hiredis) LPUSH / XADD of the same values, (a) pipelined in batches of mqtui's batch size, (b) one
  awaited command at a time.
- NATS JetStream: a republish DLQ stream `ORDERS_DLQ` whose entries name `orders.created` in an
  `Original-Subject` header -> stream `ORDERS`. Baselines: nats-py `js.publish` (acked) of the same
  bodies, (a) 64 in flight (mqtui's window), (b) one at a time.

The ratio is against the faster baseline, (a) or (b): what the bare client does at its best. Target:
at least 0.5x. Each side runs once per broker on the same broker; the notes give both baselines.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from common import QUIET, figure, header, local_brokers, note
from kafka_data import create_topics

from mqtui.brokers import create_adapter
from mqtui.brokers.kafka.client import producer_settings
from mqtui.config import AnyBrokerConfig, KafkaConfig
from mqtui.demo.localbrokers import LocalBroker

COUNT = {"kafka": 20_000, "rabbitmq": 5_000, "redis": 20_000, "nats": 5_000}
LARGE = 200_000
"""Kafka dead letters of the second, larger replay (the rate once start-up costs are spread thin)."""
SEQUENTIAL = 2_000
"""Messages for the one-at-a-time baselines (enough for a steady rate, short on slow clients)."""
SIZE = 200


def body(index: int) -> bytes:
    head = b'{"order": %d, "pad": "' % index
    return head + b"p" * (SIZE - len(head) - 2) + b'"}'


def adapter_config(broker: LocalBroker) -> AnyBrokerConfig:
    return msgspec.convert({**broker.broker_config(), "timeout": 30.0}, AnyBrokerConfig)  # type: ignore[arg-type]


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = await call()
    return time.perf_counter() - started, result


async def replay_rate(broker: LocalBroker, dlq: str, count: int) -> float:
    adapter = create_adapter(adapter_config(broker))
    await adapter.connect()
    try:
        seconds, result = await timed(lambda: adapter.replay(dlq))
    finally:
        await adapter.close()
    assert (result.sent, result.failed, result.errors) == (count, 0, ()), result
    return count / seconds


def verdict(kind: str, mine: float, pipelined: float, one_by_one: float, what: str) -> None:
    best = max(pipelined, one_by_one)
    note(f"{kind}: baseline (a) pipelined {pipelined:,.0f} msg/s, (b) one at a time {one_by_one:,.0f} msg/s")
    figure(f"replay {kind} ({what})", f"mqtui {mine:,.0f} msg/s", f"bare confirmed publish {best:,.0f} msg/s",
           mine / best, ">=0.5x", mine / best >= 0.5)  # fmt: skip


# -- Kafka -----------------------------------------------------------------------------------------
def kafka_publish(url: str, topic: str, count: int, one_by_one: bool, warm: bool = False) -> float:
    from confluent_kafka import Producer

    config = KafkaConfig(name="bare", url=url, timeout=30)
    producer = Producer(producer_settings(config) | QUIET)
    if warm:  # the producer id and the connections first, off the clock
        producer.produce(topic, b"warm-up")
        producer.flush(30)
    failures: list[Any] = []

    def report(error: Any, _message: Any) -> None:
        if error is not None:
            failures.append(error)

    started = time.perf_counter()
    for index in range(count):
        while True:
            try:
                producer.produce(topic, body(index), key=b"order-%d" % index, on_delivery=report)
                break
            except BufferError:  # librdkafka's queue is full (LARGE): let deliveries drain it
                producer.poll(0.01)
        if one_by_one:
            producer.flush(30)
    producer.flush(30)
    seconds = time.perf_counter() - started
    assert not failures, failures[:3]
    return count / seconds


def kafka_dlq(url: str, name: str, origin: str, count: int) -> None:
    from confluent_kafka import Producer

    create_topics(url, [origin], 3)
    create_topics(url, [name], 1)
    bulk = Producer({"bootstrap.servers": url, "linger.ms": 20, "batch.num.messages": 10_000,
                     "queue.buffering.max.messages": count + 1, **QUIET})  # fmt: skip
    for index in range(count - 1):
        bulk.produce(name, body(index), key=b"order-%d" % index, partition=0)
    bulk.flush(60)
    single = Producer({"bootstrap.servers": url, "linger.ms": 0, "batch.num.messages": 1, **QUIET})
    single.produce(name, body(count - 1), key=b"order-%d" % (count - 1), partition=0)
    single.flush(30)  # a last one-record batch: tansu's watermark is then the true end (see kafka_data)


async def bench_kafka(broker: LocalBroker) -> None:
    count = COUNT["kafka"]
    create_topics(broker.url, ["bare-a", "bare-b", "bare-c", "bare-d", "bare-e"], 3)
    kafka_dlq(broker.url, "orders.DLQ", "orders", count)
    pipelined = kafka_publish(broker.url, "bare-a", count, one_by_one=False)
    one_by_one = kafka_publish(broker.url, "bare-b", SEQUENTIAL, one_by_one=True)
    warm = kafka_publish(broker.url, "bare-c", count, one_by_one=False, warm=True)
    mine = await replay_rate(broker, "orders.DLQ", count)
    verdict("kafka", mine, pipelined, one_by_one, f"{count:,} dead letters")
    figure(f"replay kafka ({count:,}) vs a warm producer", f"mqtui {mine:,.0f} msg/s",
           f"(c) producer with its id {warm:,.0f} msg/s", mine / warm)  # fmt: skip

    kafka_dlq(broker.url, "large.DLQ", "large", LARGE)
    pipelined = kafka_publish(broker.url, "bare-d", LARGE, one_by_one=False)
    warm = kafka_publish(broker.url, "bare-e", LARGE, one_by_one=False, warm=True)
    mine = await replay_rate(broker, "large.DLQ", LARGE)
    figure(f"replay kafka ({LARGE:,}) vs (a)", f"mqtui {mine:,.0f} msg/s",
           f"(a) new producer {pipelined:,.0f} msg/s", mine / pipelined)  # fmt: skip
    figure(f"replay kafka ({LARGE:,}) vs a warm producer", f"mqtui {mine:,.0f} msg/s",
           f"(c) producer with its id {warm:,.0f} msg/s", mine / warm)  # fmt: skip


# -- RabbitMQ --------------------------------------------------------------------------------------
def rabbit_setup(url: str, count: int) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare("orders.dlx", "fanout", durable=True)
    channel.queue_declare("orders.dlq", durable=True)
    channel.queue_bind("orders.dlq", "orders.dlx")
    channel.queue_declare("orders", durable=True, arguments={"x-dead-letter-exchange": "orders.dlx"})
    channel.queue_declare("bare", durable=True)
    persistent = pika.BasicProperties(delivery_mode=2)
    for index in range(count):
        channel.basic_publish("", "orders", body(index), persistent)
    connection.close()
    rabbit_dead_letter(url, count)


def rabbit_dead_letter(url: str, count: int) -> None:
    """Reject the `count` messages waiting in `orders`, so RabbitMQ dead-letters them into `orders.dlq`."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.basic_qos(prefetch_count=1000)
    for rejected, (method, _, _) in enumerate(channel.consume("orders", inactivity_timeout=10), start=1):
        assert method is not None, f"only {rejected - 1} of {count} arrived"
        if rejected % 1000 == 0 or rejected == count:
            channel.basic_nack(method.delivery_tag, multiple=True, requeue=False)
        if rejected == count:
            break
    channel.cancel()
    deadline = time.monotonic() + 60
    while channel.queue_declare("orders.dlq", passive=True).method.message_count < count:
        assert time.monotonic() < deadline, "dead letters did not arrive"
        time.sleep(0.1)
    connection.close()


def rabbit_publish(url: str, count: int) -> float:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    persistent = pika.BasicProperties(delivery_mode=2)
    started = time.perf_counter()
    for index in range(count):
        channel.basic_publish("", "bare", body(index), persistent, mandatory=True)
    seconds = time.perf_counter() - started
    connection.close()
    return count / seconds


async def bench_rabbitmq(broker: LocalBroker) -> None:
    count = COUNT["rabbitmq"]
    await asyncio.to_thread(rabbit_setup, broker.url, count)
    bare = await asyncio.to_thread(rabbit_publish, broker.url, count)
    mine = await replay_rate(broker, "orders.dlq", count)
    verdict("rabbitmq", mine, bare, bare, f"{count:,} dead letters, requeue")
    # The same dead letters again, moved by a shovel inside the broker (`dlq move`).
    await asyncio.to_thread(rabbit_dead_letter, broker.url, count)
    adapter = create_adapter(adapter_config(broker))
    await adapter.connect()
    try:
        seconds, result = await timed(lambda: adapter.move_queue("orders.dlq", to="orders"))
    finally:
        await adapter.close()
    assert (result.sent, result.failed) == (count, 0), result
    moved = count / seconds
    figure(f"move rabbitmq ({count:,} dead letters, shovel)", f"mqtui {moved:,.0f} msg/s",
           f"bare confirmed publish {bare:,.0f} msg/s", moved / bare, ">=0.5x", moved / bare >= 0.5)  # fmt: skip


# -- Redis -----------------------------------------------------------------------------------------
async def bench_redis(broker: LocalBroker) -> None:
    import redis.asyncio as aioredis

    from mqtui.brokers.redis.requeue import BATCH

    count = COUNT["redis"]
    client = aioredis.Redis.from_url(broker.url)
    try:
        for key, add in (("jobs:dlq", "list"), ("events:dlq", "stream")):
            pipe = client.pipeline(transaction=False)
            for index in range(count):
                if add == "list":
                    pipe.lpush(key, body(index))
                else:
                    pipe.xadd(key, {"data": body(index), "error": "failed"})
            await pipe.execute()

        async def pipelined(key: str, kind: str) -> float:
            started = time.perf_counter()
            for begin in range(0, count, BATCH):
                pipe = client.pipeline(transaction=False)
                for index in range(begin, min(begin + BATCH, count)):
                    if kind == "list":
                        pipe.lpush(key, body(index))
                    else:
                        pipe.xadd(key, {"data": body(index), "error": "failed"})
                await pipe.execute()
            return count / (time.perf_counter() - started)

        async def one_by_one(key: str, kind: str) -> float:
            started = time.perf_counter()
            for index in range(SEQUENTIAL):
                if kind == "list":
                    await client.lpush(key, body(index))
                else:
                    await client.xadd(key, {"data": body(index), "error": "failed"})
            return SEQUENTIAL / (time.perf_counter() - started)

        for kind, dlq, bare in (("list", "jobs:dlq", "bare:list"), ("stream", "events:dlq", "bare:stream")):
            piped = await pipelined(bare + ":a", kind)
            single = await one_by_one(bare + ":b", kind)
            mine = await replay_rate(broker, dlq, count)
            verdict(f"redis {kind}", mine, piped, single, f"{count:,} dead letters")
    finally:
        await client.aclose()


# -- NATS ------------------------------------------------------------------------------------------
async def bench_nats(broker: LocalBroker) -> None:
    import nats

    count = COUNT["nats"]
    nc = await nats.connect(broker.url)
    try:
        js = nc.jetstream(timeout=30)
        await js.add_stream(name="ORDERS", subjects=["orders.>"])
        await js.add_stream(name="ORDERS_DLQ", subjects=["dlq.orders"])
        await js.add_stream(name="BARE", subjects=["bare.>"])
        headers = {"Original-Subject": "orders.created"}
        when = datetime.now(UTC).isoformat()
        for begin in range(0, count, 500):
            await asyncio.gather(*(js.publish("dlq.orders", body(i), headers={**headers, "Failed-At": when})
                                   for i in range(begin, min(begin + 500, count))))  # fmt: skip

        async def windowed() -> float:
            started = time.perf_counter()
            for begin in range(0, count, 64):
                await asyncio.gather(*(js.publish("bare.a", body(i)) for i in range(begin, min(begin + 64, count))))
            return count / (time.perf_counter() - started)

        async def one_by_one() -> float:
            started = time.perf_counter()
            for index in range(SEQUENTIAL):
                await js.publish("bare.b", body(index))
            return SEQUENTIAL / (time.perf_counter() - started)

        piped = await windowed()
        single = await one_by_one()
        mine = await replay_rate(broker, "ORDERS_DLQ", count)
        verdict("nats", mine, piped, single, f"{count:,} dead letters")
    finally:
        await nc.close()


BENCHES = {"kafka": bench_kafka, "rabbitmq": bench_rabbitmq, "redis": bench_redis, "nats": bench_nats}


def main() -> None:
    """`replay.py [BROKER ...]`: every broker by default, or only those named (kafka, rabbitmq, redis, nats)."""
    kinds = sys.argv[1:] or list(BENCHES)
    unknown = [kind for kind in kinds if kind not in BENCHES]
    if unknown:
        sys.exit(f"unknown broker(s) {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    header("replay: dead letters replayed per second vs the bare client's confirmed publish")
    with local_brokers(*kinds) as brokers:
        for kind in kinds:
            asyncio.run(BENCHES[kind](brokers[kind]))


if __name__ == "__main__":
    main()
