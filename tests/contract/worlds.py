"""One "world" per broker kind: how the contract suite sets a scene on a real broker and reads it back.

A world builds the profile entry of its broker, and with the broker's own client (never the adapter
under test) makes destinations, publishes, sets up a consumer group and a dead-letter queue, and
reads what a destination holds. The tests in this directory are written once against this interface;
a new broker kind passes them by implementing its adapter and adding one `World` subclass to `WORLDS`.
"""

from __future__ import annotations

import abc
import contextlib
import struct
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import msgspec
import nats
import pika
import redis
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig

from mqtui.config import AnyBrokerConfig, BrokerConfig
from mqtui.demo.localbrokers import LocalBroker, LocalKafka, LocalNats, LocalRabbitMQ, LocalRedis, free_port

#: Seconds a contract adapter waits for its broker: short, so a refused connection fails fast.
TIMEOUT = 3.0


@dataclass(frozen=True)
class DeadLetters:
    """A dead-letter queue the world filled, and where a replay sends its letters back to."""

    dlq: str
    origin: str
    bodies: tuple[bytes, ...]


class World(abc.ABC):
    """One broker kind's scene-setting, for the contract tests."""

    kind: ClassVar[str]
    #: The session fixture (tests/conftest.py) that starts this kind's broker.
    server_fixture: ClassVar[str]
    #: Whether a replay run twice can never send a letter twice (SAFETY.md: Kafka, NATS and Redis); where
    #: not (RabbitMQ), every copy beyond the first must be counted in `ReplayResult.duplicates`.
    deduplicates: ClassVar[bool] = True
    #: Promises this kind's adapter is known to break today, by the contract call's name, with why: the
    #: test runs as a strict xfail carrying the reason, and fails the day the adapter keeps the promise.
    known_breaks: ClassVar[dict[str, str]] = {}

    def __init__(self, server: LocalBroker) -> None:
        self.server = server
        self.tag = uuid.uuid4().hex[:8]
        self._count = 0

    # -- configuration ---------------------------------------------------------------------------
    def entry(self) -> dict[str, Any]:
        """The profile entry (as in a config file) for the running broker."""
        return {**self.server.broker_config(), "name": f"contract-{self.kind}", "timeout": TIMEOUT}

    @abc.abstractmethod
    def unreachable_entry(self) -> dict[str, Any]:
        """A profile entry of this kind pointing at ports where nothing listens."""

    def config(self, entry: dict[str, Any] | None = None) -> BrokerConfig:
        converted: BrokerConfig = msgspec.convert(entry or self.entry(), AnyBrokerConfig)
        return converted

    def unreachable_config(self) -> BrokerConfig:
        """`unreachable_entry` with a 1-second timeout, so a connect gives up fast."""
        return self.config({**self.unreachable_entry(), "timeout": 1.0})

    def unique(self, what: str) -> str:
        """A name no other test uses, made of letters and digits only (every broker accepts those)."""
        self._count += 1
        return f"c{self.tag}{what}{self._count}"

    # -- the scene -------------------------------------------------------------------------------
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect the world's own client."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the world's own client."""

    @abc.abstractmethod
    async def destination(self) -> str:
        """A new, empty destination that a tail can read from its beginning; its name as the adapter lists it."""

    @abc.abstractmethod
    async def publish(self, destination: str, bodies: list[bytes]) -> None:
        """Store `bodies` in `destination`, in order, confirmed by the broker."""

    async def queue(self) -> str:
        """A destination to peek at and purge (RabbitMQ: a classic queue; elsewhere a `destination()`)."""
        return await self.destination()

    @abc.abstractmethod
    async def group(self, destination: str, *, read: int) -> str:
        """A consumer group (as `backlog(group=...)` names it) that has read and committed `read` messages of
        `destination`, and has no member now."""

    @abc.abstractmethod
    async def group_state(self, destination: str, group: str) -> Hashable:
        """What the broker itself says about `group` on `destination` (and which groups or consumers exist
        there), read with the world's client: equal before and after anything that must not touch it."""

    @abc.abstractmethod
    async def dead_letters(self, count: int) -> DeadLetters:
        """A dead-letter queue holding `count` letters the adapter finds and knows the origin of."""

    @abc.abstractmethod
    async def held(self, destination: str) -> Counter[bytes]:
        """Every message `destination` holds now, counted by body (may consume them: call at the end)."""

    @abc.abstractmethod
    async def count(self, destination: str) -> int | None:
        """How many messages `destination` holds now, without taking any; None where the broker only
        reports it late (a RabbitMQ stream), so that a count could not show a change."""

    @contextlib.asynccontextmanager
    async def responder(self) -> AsyncIterator[str]:
        """A destination something answers requests on, while the block runs (where the broker can)."""
        yield await self.destination()


