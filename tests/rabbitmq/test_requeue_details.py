"""Requeue by consuming with a prefetch, and the details around it: the requeue count across two requeues,
x-first-death-* headers, CC routing keys through `exchange:`, rates after traffic, a headers-exchange tail."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.model import Message, StartPosition
from tests.rabbitmq.conftest import publish, queue_counts
from tests.rabbitmq.test_dead_letters import DeadLettered, dead_letter, drain, reject_all
from tests.rabbitmq.test_read_hazard import quorum_dlq
from tests.rabbitmq.test_reading import _bound
from tests.support import until, wait_for


async def test_a_requeue_that_holds_many_dead_letters_goes_on_with_basic_get(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    """Held (unacked) dead letters use up the consumer's prefetch of 50: 60 messages without x-death
    (skipped) before 10 real dead letters, and a selection of 3 ids behind 117 others, both finish."""
    setup = DeadLettered(unique("orders"), unique("parking"), unique("dlx"))
    amqp.exchange_declare(setup.dlx, "fanout", durable=True)
    amqp.queue_declare(setup.dlq, durable=True)
    amqp.queue_bind(setup.dlq, setup.dlx)
    amqp.queue_declare(setup.origin, durable=True, arguments={"x-dead-letter-exchange": setup.dlx})
    publish(amqp, setup.dlq, [b"no history %d" % i for i in range(60)])
    publish(amqp, setup.origin, [b"dead %d" % i for i in range(10)])
    assert reject_all(amqp, setup.origin) == 10
    wait_for(lambda: queue_counts(rabbitmq_server, setup.dlq)[0] == 70, what="70 messages in the DLQ")

    result = await adapter.replay(setup.dlq)
    assert (result.sent, result.failed, result.skipped) == (10, 0, 60)
    assert sorted(body for body, _ in drain(amqp, setup.origin)) == sorted(b"dead %d" % i for i in range(10))
    assert queue_counts(rabbitmq_server, setup.dlq) == (60, 0)

    many = dead_letter(amqp, lambda name: unique(f"many-{name}"), [b"m%03d" % i for i in range(120)])
    letters = await adapter.dead_letters(many.dlq, limit=200)
    chosen = [letters[i].id for i in (60, 118, 119)]
    result = await adapter.replay(many.dlq, ids=chosen)
    assert (result.sent, result.failed, result.skipped) == (3, 0, 0)
    assert [body for body, _ in drain(amqp, many.origin)] == [b"m060", b"m118", b"m119"]
    left = await adapter.dead_letters(many.dlq, limit=200)
    assert [letter.message.value for letter in left] == [b"m%03d" % i for i in range(120) if i not in (60, 118, 119)]


async def test_a_limited_requeue_of_a_quorum_dlq_with_a_delivery_limit_reads_only_what_it_moves(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    """No dead letter is sent ahead and handed back (which would cost it one of its 2 deliveries)."""
    setup = quorum_dlq(amqp, unique)
    result = await adapter.replay(setup.dlq, limit=2)  # a consumer with a prefetch of 2 would get c too
    assert (result.sent, result.failed) == (2, 0)
    wait_for(lambda: queue_counts(rabbitmq_server, setup.dlq)[0] == 1, what="1 dead letter left")
    ((body, headers),) = drain(amqp, setup.dlq)
    assert (body, headers.get("x-delivery-count", 0)) == (b"c", 0)  # never delivered before


async def test_a_second_requeue_counts_2_and_first_death_headers_are_decoded(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    setup = dead_letter(amqp, unique, [b"twice"])
    (letter,) = await adapter.dead_letters(setup.dlq)
    assert "requeue_count" not in letter.extra
    assert (letter.extra["first_death_queue"], letter.extra["first_death_reason"]) == (setup.origin, "rejected")
    assert letter.extra["first_death_exchange"] == ""  # published through the default exchange

    assert (await adapter.replay(setup.dlq)).sent == 1
    assert reject_all(amqp, setup.origin) == 1  # fails again
    wait_for(lambda: queue_counts(rabbitmq_server, setup.dlq)[0] == 1, what="dead-lettered again")
    (again,) = await adapter.dead_letters(setup.dlq)
    assert (again.extra["requeue_count"], again.attempts) == ("1", 2)
    assert again.id != letter.id  # the x-death count moved: a new dead letter
    assert (await adapter.replay(setup.dlq)).sent == 1
    ((_, headers),) = drain(amqp, setup.origin)
    assert headers["x-mqtui-requeue-count"] == 2


async def test_exchange_requeue_uses_the_first_routing_key_and_the_cc_header_routes_the_rest(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    """Published with key `billing` and CC `shipping`, the message reached the failing queue through its
    CC key. x-death lists both keys; the requeue publishes once with the first and the message's own CC
    header (which RabbitMQ keeps), so the failing queue gets it back, once, as from the original publish."""
    exchange, dlx, dlq = unique("orders-x"), unique("dlx"), unique("parking")
    failing, other = unique("shipping"), unique("billing")
    amqp.exchange_declare(exchange, "direct")
    amqp.exchange_declare(dlx, "fanout")
    amqp.queue_declare(dlq)
    amqp.queue_bind(dlq, dlx)
    amqp.queue_declare(failing, arguments={"x-dead-letter-exchange": dlx})
    amqp.queue_bind(failing, exchange, "shipping")
    amqp.queue_declare(other)
    amqp.queue_bind(other, exchange, "billing")
    publish(amqp, "billing", [b"order"], exchange=exchange, headers={"CC": ["shipping"]})
    assert reject_all(amqp, failing) == 1
    wait_for(lambda: queue_counts(rabbitmq_server, dlq)[0] == 1, what="the dead letter")
    (letter,) = await adapter.dead_letters(dlq)
    assert (letter.extra["routing_keys"], letter.extra["first_death_exchange"]) == ("billing,shipping", exchange)

    plan = await adapter.plan_replay(dlq, to="exchange:")
    assert [item.target for item in plan] == [f"exchange {exchange} key billing"]
    assert (await adapter.replay(dlq, to="exchange:")).sent == 1
    assert queue_counts(rabbitmq_server, failing)[0] == 1
    assert queue_counts(rabbitmq_server, other)[0] == 2  # its first copy and the requeued one


@pytest.fixture
def traffic(rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]) -> Iterator[str]:
    """A queue with messages flowing through it (published, consumed and acked) until the test ends."""
    queue = unique("busy")
    stop = threading.Event()
    ready = threading.Event()

    def run() -> None:
        connection = pika.BlockingConnection(pika.URLParameters(rabbitmq_server.url))
        channel = connection.channel()
        channel.queue_declare(queue)
        ready.set()
        while not stop.is_set():
            for _ in range(20):
                channel.basic_publish("", queue, b"tick")
            for _ in range(20):
                method, _, _ = channel.basic_get(queue)
                if method is not None:
                    channel.basic_ack(method.delivery_tag)
            connection.sleep(0.05)
        connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    yield queue
    stop.set()
    thread.join(10)


async def test_publish_deliver_and_ack_rates_appear_after_traffic(adapter: RabbitMQAdapter, traffic: str) -> None:
    async def busy() -> bool:
        row = next((d for d in await adapter.destinations() if d.name == traffic), None)
        return row is not None and bool(row.rate_in) and bool(row.rate_out) and float(row.extra.get("ack/s", 0)) > 0

    assert await until(busy, what="publish, deliver and ack rates above 0", timeout=30)


async def test_tail_of_a_queue_bound_to_a_headers_exchange_copies_the_binding_arguments(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    exchange, queue = unique("events-h"), unique("orders-only")
    amqp.exchange_declare(exchange, "headers")
    amqp.queue_declare(queue)
    amqp.queue_bind(queue, exchange, arguments={"x-match": "all", "type": "order"})

    stream = adapter.tail(queue, start=StartPosition("end"))
    first = asyncio.ensure_future(stream.__anext__())
    await _bound(rabbitmq_server, exchange, 2)
    amqp.basic_publish(exchange, "", b"invoice", pika.BasicProperties(headers={"type": "invoice"}))  # unroutable
    publish(amqp, "", [b"order"], exchange=exchange, headers={"type": "order"})
    seen: list[Message] = list(await first)
    await stream.aclose()
    assert [m.value for m in seen] == [b"order"]  # the copy queue took only what its binding matches
    assert queue_counts(rabbitmq_server, queue)[0] == 1
