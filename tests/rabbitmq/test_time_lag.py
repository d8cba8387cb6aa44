"""Time lag of RabbitMQ queues against the real rabbitmq-server: the management API's
`head_message_timestamp` (the timestamp property of the first ready message) where it reports one, and
why not where it does not."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.queues import NO_HEAD_TIMESTAMP
from mqtui.model import BacklogRow
from tests.rabbitmq.conftest import publish
from tests.support import until

#: Planted timestamp properties (whole seconds, as AMQP carries them), a minute apart, an hour ago.
BASE = int(time.time()) - 3600
STEP = 60


async def _row(adapter: RabbitMQAdapter, queue: str, check: Callable[[BacklogRow], bool], what: str) -> BacklogRow:
    async def probe() -> BacklogRow | None:
        rows = {r.destination: r for r in await adapter.backlog()}
        row = rows.get(queue)
        return row if row is not None and check(row) else None

    return await until(probe, what=what)


async def test_time_lag_is_the_head_message_timestamp_or_says_why_not(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    timed, plain, quorum, empty = unique("timed"), unique("plain"), unique("quorum"), unique("empty")
    for queue in (timed, plain, empty):
        amqp.queue_declare(queue, durable=True)
    amqp.queue_declare(quorum, durable=True, arguments={"x-queue-type": "quorum"})
    for i in range(5):
        publish(amqp, timed, [b"t%d" % i], timestamp=BASE + i * STEP)
    for _ in range(2):  # consume the two oldest: the third (BASE + 2 minutes) is at the head
        method, _, _ = amqp.basic_get(timed)
        assert method is not None
        amqp.basic_ack(method.delivery_tag)
    publish(amqp, plain, [b"a", b"b"])
    publish(amqp, quorum, [b"q"], timestamp=BASE)
    publish(amqp, empty, [b"gone"], timestamp=BASE)
    method, _, _ = amqp.basic_get(empty)
    assert method is not None
    amqp.basic_ack(method.delivery_tag)

    head = datetime.fromtimestamp(BASE + 2 * STEP, tz=UTC)
    row = await _row(adapter, timed, lambda r: r.lag == 3 and r.oldest_waiting_at == head, "head timestamp sampled")
    assert row.time_lag_unknown is None
    row = await _row(adapter, plain, lambda r: r.lag == 2, "2 ready without timestamps")
    assert (row.oldest_waiting_at, row.time_lag_unknown) == (None, NO_HEAD_TIMESTAMP)
    row = await _row(adapter, quorum, lambda r: r.lag == 1, "1 ready in the quorum queue")
    assert row.oldest_waiting_at is None and row.time_lag_unknown == NO_HEAD_TIMESTAMP
    row = await _row(adapter, empty, lambda r: r.lag == 0, "the empty queue")
    assert (row.oldest_waiting_at, row.time_lag_unknown) == (None, None)
    only = await adapter.backlog(group=timed)
    assert [r.oldest_waiting_at for r in only] == [head]
