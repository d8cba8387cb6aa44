"""The AMQP jobs on a queue's messages outside dead letters: peek, publish with confirms, purge.

Each is a blocking job for `AmqpRunner.run`. `peek` is basic.get + requeue: it marks messages
redelivered and counts against a quorum queue's delivery-limit, hence Capability.PEEK and its
confirmation. `publish` checks and types the CLI's `--prop` values (`PUBLISH_OPTIONS`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.base import PublishOptions
from mqtui.brokers.rabbitmq.amqp import Progress, outgoing_header, to_message
from mqtui.brokers.rabbitmq.management import Management
from mqtui.brokers.rabbitmq.runner import AmqpRunner
from mqtui.errors import BrokerUnavailable, UsageError
from mqtui.model import Message, OutgoingMessage, PublishResult

PUBLISH_OPTIONS = (
    "exchange",
    "routing_key",
    "content_type",
    "content_encoding",
    "message_id",
    "correlation_id",
    "reply_to",
    "expiration",
    "priority",
    "type",
    "app_id",
    "persistent",
    "mandatory",
)
#: Purging millions of messages takes the broker a while: that is not a hang.
PURGE_PATIENCE = 120.0


async def peek(mgmt: Management, runner: AmqpRunner, destination: str, limit: int) -> list[Message]:
    """basic.get without ack, then one nack with requeue: the messages are marked redelivered."""
    ref = mgmt.naming.parse(destination)
    display = mgmt.display(ref.vhost, ref.name)

    def job(channel: BlockingChannel, progress: Progress) -> list[Message]:
        found: list[Message] = []
        last = None
        try:
            for _ in range(limit):
                method, properties, body = channel.basic_get(ref.name, auto_ack=False)
                progress.check()
                if method is None:
                    break
                last = method.delivery_tag
                found.append(
                    to_message(
                        mgmt.name,
                        display,
                        method.delivery_tag,
                        properties,
                        body,
                        exchange=method.exchange,
                        routing_key=method.routing_key,
                        redelivered=method.redelivered,
                    )
                )
        finally:
            if last is not None and channel.is_open:
                channel.basic_nack(last, multiple=True, requeue=True)
        return found

    return await runner.run(ref.vhost, job)


async def publish(
    mgmt: Management,
    runner: AmqpRunner,
    destination: str,
    messages: Sequence[OutgoingMessage],
    options: PublishOptions | None,
) -> PublishResult:
    """Publish with confirms. Options: see PUBLISH_OPTIONS.

    Without `exchange`, messages go through the default exchange to the queue `destination`. With
    one, the routing key is `routing_key`, else the message key, else `destination`'s queue name.
    Messages are persistent (`persistent=false` to change) and mandatory (`mandatory=false`):
    those no queue took are counted in `unroutable`.
    """
    broker = mgmt.name
    settings = publish_settings(broker, options or {})
    ref = mgmt.naming.parse(destination)
    exchange = settings.pop("exchange", "")
    fixed_key = settings.pop("routing_key", None)
    mandatory = settings.pop("mandatory", True)
    persistent = settings.pop("persistent", True)

    def job(channel: BlockingChannel, progress: Progress) -> PublishResult:
        channel.confirm_delivery()
        sent = unroutable = 0
        failed: list[tuple[int, str]] = []
        for index, message in enumerate(messages):
            progress.check()
            routing_key = fixed_key
            if routing_key is None:
                routing_key = message.key.decode("utf-8", "replace") if exchange and message.key else ref.name
            properties = pika.BasicProperties(
                delivery_mode=2 if persistent else 1,
                timestamp=int(time.time()),
                headers={k: outgoing_header(v) for k, v in message.headers} or None,
                **settings,
            )
            try:
                channel.basic_publish(exchange, routing_key, message.value, properties, mandatory=mandatory)
                sent += 1
            except pika.exceptions.UnroutableError:
                unroutable += 1
            except pika.exceptions.NackError:
                failed.append((index, "the broker refused the message (nack)"))
            except pika.exceptions.AMQPConnectionError as exc:
                if index == 0:
                    raise
                raise BrokerUnavailable(
                    f"{broker}: connection lost after {sent} of {len(messages)} message(s) were confirmed"
                ) from exc
        return PublishResult(sent=sent, failed=tuple(failed), unroutable=unroutable)

    return await runner.run(ref.vhost, job)


async def purge(mgmt: Management, runner: AmqpRunner, destination: str) -> int:
    """Remove every message of a queue; returns how many were removed."""
    ref = mgmt.naming.parse(destination)

    def job(channel: BlockingChannel, progress: Progress) -> int:
        return int(channel.queue_purge(ref.name).method.message_count)

    return await runner.run(ref.vhost, job, patience=max(runner.timeout, PURGE_PATIENCE))


def publish_settings(broker: str, options: Mapping[str, str]) -> dict[str, Any]:
    """CLI `--prop` values checked and typed; unknown keys are a usage error, not silently ignored."""
    settings: dict[str, Any] = {}
    for key, value in options.items():
        if key not in PUBLISH_OPTIONS:
            raise UsageError(f"{broker}: unknown publish property {key!r} (known: {', '.join(PUBLISH_OPTIONS)})")
        if key in ("persistent", "mandatory"):
            lowered = value.strip().lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0"):
                raise UsageError(f"{broker}: {key} must be true or false, not {value!r}")
            settings[key] = lowered in ("true", "yes", "1")
        elif key == "priority":
            try:
                settings[key] = int(value)
            except ValueError:
                raise UsageError(f"{broker}: priority must be a number, not {value!r}") from None
        else:
            settings[key] = value
    return settings
