"""Demo traffic for the Kafka broker: orders and payments flowing, one group keeping up, one falling
behind, one failing some orders into a Spring-style dead-letter topic.

- `orders` (3 partitions) gets ~180 JSON orders a second keyed by customer, `payments` (2) ~70.
- `billing` reads `orders` as fast as they come: its lag stays near zero.
- `analytics` reads `orders` and `payments` at 60 a second: its lag grows for as long as the demo runs.
- `fulfillment` reads `orders` and fails about one in 150 (a dead letter a second or so) into
  `orders.DLQ` with the headers Spring Kafka's DeadLetterPublishingRecoverer writes, so the DLQ pane
  and `dlq replay` have real dead letters to work on.

Consumers are assigned their partitions and commit explicit offsets instead of joining their groups:
group joins on tansu take seconds, and the lag they show is just as real. Records are produced one
per batch because tansu counts batches in its high watermark. Everything runs in threads of this
process and stops within a second of `stop` being set. tansu keeps all of it in memory (roughly
150 MB an hour at these rates).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from confluent_kafka import OFFSET_STORED, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ORDERS, PAYMENTS, ORDERS_DLQ = "orders", "payments", "orders.DLQ"
TOPICS = {ORDERS: 3, PAYMENTS: 2, ORDERS_DLQ: 1}
ORDERS_PER_SECOND, PAYMENTS_PER_SECOND = 180, 70
ANALYTICS_PER_SECOND = 60
FAILURE_RATE = 1 / 150
TICK = 0.1
_QUIET = {"log_level": 0}


async def run(broker: dict[str, Any], stop: asyncio.Event) -> None:
    """Drive the broker until `stop` is set; raises (for the supervisor to restart it) if a worker fails."""
    url = broker["url"]
    await asyncio.to_thread(_create_topics, url)
    halt = threading.Event()
    failures: list[BaseException] = []
    workers = [
        _worker("producer", _produce, url, halt, failures),
        _worker("billing", _consume, url, halt, failures, "billing", [ORDERS], None),
        _worker("analytics", _consume, url, halt, failures, "analytics", [ORDERS, PAYMENTS], ANALYTICS_PER_SECOND),
        _worker("fulfillment", _fulfil, url, halt, failures),
    ]
    try:
        while not stop.is_set() and not failures:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
    finally:
        halt.set()
        await asyncio.to_thread(_join, workers)
    if failures:
        raise RuntimeError(f"kafka demo traffic: {failures[0]}")


def _worker(name: str, target: Callable[..., None], *args: Any) -> threading.Thread:
    url, halt, failures, *rest = args

    def body() -> None:
        try:
            target(url, halt, *rest)
        except Exception as exc:
            failures.append(exc)
            halt.set()

    thread = threading.Thread(target=body, name=f"kafka-demo-{name}", daemon=True)
    thread.start()
    return thread


def _join(workers: list[threading.Thread]) -> None:
    deadline = time.monotonic() + 2.0
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))


def _create_topics(url: str) -> None:
    admin = AdminClient({"bootstrap.servers": url, **_QUIET})
    existing = admin.list_topics(timeout=5).topics
    wanted = [NewTopic(name, partitions, 1) for name, partitions in TOPICS.items() if name not in existing]
    for future in admin.create_topics(wanted).values() if wanted else ():
        with contextlib.suppress(KafkaException):  # created meanwhile by an earlier run
            future.result(10)


def _producer(url: str) -> Producer:
    return Producer({"bootstrap.servers": url, "batch.num.messages": 1, "linger.ms": 0, "acks": "all", **_QUIET})


def _produce(url: str, halt: threading.Event) -> None:
    producer = _producer(url)
    rng = random.Random()
    order_id = payment_id = 0
    owed_orders = owed_payments = 0.0
    next_tick = time.monotonic()
    while not halt.is_set():
        owed_orders += ORDERS_PER_SECOND * TICK
        owed_payments += PAYMENTS_PER_SECOND * TICK
        while owed_orders >= 1:
            owed_orders -= 1
            order_id += 1
            customer = f"customer-{rng.randint(1, 400)}"
            order = {"order_id": order_id, "customer": customer, "amount": round(rng.uniform(5, 400), 2),
                     "currency": "EUR", "items": rng.randint(1, 6)}  # fmt: skip
            headers: Headers = [("source", rng.choice([b"web", b"mobile", b"partner"])),
                                ("trace-id", uuid.uuid4().hex.encode())]  # fmt: skip
            producer.produce(ORDERS, orjson.dumps(order), key=customer.encode(), headers=headers)
        while owed_payments >= 1:
            owed_payments -= 1
            payment_id += 1
            payment = {"payment_id": payment_id, "order_id": max(1, order_id - rng.randint(0, 50)),
                       "method": rng.choice(["card", "sepa", "paypal"]), "amount": round(rng.uniform(5, 400), 2)}  # fmt: skip
            producer.produce(PAYMENTS, orjson.dumps(payment), key=str(payment["order_id"]).encode())
        producer.poll(0)
        next_tick += TICK
        halt.wait(max(0.0, next_tick - time.monotonic()))
    producer.flush(1)


def _assigned(url: str, group: str, topics: list[str]) -> Consumer:
    """A consumer of `group` that starts at the group's committed offsets without joining the group."""
    consumer = Consumer({"bootstrap.servers": url, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", **_QUIET})  # fmt: skip
    partitions = []
    metadata = consumer.list_topics(timeout=5)
    for topic in topics:
        partitions += [TopicPartition(topic, p, OFFSET_STORED) for p in metadata.topics[topic].partitions]
    consumer.assign(partitions)
    return consumer


class _Committer:
    """Commits the next offset of each partition read, about once a second."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.positions: dict[tuple[str, int], int] = {}
        self.last = time.monotonic()

    def read(self, message: Any) -> None:
        self.positions[(message.topic(), message.partition())] = message.offset() + 1

    def maybe_commit(self, force: bool = False) -> None:
        if self.positions and (force or time.monotonic() - self.last >= 1.0):
            offsets = [TopicPartition(t, p, o) for (t, p), o in self.positions.items()]
            self.consumer.commit(offsets=offsets, asynchronous=False)
            self.positions.clear()
            self.last = time.monotonic()


def _consume(url: str, halt: threading.Event, group: str, topics: list[str], per_second: int | None) -> None:
    consumer = _assigned(url, group, topics)
    committer = _Committer(consumer)
    try:
        while not halt.is_set():
            wanted = 500 if per_second is None else max(1, int(per_second * 0.2))
            started = time.monotonic()
            for message in consumer.consume(wanted, 0.2):
                if message.error() is None:
                    committer.read(message)
            committer.maybe_commit()
            if per_second is not None:  # a slow reader: never more than `per_second`
                halt.wait(max(0.0, 0.2 - (time.monotonic() - started)))
        committer.maybe_commit(force=True)
    finally:
        consumer.close()


def _fulfil(url: str, halt: threading.Event) -> None:
    consumer = _assigned(url, "fulfillment", [ORDERS])
    committer = _Committer(consumer)
    producer = _producer(url)
    rng = random.Random()
    try:
        while not halt.is_set():
            for message in consumer.consume(500, 0.2):
                if message.error() is not None:
                    continue
                if rng.random() < FAILURE_RATE:
                    headers: Headers = [*(message.headers() or []), *_spring_headers(message, rng)]
                    producer.produce(ORDERS_DLQ, message.value(), key=message.key(), headers=headers)
                committer.read(message)
            producer.poll(0)
            committer.maybe_commit()
        producer.flush(1)
        committer.maybe_commit(force=True)
    finally:
        consumer.close()


_FAILURES = [
    ("java.lang.IllegalStateException", "inventory service answered 503 for order {id}"),
    ("org.springframework.dao.DataIntegrityViolationException", "duplicate key value violates unique constraint \"shipments_order_id_key\""),
    ("com.fasterxml.jackson.databind.JsonMappingException", "Cannot deserialize value of type `Currency` from String \"EUR\""),
]  # fmt: skip


Headers = list[tuple[str, str | bytes | None]]


def _spring_headers(message: Any, rng: random.Random) -> Headers:
    """The headers Spring Kafka's DeadLetterPublishingRecoverer adds to a failed record."""
    exception, text = rng.choice(_FAILURES)
    order_id = orjson.loads(message.value()).get("order_id", "?")
    return [
        ("kafka_dlt-original-topic", message.topic().encode()),
        ("kafka_dlt-original-partition", struct.pack(">i", message.partition())),
        ("kafka_dlt-original-offset", struct.pack(">q", message.offset())),
        ("kafka_dlt-original-timestamp", struct.pack(">q", message.timestamp()[1])),
        ("kafka_dlt-original-consumer-group", b"fulfillment"),
        ("kafka_dlt-exception-fqcn", b"org.springframework.kafka.listener.ListenerExecutionFailedException"),
        ("kafka_dlt-exception-cause-fqcn", exception.encode()),
        ("kafka_dlt-exception-message", f"Listener method threw exception: {text.format(id=order_id)}".encode()),
    ]
