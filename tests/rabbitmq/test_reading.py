"""Queues, backlog, describe, tail and peek against the real rabbitmq-server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.errors import NotFound, NotPossible
from mqtui.model import DestinationKind, Message, OutgoingMessage, StartPosition
from tests.rabbitmq.conftest import make_adapter, management, publish, queue_counts
from tests.support import until, wait_for

END = StartPosition("end")


async def test_depth_and_unacked_after_publishing_n_and_holding_m(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    queue = unique("work")
    amqp.queue_declare(queue, durable=True)
    publish(amqp, queue, [b"job-%d" % i for i in range(7)])
    # A consumer with prefetch 3 that never acks holds exactly 3 unacked.
    holder = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
    channel = holder.channel()
    channel.basic_qos(prefetch_count=3)
    channel.basic_consume(queue, lambda *args: None, consumer_tag="slow-worker")
    holder.process_data_events(0.3)
    try:

        async def settled() -> object:
            found = {d.name: d for d in await adapter.destinations()}
            row = found.get(queue)
            return row if row and row.depth == 7 and row.in_flight == 3 and row.consumers == 1 else None

        row = await until(settled, what="7 messages with 3 unacked")
        assert row.kind == DestinationKind.QUEUE
        assert row.extra["ready"] == "4"
        assert row.extra["type"] == "classic"
        assert not row.is_dlq

        backlog = await adapter.backlog(group=queue)
        assert len(backlog) == 1
        lag = backlog[0]
        assert (lag.destination, lag.group, lag.partition) == (queue, "(consumers)", None)
        assert (lag.lag, lag.in_flight, lag.consumers, lag.end) == (4, 3, 1, 7)
        assert lag.members == ("slow-worker prefetch=3 manual-ack",)
        assert lag.state == "consuming"

        everything = {r.destination: r for r in await adapter.backlog()}
        assert everything[queue].lag == 4 and everything[queue].members == lag.members

        detail = await adapter.describe(queue)
        summary = dict(detail.summary)
        assert (summary["ready"], summary["unacked"], summary["consumers"]) == ("4", "3", "1")
        consumers = next(s for s in detail.sections if s.title == "Consumers")
        assert [(r[0], r[2], r[3]) for r in consumers.rows] == [("slow-worker", "3", "manual")]
    finally:
        holder.close()


async def test_queue_without_consumers_is_a_backlog_row(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("idle")
    amqp.queue_declare(queue)
    publish(amqp, queue, [b"a", b"b"])

    async def row() -> object:
        rows = await adapter.backlog(group=queue)
        return rows[0] if rows and rows[0].lag == 2 else None

    found = await until(row, what="2 ready")
    assert (found.consumers, found.in_flight, found.state, found.members) == (0, 0, "no consumers", ())
    assert await adapter.backlog(group=unique("missing")) == []


async def test_queue_types_and_arguments(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    quorum, stream, limited = unique("qq"), unique("stream"), unique("limited")
    amqp.queue_declare(quorum, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 4})
    amqp.queue_declare(stream, durable=True, arguments={"x-queue-type": "stream"})
    amqp.queue_declare(
        limited,
        arguments={"x-message-ttl": 60000, "x-max-length": 100, "x-dead-letter-exchange": unique("nowhere")},
    )
    found = {d.name: d for d in await adapter.destinations()}
    assert found[quorum].extra["type"] == "quorum"
    assert found[quorum].extra["delivery-limit"] == "4"
    assert found[quorum].kind == DestinationKind.QUEUE
    assert found[stream].kind == DestinationKind.STREAM
    assert found[stream].extra["type"] == "stream"
    extra = found[limited].extra
    assert (extra["ttl-ms"], extra["max-length"], extra["dlx"]) == ("60000", "100", unique("nowhere"))


async def test_vhost_queues_are_named_vhost_slash_queue(
    adapter: RabbitMQAdapter, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    vhost = unique("team")
    management(rabbitmq_server, f"/api/vhosts/{vhost}", "PUT", {})
    management(
        rabbitmq_server, f"/api/permissions/{vhost}/guest", "PUT", {"configure": ".*", "write": ".*", "read": ".*"}
    )
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url.rsplit("/", 1)[0] + "/" + vhost))
    connection.channel().queue_declare("jobs")
    connection.close()
    fresh = make_adapter(rabbitmq_server)
    await fresh.connect()
    try:
        names = {d.name for d in await fresh.destinations()}
        assert f"{vhost}/jobs" in names
        assert "jobs" not in names
        result = await fresh.publish(f"{vhost}/jobs", [OutgoingMessage(b"x")])
        assert (result.sent, result.unroutable) == (1, 0)
        assert queue_counts(rabbitmq_server, "jobs", vhost) == (1, 0)
        detail = await fresh.describe(f"{vhost}/jobs")
        assert dict(detail.summary)["vhost"] == vhost
        # A requeue or a move into another vhost is refused for that target alone, before anything is read.
        with pytest.raises(NotPossible, match=r"^rabbit: requeue stays within the DLQ's vhost '/'$"):
            await fresh.plan_replay(unique("parking"), to=f"{vhost}/jobs")
        with pytest.raises(NotPossible, match=r"^rabbit: a move stays within the queue's vhost '/'$"):
            await fresh.plan_move(unique("parking"), to=f"{vhost}/jobs")
    finally:
        await fresh.close()


async def test_exchanges_only_with_include_internal(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    exchange = unique("events")
    amqp.exchange_declare(exchange, "topic")
    plain = await adapter.destinations()
    assert all(d.kind != DestinationKind.EXCHANGE for d in plain)
    everything = {(d.name, d.kind): d for d in await adapter.destinations(include_internal=True)}
    assert everything[(exchange, DestinationKind.EXCHANGE)].extra["type"] == "topic"
    assert not everything[(exchange, DestinationKind.EXCHANGE)].internal
    assert everything[("amq.topic", DestinationKind.EXCHANGE)].internal


async def test_describe_unknown_queue_is_not_found(adapter: RabbitMQAdapter, unique: Callable[[str], str]) -> None:
    with pytest.raises(NotFound, match=r"^rabbit: queue '.*nope' not found$"):
        await adapter.describe(unique("nope"))


async def _bound(server: LocalRabbitMQ, exchange: str, count: int) -> None:
    """Wait until the tail's private queue is bound (one binding more than before)."""

    def ready() -> bool:
        bindings = management(server, f"/api/exchanges/%2F/{exchange}/bindings/source")
        return len(bindings) >= count

    await asyncio.to_thread(wait_for, ready, what=f"{count} bindings on {exchange}")


