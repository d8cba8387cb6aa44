"""RabbitMQ TTL + dead-letter retry queues against the real rabbitmq-server: counted from the queue
listing (never read), the next due time from the head message's timestamp plus the queue TTL."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq import retries
from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.model import RetrySchedule
from tests.rabbitmq.conftest import publish
from tests.support import until

TTL_MS = 600_000


async def test_retry_queues_count_what_waits_and_when_the_head_is_due(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    origin, plain = unique("orders"), unique("plain")
    timed, untimed, old, per_message = (f"{origin}.retry", f"{origin}.retry-untimed", f"{origin}.retry-old",
                                        f"{origin}.delay")  # fmt: skip
    back = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": origin}
    amqp.queue_declare(origin, durable=True)
    amqp.queue_declare(plain, durable=True, arguments={"x-message-ttl": TTL_MS})  # no dead-letter exchange
    for queue in (timed, untimed, old):
        amqp.queue_declare(queue, durable=True, arguments={**back, "x-message-ttl": TTL_MS})
    amqp.queue_declare(per_message, durable=True, arguments=back)
    # A main queue whose expired messages die into a DLQ (its consumers down): not a retry queue.
    expiring = unique("expiring")
    amqp.queue_declare(f"{expiring}.dlq", durable=True)
    amqp.queue_declare(expiring, durable=True, arguments={"x-message-ttl": TTL_MS, "x-dead-letter-exchange": "",
                                                          "x-dead-letter-routing-key": f"{expiring}.dlq"})  # fmt: skip
    now = int(time.time())
    publish(amqp, timed, [b"a", b"b", b"c"], timestamp=now)
    publish(amqp, untimed, [b"a"])
    publish(amqp, old, [b"a"], timestamp=now - 3600)  # as if dead-lettered in: its first publish's time
    publish(amqp, per_message, [b"a", b"b"], expiration="900000")
    publish(amqp, plain, [b"a"], timestamp=now)

    async def sampled() -> dict[str, RetrySchedule] | None:
        """The listing once the management API counts every message published (its counts lag)."""
        found = {s.destination: s for s in await adapter.retry_schedules()}
        counted = {timed: 3, untimed: 1, old: 1}
        if any(found.get(queue) is None or found[queue].due_later != n for queue, n in counted.items()):
            return None
        return found if found[timed].next_due_at is not None and found.get(per_message) is not None else None

    found = await until(sampled, what="the retry queues sampled by the management API")
    assert found is not None
    assert origin not in found and plain not in found  # consumed queues and TTL without dead-lettering
    assert expiring not in found
    dlqs = {q.name: q for q in await adapter.dead_letter_queues()}
    assert origin not in dlqs  # what the retry queues dead-letter into is retried there, not dead
    assert dlqs[f"{expiring}.dlq"].origin == expiring
    head = found[timed]
    assert (head.convention, head.origin, head.due_now, head.due_later) == ("ttl + dead-letter", origin, 0, 3)
    assert head.next_due_at == datetime.fromtimestamp(now + TTL_MS / 1000, tz=UTC) and head.unknown_reason is None
    assert (found[untimed].due_later, found[untimed].next_due_at) == (1, None)
    assert found[untimed].unknown_reason == retries.NO_TIMESTAMP
    assert (found[old].due_later, found[old].next_due_at, found[old].unknown_reason) == (
        1,
        None,
        retries.DEAD_LETTERED_IN,
    )
    mixed = found[per_message]
    assert (mixed.due_now, mixed.due_later, mixed.unknown_reason) == (None, None, retries.PER_MESSAGE)
    # Nothing was read: every message is still there, none redelivered.
    method, _props, _body = amqp.basic_get(timed)
    assert method is not None and not method.redelivered
    amqp.basic_nack(method.delivery_tag, requeue=True)
