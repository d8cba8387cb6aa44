"""Publish, purge, credentials and reachability against the real rabbitmq-server."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.errors import AuthenticationFailed, BrokerUnavailable, NotFound, UsageError
from mqtui.model import OutgoingMessage
from tests.rabbitmq.conftest import make_adapter, publish, queue_counts


async def test_publish_to_a_queue_with_properties_and_headers(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    queue = unique("inbox")
    amqp.queue_declare(queue, durable=True)
    messages = [
        OutgoingMessage(b"one", headers=(("trace", b"abc"), ("raw", b"\xff\x00"))),
        OutgoingMessage(b"\x00\x01binary"),
    ]
    result = await adapter.publish(
        queue, messages, options={"content_type": "application/json", "message_id": "msg-1", "priority": "3"}
    )
    assert (result.sent, result.failed, result.unroutable) == (2, (), 0)
    method, properties, body = amqp.basic_get(queue, auto_ack=True)
    assert body == b"one"
    assert (properties.content_type, properties.message_id, properties.priority) == ("application/json", "msg-1", 3)
    assert properties.delivery_mode == 2
    assert properties.headers == {"trace": "abc", "raw": b"\xff\x00"}
    assert method.routing_key == queue
    assert amqp.basic_get(queue, auto_ack=True)[2] == b"\x00\x01binary"


async def test_publish_through_an_exchange_reports_unroutable(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    exchange, queue = unique("events"), unique("eu-orders")
    amqp.exchange_declare(exchange, "topic")
    amqp.queue_declare(queue)
    amqp.queue_bind(queue, exchange, "orders.eu.*")
    messages = [
        OutgoingMessage(b"routed", key=b"orders.eu.created"),
        OutgoingMessage(b"lost", key=b"orders.us.created"),
        OutgoingMessage(b"routed-too", key=b"orders.eu.paid"),
    ]
    result = await adapter.publish(queue, messages, options={"exchange": exchange, "persistent": "false"})
    assert (result.sent, result.unroutable) == (2, 1)
    assert queue_counts(rabbitmq_server, queue) == (2, 0)
    _, properties, _ = amqp.basic_get(queue, auto_ack=True)
    assert properties.delivery_mode == 1
    # A fixed routing key wins over the message keys; mandatory=false drops silently.
    fixed = await adapter.publish(
        queue,
        [OutgoingMessage(b"x", key=b"ignored")],
        options={"exchange": exchange, "routing_key": "nowhere", "mandatory": "false"},
    )
    assert (fixed.sent, fixed.unroutable) == (1, 0)
    nobody = await adapter.publish(unique("no-such-queue"), [OutgoingMessage(b"x")])
    assert (nobody.sent, nobody.unroutable) == (0, 1)
    with pytest.raises(NotFound, match="no exchange"):
        await adapter.publish(queue, [OutgoingMessage(b"x")], options={"exchange": unique("missing")})
    with pytest.raises(UsageError, match="unknown publish property 'colour'"):
        await adapter.publish(queue, [OutgoingMessage(b"x")], options={"colour": "red"})


async def test_purge_returns_the_count(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    queue = unique("purged")
    amqp.queue_declare(queue)
    publish(amqp, queue, [b"x"] * 12)
    assert await adapter.purge(queue) == 12
    assert queue_counts(rabbitmq_server, queue) == (0, 0)
    with pytest.raises(NotFound):
        await adapter.purge(unique("missing"))


async def test_wrong_credentials_over_http_and_over_amqp(rabbitmq_server: LocalRabbitMQ) -> None:
    wrong = make_adapter(rabbitmq_server, url=rabbitmq_server.url.replace("guest:guest", "guest:wrong-pass"))
    with pytest.raises(AuthenticationFailed) as http_error:
        await wrong.connect()
    assert str(http_error.value) == "rabbit: management API rejected the credentials of user 'guest'"
    # AMQP connections open on first use: the same mistake there is also AuthenticationFailed.
    with pytest.raises(AuthenticationFailed) as amqp_error:
        await wrong.publish("anything", [OutgoingMessage(b"x")])
    assert str(amqp_error.value) == "rabbit: RabbitMQ rejected the credentials of user 'guest'"
    await wrong.close()
    # config.username/password win over the URL's credentials.
    fixed = make_adapter(
        rabbitmq_server,
        url=rabbitmq_server.url.replace("guest:guest", "nobody:nothing"),
        username="guest",
        password="guest",
    )
    await fixed.connect()
    assert (await fixed.publish("anything", [OutgoingMessage(b"x")])).unroutable == 1
    await fixed.close()
    # A vhost that does not exist is named, at connect and over AMQP.
    elsewhere = make_adapter(rabbitmq_server, url=rabbitmq_server.url.rsplit("/", 1)[0] + "/no-such-vhost")
    with pytest.raises(NotFound, match=r"^rabbit: vhost 'no-such-vhost' not found or not open to user 'guest'$"):
        await elsewhere.connect()
    with pytest.raises(NotFound, match=r"^rabbit: vhost 'no-such-vhost' not found$"):
        await elsewhere.purge("q")
    await elsewhere.close()


@pytest.mark.timeout(20)  # a hang would be the bug: both calls must give up after the 1 s timeout
async def test_unreachable_broker_fails_within_the_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    import msgspec

    from mqtui.config import RabbitMQConfig

    config = msgspec.convert(
        {"name": "down", "kind": "rabbitmq", "url": f"amqp://u:secret-pw@127.0.0.1:{port}/%2F", "timeout": 1.0},
        RabbitMQConfig,
    )
    down = RabbitMQAdapter(config)
    with pytest.raises(BrokerUnavailable) as http_error:
        await down.connect()
    with pytest.raises(BrokerUnavailable) as amqp_error:
        await down.purge("q")
    await down.close()
    assert str(http_error.value).startswith("down: management API at http://127.0.0.1:15672 unreachable")
    assert "down: AMQP connection to amqp://u:***@127.0.0.1" in str(amqp_error.value)
    for error in (http_error.value, amqp_error.value):
        assert "secret-pw" not in str(error) and "\n" not in str(error)


async def test_adapter_recovers_after_its_connection_is_closed_by_the_broker(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    queue = unique("steady")
    amqp.queue_declare(queue)
    assert (await adapter.publish(queue, [OutgoingMessage(b"1")])).sent == 1
    rabbitmq_server.ctl("close_all_connections", "test: drop every client")
    # The shared control connection is gone; the next call reopens it.
    assert (await adapter.publish(queue, [OutgoingMessage(b"2")])).sent == 1
    assert queue_counts(rabbitmq_server, queue) == (2, 0)
