"""`mqtui search` on RabbitMQ: a stream by offset and time; a classic queue only by a peek that says it
marks messages redelivered, confirmed and refused in a readonly profile; a missing queue is one line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.demo.localbrokers import LocalRabbitMQ
from tests.helpers import run_mqtui, write_config
from tests.rabbitmq.conftest import broker_entry, publish, queue_counts

T0 = int(datetime(2026, 12, 6, 10, 0, tzinfo=UTC).timestamp())


def search(config: Path, profile: str, *args: str) -> tuple[int, list[dict], list[str]]:
    result = run_mqtui("--config", str(config), "-p", profile, "search", "rabbit", *args, "--json", timeout=60)
    lines = [json.loads(line) for line in result.out.splitlines() if line.strip()]
    return result.code, lines, result.err.splitlines()


def test_a_stream_by_offset_and_time(
    tmp_path: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    config = write_config(tmp_path / "c.toml", {"ops": {"brokers": [broker_entry(rabbitmq_server)]}})
    stream = unique("events")
    amqp.queue_declare(stream, durable=True, arguments={"x-queue-type": "stream"})
    publish(amqp, stream, [json.dumps({"order_id": 4711 if n in (1, 6) else n}).encode() for n in range(5)],
            timestamp=T0)  # fmt: skip
    publish(amqp, stream, [json.dumps({"order_id": 4711 if n == 6 else n}).encode() for n in range(5, 10)],
            headers={"trace": "late"}, timestamp=T0 + 600)  # fmt: skip
    code, found, err = search(config, "ops", stream, "--where", ".value.order_id == 4711")
    assert code == 0, err
    assert [m["position"] for m in found] == [1, 6]
    assert err == [f"mqtui: scanned 10 of 10 messages in {stream} (everything it held), 2 matched"]
    code, found, err = search(config, "ops", stream, "--where", '.headers.trace == "late"', "--from", "2", "--to", "7")
    assert [m["position"] for m in found] == [5, 6, 7]
    assert err == [f"mqtui: scanned 6 of 6 messages in {stream} from position 2 to position 7, 3 matched"]
    code, found, err = search(config, "ops", stream, "--where", "4711", "--from", "2026-12-06T10:05:00Z")
    assert [m["position"] for m in found] == [6]  # AMQP timestamps place the messages the broker's chunk holds
    assert err == [f"mqtui: scanned 5 of 5 messages in {stream} from 2026-12-06 10:05:00 to the end, 1 matched"]
    code, found, err = search(config, "ops", stream, "--where", "4711", "--to", "2026-12-06T10:05:00Z")
    assert [m["position"] for m in found] == [1]
    assert err == [f"mqtui: scanned 5 of 5 messages in {stream} from the beginning to 2026-12-06 10:05:00, 1 matched"]


def test_a_classic_queue_is_searched_by_a_confirmed_peek(
    tmp_path: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    config = write_config(tmp_path / "c.toml", {
        "ops": {"brokers": [broker_entry(rabbitmq_server)]},
        "ro": {"readonly": True, "brokers": [broker_entry(rabbitmq_server)]},
    })  # fmt: skip
    queue = unique("orders")
    amqp.queue_declare(queue, durable=True)
    publish(amqp, queue, [b"order 1", b"order 4711 refund", b"order 3"])
    code, found, err = search(config, "ops", queue, "--where", "refund")
    assert (code, found) == (1, [])
    assert err == [f"mqtui: error: search 3 messages in {queue} (reading a queue by get + requeue marks every "
                   "message redelivered): refused without --yes (stdin is not a terminal)"]  # fmt: skip
    code, found, err = search(config, "ro", queue, "--where", "refund", "--yes")
    assert code == 3 and len(err) == 1 and "readonly" in err[0], err
    code, found, err = search(config, "ops", queue, "--where", "refund", "--yes")
    assert (code, [m["value"] for m in found]) == (0, ["order 4711 refund"])
    assert err == [f"mqtui: scanned 3 of 3 messages in {queue} (everything it held), 1 matched"]
    assert queue_counts(rabbitmq_server, queue) == (3, 0)  # requeued, nothing taken
    code, found, err = search(config, "ops", queue, "--where", "x", "--from", "5", "--yes")
    assert code == 2 and "it has no positions or times" in err[0]
    code, found, err = search(config, "ops", unique("gone"), "--where", "x", "--yes")
    assert code == 2 and len(err) == 1 and "cannot search" in err[0], err


def test_a_stream_found_by_the_routing_key_its_messages_came_with(
    tmp_path: Path, rabbitmq_server: LocalRabbitMQ, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    """A stream message's key is the routing key it was published with (through an exchange bound to the
    stream), so `key:K` and `.key` find an order by its routing key as they find a Kafka record's key."""
    config = write_config(tmp_path / "c.toml", {"ops": {"brokers": [broker_entry(rabbitmq_server)]}})
    stream, exchange = unique("keyed"), unique("shop")
    amqp.queue_declare(stream, durable=True, arguments={"x-queue-type": "stream"})
    amqp.exchange_declare(exchange, exchange_type="topic")
    amqp.queue_bind(stream, exchange, routing_key="#")
    for n, key in enumerate(["order.1", "order.4711", "refund.4711", "order.3"]):
        publish(amqp, key, [json.dumps({"n": n}).encode()], exchange=exchange)
    code, found, err = search(config, "ops", stream, "--where", "key:order.4711")
    assert (code, [(m["position"], m["key"]) for m in found]) == (0, [(1, "order.4711")]), err
    assert err == [f"mqtui: scanned 4 of 4 messages in {stream} (everything it held), 1 matched"]
    code, found, err = search(config, "ops", stream, "--where", '.key | endswith(".4711")')
    assert [m["value"] for m in found] == ['{"n": 1}', '{"n": 2}']
    assert err == [f"mqtui: scanned 4 of 4 messages in {stream} (everything it held), 2 matched"]