class KafkaWorld(World):
    """tansu. Records are produced one per batch: tansu counts batches in its watermarks."""

    kind = "kafka"
    server_fixture = "kafka_server"
    QUIET: ClassVar[dict[str, Any]] = {"log_level": 0}

    def __init__(self, server: LocalBroker) -> None:
        super().__init__(server)
        assert isinstance(server, LocalKafka)
        self.url = server.url

    async def open(self) -> None:
        self.admin = AdminClient({"bootstrap.servers": self.url, **self.QUIET})
        self.watermarks = self._consumer(self.unique("watermarks"))

    def unreachable_entry(self) -> dict[str, Any]:
        return {**self.entry(), "url": f"127.0.0.1:{free_port()}"}

    def _create(self, name: str) -> str:
        for future in self.admin.create_topics([NewTopic(name, 1, 1)]).values():
            future.result(10)
        return name

    async def destination(self) -> str:
        return self._create(self.unique("topic"))

    def _produce(self, topic: str, bodies: list[bytes], headers: list[list[tuple[str, bytes]]] | None = None) -> None:
        producer = Producer({"bootstrap.servers": self.url, "batch.num.messages": 1, "linger.ms": 0, **self.QUIET})
        errors: list[Any] = []
        for index, body in enumerate(bodies):
            producer.produce(topic, value=body, headers=headers[index] if headers else None,
                             on_delivery=lambda error, _m: errors.append(error) if error else None)  # fmt: skip
            producer.flush(10)
        assert not errors, errors

    async def publish(self, destination: str, bodies: list[bytes]) -> None:
        self._produce(destination, bodies)

    def _consumer(self, group: str, **extra: Any) -> Consumer:
        return Consumer({"bootstrap.servers": self.url, "group.id": group, "enable.auto.commit": False,
                         **extra, **self.QUIET})  # fmt: skip

    async def group(self, destination: str, *, read: int) -> str:
        group = self.unique("group")
        consumer = self._consumer(group)
        try:  # a commit from a consumer that never joined: the group exists, with no member
            consumer.commit(offsets=[TopicPartition(destination, 0, read)], asynchronous=False)
        finally:
            consumer.close()
        return group

    async def group_state(self, destination: str, group: str) -> Hashable:
        consumer = self._consumer(group)
        try:
            [committed] = consumer.committed([TopicPartition(destination, 0)], timeout=10)
        finally:
            consumer.close()
        groups = self.admin.list_consumer_groups().result(10)
        return committed.offset, tuple(sorted(g.group_id for g in groups.valid))

    async def dead_letters(self, count: int) -> DeadLetters:
        origin = await self.destination()
        dlq = self._create(f"{origin}.DLQ")
        bodies = [b"%s-letter-%d" % (self.tag.encode(), i) for i in range(count)]
        spring = [
            [("kafka_dlt-original-topic", origin.encode()), ("kafka_dlt-original-partition", struct.pack(">i", 0)),
             ("kafka_dlt-original-offset", struct.pack(">q", i)),
             ("kafka_dlt-exception-message", b"contract: failed on purpose")]
            for i in range(count)
        ]  # fmt: skip
        self._produce(dlq, bodies, spring)
        return DeadLetters(dlq, origin, tuple(bodies))

    async def held(self, destination: str) -> Counter[bytes]:
        consumer = self._consumer(self.unique("reader"), **{"enable.partition.eof": True})
        found: Counter[bytes] = Counter()
        try:
            consumer.assign([TopicPartition(destination, 0, 0)])
            while True:
                message = consumer.poll(5)
                assert message is not None, f"no end of partition reported for {destination}"
                if message.error() is None:
                    found[message.value()] += 1
                elif message.error().code() == KafkaError._PARTITION_EOF:
                    return found
        finally:
            consumer.close()

    async def count(self, destination: str) -> int:
        """The partition's watermark span: records where each came in a batch of its own (as the world
        produces them), and on tansu one per batch otherwise; any write moves it."""
        low, high = self.watermarks.get_watermark_offsets(TopicPartition(destination, 0), timeout=10)
        return int(high - low)

    async def close(self) -> None:
        self.watermarks.close()