async def test_tail_copies_new_messages_and_leaves_the_queue_alone(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    exchange, queue = unique("orders-x"), unique("orders")
    amqp.exchange_declare(exchange, "direct")
    amqp.queue_declare(queue, durable=True)
    amqp.queue_bind(queue, exchange, "new")
    publish(amqp, queue, [b"already-there"])  # via the default exchange, before the tail: not shown

    stream = adapter.tail(queue, start=END)
    first = asyncio.ensure_future(stream.__anext__())
    await _bound(rabbitmq_server, exchange, 2)
    bodies = [b"order-%d" % i for i in range(40)] + [b"\xff\xfe not utf-8 \x1b[31m"]
    publish(amqp, "new", bodies, exchange=exchange, headers={"bin": b"\x00\xff"}, message_id="m")
    seen: list[Message] = list(await first)
    while len(seen) < len(bodies):
        seen.extend(await stream.__anext__())
    await stream.aclose()

    assert [m.value for m in seen] == bodies
    assert all(m.destination == queue and m.key == b"new" for m in seen)
    assert seen[0].header("amqp.exchange") == exchange
    assert seen[0].header("amqp.message_id") == "m"
    assert seen[-1].header("bin") == b"\x00\xff"
    # The queue itself still holds all its messages: 1 from before + 41 routed to it.
    assert queue_counts(rabbitmq_server, queue) == (42, 0)
    # The private queue went away with the tail.
    assert len(management(rabbitmq_server, f"/api/exchanges/%2F/{exchange}/bindings/source")) == 1


async def test_tail_of_a_queue_only_bound_to_the_default_exchange_says_why_not(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    queue = unique("direct-only")
    amqp.queue_declare(queue)
    with pytest.raises(NotPossible, match=r"only bound to the default exchange.*firehose:"):
        await adapter.tail(queue, start=END).__anext__()
    with pytest.raises(NotPossible, match="only shows new messages"):
        await adapter.tail(queue, start=StartPosition("beginning")).__anext__()


async def test_tail_stream_from_the_beginning_to_the_end(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    stream_queue = unique("events")
    amqp.queue_declare(stream_queue, durable=True, arguments={"x-queue-type": "stream"})
    publish(amqp, stream_queue, [b"e%d" % i for i in range(25)])
    seen: list[Message] = []
    async for batch in adapter.tail(stream_queue, start=StartPosition("beginning"), stop_at_end=True):
        seen.extend(batch)
    assert [m.value for m in seen] == [b"e%d" % i for i in range(25)]
    assert [m.position for m in seen] == list(range(25))
    # From an offset: the last five.
    tail_end: list[Message] = []
    async for batch in adapter.tail(stream_queue, start=StartPosition("offset", offset=20), stop_at_end=True):
        tail_end.extend(batch)
    assert [m.position for m in tail_end] == [20, 21, 22, 23, 24]
    # Reading a stream takes nothing away from it (AMQP's declare-ok counts 0 for streams: ask the API).
    found = await until(lambda: _depth(adapter, stream_queue, 25), what="the stream's 25 entries in the management API")
    assert found.depth == 25
    # Streams refuse basic.get and purge: a clear NotPossible (this queue, not the broker), not a dropped
    # connection.
    with pytest.raises(NotPossible, match=r"basic\.get not supported by stream queues"):
        await adapter.peek(stream_queue)
    with pytest.raises(NotPossible, match=r"queue\.purge not supported by stream queues"):
        await adapter.purge(stream_queue)


async def _depth(adapter: RabbitMQAdapter, name: str, expected: int) -> object:
    rows = {d.name: d for d in await adapter.destinations()}
    row = rows.get(name)
    return row if row is not None and row.depth == expected else None


async def test_firehose_tail_sees_default_exchange_publishes_only_when_tracing_is_on(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    queue, other = unique("traced"), unique("other")
    amqp.queue_declare(queue)
    amqp.queue_declare(other)
    with pytest.raises(NotPossible, match=r"firehose tracing is off.*trace_on"):
        await adapter.tail(f"firehose:{queue}", start=END).__anext__()
    rabbitmq_server.ctl("trace_on", "-p", "/")
    try:
        stream = adapter.tail(f"firehose:{queue}", start=END)
        first = asyncio.ensure_future(stream.__anext__())
        await _bound(rabbitmq_server, "amq.rabbitmq.trace", 1)
        publish(amqp, other, [b"not for us"])
        publish(amqp, queue, [b"straight-1", b"straight-2"], message_id="f1")
        seen = list(await first)
        while len(seen) < 2:
            seen.extend(await stream.__anext__())
        await stream.aclose()
        assert [m.value for m in seen] == [b"straight-1", b"straight-2"]
        assert seen[0].key == queue.encode()
        assert seen[0].header("amqp.exchange") == ""
        assert seen[0].header("amqp.message_id") == "f1"
        assert queue_counts(rabbitmq_server, queue) == (2, 0)
    finally:
        rabbitmq_server.ctl("trace_off", "-p", "/")


async def test_peek_requeues_and_marks_redelivered(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    queue = unique("peeked")
    amqp.queue_declare(queue)
    publish(amqp, queue, [b"p1", b"p2", b"p3"])
    first = await adapter.peek(queue, limit=2)
    assert [(m.value, m.redelivered, m.position) for m in first] == [(b"p1", 0, 1), (b"p2", 0, 2)]
    assert queue_counts(rabbitmq_server, queue) == (3, 0)
    again = await adapter.peek(queue, limit=10)
    assert [(m.value, m.redelivered) for m in again] == [(b"p1", 1), (b"p2", 1), (b"p3", 0)]
    assert queue_counts(rabbitmq_server, queue) == (3, 0)
    with pytest.raises(NotFound):
        await adapter.peek(unique("missing"))