class RabbitMQWorld(World):
    """RabbitMQ: a stream queue is what a tail reads from its beginning; peek and purge take a classic queue.
    Its backlog is per queue (the group of every row is "(consumers)"): a queue stands for its group."""

    kind = "rabbitmq"
    server_fixture = "rabbitmq_server"
    deduplicates = False

    def __init__(self, server: LocalBroker) -> None:
        super().__init__(server)
        assert isinstance(server, LocalRabbitMQ)
        self.rabbit = server
        self.connection: pika.BlockingConnection | None = None
        self.streams: set[str] = set()

    def unreachable_entry(self) -> dict[str, Any]:
        port = free_port()
        return {**self.entry(), "url": f"amqp://guest:guest@127.0.0.1:{port}/%2F",
                "management_url": f"http://127.0.0.1:{free_port()}"}  # fmt: skip

    async def open(self) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(self.rabbit.url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    async def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()

    async def destination(self) -> str:
        name = self.unique("stream")
        self.channel.queue_declare(name, durable=True, arguments={"x-queue-type": "stream"})
        self.streams.add(name)
        return name

    async def queue(self) -> str:
        name = self.unique("queue")
        self.channel.queue_declare(name, durable=True)
        return name

    async def publish(self, destination: str, bodies: list[bytes]) -> None:
        for body in bodies:
            self.channel.basic_publish("", destination, body, pika.BasicProperties(delivery_mode=2), mandatory=True)

    async def group(self, destination: str, *, read: int) -> str:
        return destination

    async def group_state(self, destination: str, group: str) -> Hashable:
        """The queue's consumers, exact from queue.declare (its message count is not: see `count`)."""
        return int(self.channel.queue_declare(group, passive=True).method.consumer_count)

    async def dead_letters(self, count: int) -> DeadLetters:
        origin, dlq, dlx = self.unique("orders"), self.unique("parking"), self.unique("dlx")
        self.channel.exchange_declare(dlx, "fanout", durable=True)
        self.channel.queue_declare(dlq, durable=True)
        self.channel.queue_bind(dlq, dlx)
        self.channel.queue_declare(origin, durable=True, arguments={"x-dead-letter-exchange": dlx})
        bodies = [b"%s-letter-%d" % (self.tag.encode(), i) for i in range(count)]
        await self.publish(origin, bodies)
        for _ in bodies:  # rejected by a consumer: RabbitMQ writes the x-death headers a requeue follows
            method, _, _ = self.channel.basic_get(origin)
            assert method is not None
            self.channel.basic_reject(method.delivery_tag, requeue=False)
        for _ in range(100):  # dead-lettering is asynchronous inside the broker
            if await self.count(dlq) == count:
                break
            self.connection.sleep(0.05)  # type: ignore[union-attr]
        assert await self.count(dlq) == count
        return DeadLetters(dlq, origin, tuple(bodies))

    async def held(self, destination: str) -> Counter[bytes]:
        found: Counter[bytes] = Counter()
        while True:
            method, _, body = self.channel.basic_get(destination, auto_ack=True)
            if method is None:
                return found
            found[body] += 1

    async def count(self, destination: str) -> int | None:
        """Exact for classic queues. A stream's count in queue.declare-ok (and in the management API) is
        refreshed every few seconds: 0 for about 4.5 s after 4 messages were stored (RabbitMQ 3.10)."""
        if destination in self.streams:
            return None
        return int(self.channel.queue_declare(destination, passive=True).method.message_count)


class RedisWorld(World):
    """redis-server, in a database of the contract suite's own. Streams carry the consumer groups."""

    kind = "redis"
    server_fixture = "redis_server"
    #: Database 6 of the shared server belongs to the contract suite (tests/redis has 10-15, the console
    #: 4-5, the trust suite 7-9).
    DB: ClassVar[int] = 6

    def __init__(self, server: LocalBroker) -> None:
        super().__init__(server)
        assert isinstance(server, LocalRedis)
        self.url = f"redis://127.0.0.1:{server.port}/{self.DB}"

    async def open(self) -> None:
        self.client = redis.Redis.from_url(self.url)

    def entry(self) -> dict[str, Any]:
        return {**super().entry(), "url": self.url}

    def unreachable_entry(self) -> dict[str, Any]:
        return {**self.entry(), "url": f"redis://127.0.0.1:{free_port()}/0"}

    async def close(self) -> None:
        self.client.close()

    async def destination(self) -> str:
        name = self.unique("events")
        self.client.xgroup_create(name, "made", id="$", mkstream=True)  # an empty stream exists only this way
        self.client.xgroup_destroy(name, "made")
        return name

    async def publish(self, destination: str, bodies: list[bytes]) -> None:
        kind = self.client.type(destination)
        for body in bodies:
            if kind == b"list":
                self.client.lpush(destination, body)
            else:
                self.client.xadd(destination, {"data": body})

    async def group(self, destination: str, *, read: int) -> str:
        group = self.unique("group")
        self.client.xgroup_create(destination, group, id="0")
        answer = self.client.xreadgroup(group, "worker", {destination: ">"}, count=read)
        ids = [entry_id for _stream, entries in answer for entry_id, _fields in entries]
        assert len(ids) == read
        self.client.xack(destination, group, *ids)
        self.client.xgroup_delconsumer(destination, group, "worker")
        return group

    async def group_state(self, destination: str, group: str) -> Hashable:
        groups = self.client.xinfo_groups(destination)
        return tuple(sorted((g["name"], g["consumers"], g["pending"], g["last-delivered-id"]) for g in groups))

    async def dead_letters(self, count: int) -> DeadLetters:
        origin = self.unique("jobs")
        dlq = f"{origin}:dlq"
        bodies = [b'{"id": "%s-%d", "error": "failed on purpose"}' % (self.tag.encode(), i) for i in range(count)]
        self.client.lpush(dlq, *bodies)
        return DeadLetters(dlq, origin, tuple(bodies))

    async def held(self, destination: str) -> Counter[bytes]:
        if self.client.type(destination) == b"stream":
            return Counter(fields[b"data"] for _id, fields in self.client.xrange(destination))
        return Counter(self.client.lrange(destination, 0, -1))

    async def count(self, destination: str) -> int:
        kind = self.client.type(destination)
        if kind == b"stream":
            return int(self.client.xlen(destination))
        return int(self.client.llen(destination))


class NatsWorld(World):
    """nats-server with JetStream: a destination is a stream, a group a durable pull consumer."""

    kind = "nats"
    server_fixture = "nats_server"

    def __init__(self, server: LocalBroker) -> None:
        super().__init__(server)
        assert isinstance(server, LocalNats)
        self.nats_server = server
        self.nc: Client | None = None
        self.subjects: dict[str, str] = {}

    def unreachable_entry(self) -> dict[str, Any]:
        return {
            **self.entry(),
            "url": f"nats://127.0.0.1:{free_port()}",
            "monitor_url": f"http://127.0.0.1:{free_port()}",
        }

    async def open(self) -> None:
        self.nc = await nats.connect(self.nats_server.url, allow_reconnect=False)
        self.js = self.nc.jetstream()

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()

    async def destination(self) -> str:
        name, subject = self.unique("STREAM"), self.unique("subject")
        await self.js.add_stream(name=name, subjects=[f"{subject}.>"])
        self.subjects[name] = subject
        return name

    async def publish(self, destination: str, bodies: list[bytes]) -> None:
        for body in bodies:
            await self.js.publish(f"{self.subjects[destination]}.m", body)

    async def group(self, destination: str, *, read: int) -> str:
        durable = self.unique("group")
        subscription = await self.js.pull_subscribe(f"{self.subjects[destination]}.>", durable=durable,
                                                    stream=destination, config=ConsumerConfig(ack_wait=30))  # fmt: skip
        for message in await subscription.fetch(read, timeout=5):
            await message.ack_sync()
        await subscription.unsubscribe()  # the durable consumer stays, with nobody pulling
        return durable

    async def group_state(self, destination: str, group: str) -> Hashable:
        info = await self.js.consumer_info(destination, group)
        names = tuple(sorted(c.name for c in await self.js.consumers_info(destination)))
        return info.delivered.stream_seq, info.ack_floor.stream_seq, info.num_ack_pending, names

    async def dead_letters(self, count: int) -> DeadLetters:
        origin = await self.destination()
        subject = self.subjects[origin]
        dlq = f"{origin}_DLQ"  # found by the naming rule "{name}_DLQ"
        await self.js.add_stream(name=dlq, subjects=[f"{subject}dlq"])
        bodies = [b"%s-letter-%d" % (self.tag.encode(), i) for i in range(count)]
        for body in bodies:
            await self.js.publish(f"{subject}dlq", body, headers={"Original-Subject": f"{subject}.orders"})
        return DeadLetters(dlq, origin, tuple(bodies))

    async def held(self, destination: str) -> Counter[bytes]:
        state = (await self.js.stream_info(destination)).state
        found: Counter[bytes] = Counter()
        for seq in range(state.first_seq, state.last_seq + 1):
            with contextlib.suppress(nats.js.errors.NotFoundError):
                found[(await self.js.get_msg(destination, seq)).data or b""] += 1
        return found

    async def count(self, destination: str) -> int:
        return int((await self.js.stream_info(destination)).state.messages)

    @contextlib.asynccontextmanager
    async def responder(self) -> AsyncIterator[str]:
        assert self.nc is not None
        subject = f"{self.unique('service')}.ping"

        async def answer(message: Msg) -> None:
            await message.respond(b"pong")

        subscription = await self.nc.subscribe(subject, cb=answer)
        await self.nc.flush()
        try:
            yield subject
        finally:
            await subscription.unsubscribe()


#: Every broker kind the contract suite runs against: add a kind here and it inherits every test.
WORLDS: dict[str, type[World]] = {world.kind: world for world in (KafkaWorld, RabbitMQWorld, RedisWorld, NatsWorld)}
