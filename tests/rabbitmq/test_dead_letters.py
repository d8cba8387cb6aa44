"""Dead-letter queues: detection, reading without loss, requeue, delete, and the requeue journal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.journal import RequeueJournal, journal_path
from mqtui.demo.localbrokers import LocalRabbitMQ
from mqtui.errors import NotFound
from tests.rabbitmq.conftest import publish, queue_counts
from tests.support import until


@dataclass
class DeadLettered:
    origin: str
    dlq: str
    dlx: str


def reject_all(channel: BlockingChannel, queue: str) -> int:
    rejected = 0
    while True:
        method, _, _ = channel.basic_get(queue)
        if method is None:
            return rejected
        channel.basic_reject(method.delivery_tag, requeue=False)
        rejected += 1


def dead_letter(
    channel: BlockingChannel, unique: Callable[[str], str], bodies: list[bytes], **props: object
) -> DeadLettered:
    """origin --(reject)--> fanout DLX --> parking queue, with `bodies` rejected into it."""
    setup = DeadLettered(unique("orders"), unique("parking"), unique("dlx"))
    channel.exchange_declare(setup.dlx, "fanout", durable=True)
    channel.queue_declare(setup.dlq, durable=True)
    channel.queue_bind(setup.dlq, setup.dlx)
    channel.queue_declare(setup.origin, durable=True, arguments={"x-dead-letter-exchange": setup.dlx})
    publish(channel, setup.origin, bodies, **props)
    assert reject_all(channel, setup.origin) == len(bodies)
    return setup


def drain(channel: BlockingChannel, queue: str) -> list[tuple[bytes, dict]]:
    """Take every message off `queue` (for checking what a requeue delivered)."""
    found = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return found
        found.append((body, dict(properties.headers or {})))


async def test_dead_letter_queues_are_found_by_exchange_routing_key_and_name(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    fanout = dead_letter(amqp, unique, [b"x"])
    # A direct DLX with a dead-letter routing key reaches only the queue bound with that key.
    direct, chosen, bystander, source = unique("direct-dlx"), unique("failed"), unique("audit"), unique("payments")
    amqp.exchange_declare(direct, "direct")
    amqp.queue_declare(chosen)
    amqp.queue_declare(bystander)
    amqp.queue_bind(chosen, direct, "failed")
    amqp.queue_bind(bystander, direct, "audit")
    amqp.queue_declare(source, arguments={"x-dead-letter-exchange": direct, "x-dead-letter-routing-key": "failed"})
    # The default exchange with a routing key names the DLQ directly.
    retry, retry_source = unique("retry-later"), unique("emails")
    amqp.queue_declare(retry)
    amqp.queue_declare(retry_source, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": retry})
    # A naming rule alone.
    named = unique("invoices") + ".dlq"
    amqp.queue_declare(named)

    async def counted() -> dict:
        found = {q.name: q for q in await adapter.dead_letter_queues()}
        return found if fanout.dlq in found and found[fanout.dlq].count == 1 else {}

    found = await until(counted, what="the DLQ's count of 1 in the management API")
    assert found[fanout.dlq].origin == fanout.origin
    assert found[fanout.dlq].detected_by == f"dead-letter exchange {fanout.dlx}"
    assert found[chosen].origin == source
    assert bystander not in found
    assert (found[retry].origin, found[retry].detected_by) == (retry_source, "dead-letter routing key")
    assert (found[named].origin, found[named].detected_by) == (unique("invoices"), "naming rule")
    flags = {d.name: d.is_dlq for d in await adapter.destinations()}
    assert flags[fanout.dlq] and flags[chosen] and flags[retry] and flags[named]
    assert not flags[fanout.origin] and not flags[bystander]


async def test_dead_letters_show_x_death_and_reading_loses_nothing(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    bodies = [b"order-%d" % i for i in range(5)]
    setup = dead_letter(amqp, unique, bodies, content_type="text/plain")
    letters = await adapter.dead_letters(setup.dlq)
    assert [letter.message.value for letter in letters] == bodies
    first = letters[0]
    assert (first.origin, first.reason, first.attempts) == (setup.origin, "rejected", 1)
    assert first.extra["exchange"] == ""
    assert first.extra["routing_keys"] == setup.origin
    assert first.extra["first_death_queue"] == setup.origin
    assert first.extra["first_death_reason"] == "rejected"
    assert first.first_failure is not None and first.first_failure == first.last_failure
    assert first.message.header("amqp.content_type") == "text/plain"
    assert len({letter.id for letter in letters}) == 5
    # The DLQ is exactly as it was: 5 ready, nothing held; and the ids are the same on a second read.
    assert queue_counts(rabbitmq_server, setup.dlq) == (5, 0)
    again = await adapter.dead_letters(setup.dlq, limit=2)
    assert [letter.id for letter in again] == [letter.id for letter in letters[:2]]
    assert queue_counts(rabbitmq_server, setup.dlq) == (5, 0)
    with pytest.raises(NotFound):
        await adapter.dead_letters(unique("missing"))


async def test_a_second_death_in_the_same_queue_leaves_the_last_failure_unknown(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str]
) -> None:
    """x-death counts the second rejection in the entry of the first and keeps the first time."""
    setup = dead_letter(amqp, unique, [b"twice"])
    [once] = await adapter.dead_letters(setup.dlq)
    assert (once.attempts, once.first_failure) == (1, once.last_failure)
    assert (await adapter.replay(setup.dlq)).sent == 1
    assert reject_all(amqp, setup.origin) == 1
    [twice] = await adapter.dead_letters(setup.dlq)
    assert (twice.attempts, twice.first_failure, twice.last_failure) == (2, once.first_failure, None)


async def test_requeue_k_of_n_moves_exactly_k_with_requeue_headers(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    bodies = [b"order-%d" % i for i in range(5)]
    setup = dead_letter(amqp, unique, bodies)
    plan = await adapter.plan_replay(setup.dlq, limit=3)
    assert [item.target for item in plan] == [setup.origin] * 3
    result = await adapter.replay(setup.dlq, limit=3)
    assert (result.sent, result.failed, result.skipped, result.duplicates) == (3, 0, 0, 0)
    assert queue_counts(rabbitmq_server, setup.origin) == (3, 0)
    assert queue_counts(rabbitmq_server, setup.dlq) == (2, 0)
    moved = drain(amqp, setup.origin)
    assert [body for body, _ in moved] == bodies[:3]
    headers = moved[0][1]
    assert headers["x-mqtui-requeue-count"] == 1
    assert headers["x-mqtui-requeued-at"].endswith("Z")
    assert headers["x-death"][0]["queue"] == setup.origin
    left = await adapter.dead_letters(setup.dlq)
    assert [letter.message.value for letter in left] == bodies[3:]


async def test_requeue_selected_ids_only(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    bodies = [b"m%d" % i for i in range(6)]
    setup = dead_letter(amqp, unique, bodies)
    letters = await adapter.dead_letters(setup.dlq)
    chosen = [letters[1].id, letters[4].id]
    result = await adapter.replay(setup.dlq, ids=[*chosen, "0000000000000000"])
    assert (result.sent, result.failed, result.skipped) == (2, 0, 1)
    assert result.errors == ("0000000000000000: not in the DLQ",)
    assert [body for body, _ in drain(amqp, setup.origin)] == [b"m1", b"m4"]
    assert [letter.message.value for letter in await adapter.dead_letters(setup.dlq)] == [
        b"m0",
        b"m2",
        b"m3",
        b"m5",
    ]
    assert queue_counts(rabbitmq_server, setup.dlq) == (4, 0)


async def test_requeue_to_another_queue_or_through_the_original_exchange(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    setup = dead_letter(amqp, unique, [b"a", b"b", b"c"])
    elsewhere = unique("elsewhere")
    amqp.queue_declare(elsewhere)
    result = await adapter.replay(setup.dlq, to=elsewhere, limit=1)
    assert result.sent == 1
    assert queue_counts(rabbitmq_server, elsewhere) == (1, 0)
    # `exchange:` republishes through the exchange in x-death (here the default one, key = origin).
    plan = await adapter.plan_replay(setup.dlq, to="exchange:")
    assert [item.target for item in plan] == [f"exchange (AMQP default) key {setup.origin}"] * 2
    result = await adapter.replay(setup.dlq, to="exchange:")
    assert result.sent == 2
    assert queue_counts(rabbitmq_server, setup.origin) == (2, 0)
    assert queue_counts(rabbitmq_server, setup.dlq) == (0, 0)
    with pytest.raises(NotFound):
        await adapter.replay(setup.dlq, to=unique("no-such-queue"))


async def test_unroutable_requeue_fails_and_keeps_the_dead_letters(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    setup = dead_letter(amqp, unique, [b"a", b"b"])
    amqp.queue_delete(setup.origin)
    result = await adapter.replay(setup.dlq)
    assert (result.sent, result.failed) == (0, 2)
    assert all("unroutable" in error for error in result.errors)
    assert queue_counts(rabbitmq_server, setup.dlq) == (2, 0)


async def test_messages_without_x_death_are_skipped_unless_sent_somewhere(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    dlq, target = unique("manual.dlq"), unique("target")
    amqp.queue_declare(dlq)
    amqp.queue_declare(target)
    publish(amqp, dlq, [b"no history"])
    plan = await adapter.plan_replay(dlq)
    assert [(item.target, item.skip_reason is not None) for item in plan] == [("-", True)]
    letters = await adapter.dead_letters(dlq)
    assert letters[0].origin == unique("manual")  # from the naming rule {name}.dlq
    result = await adapter.replay(dlq)
    assert (result.sent, result.skipped) == (0, 1)
    assert queue_counts(rabbitmq_server, dlq) == (1, 0)
    assert (await adapter.replay(dlq, to=target)).sent == 1
    assert queue_counts(rabbitmq_server, target) == (1, 0)


async def test_delete_dead_letters_by_id(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    setup = dead_letter(amqp, unique, [b"keep-1", b"drop", b"keep-2"])
    letters = await adapter.dead_letters(setup.dlq)
    assert await adapter.delete_dead_letters(setup.dlq, [letters[1].id]) == 1
    remaining = await adapter.dead_letters(setup.dlq)
    assert [letter.message.value for letter in remaining] == [b"keep-1", b"keep-2"]
    assert queue_counts(rabbitmq_server, setup.dlq) == (2, 0)
    # The newest message removed while an older one is held back (nack must not name an acked tag).
    assert await adapter.delete_dead_letters(setup.dlq, [remaining[1].id]) == 1
    assert queue_counts(rabbitmq_server, setup.dlq) == (1, 0)


async def test_journal_finishes_an_interrupted_requeue_without_duplicates(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    """A run that died after the confirm (C) leaves no second copy; one that died before it (P) counts one."""
    setup = dead_letter(amqp, unique, [b"confirmed-before-crash", b"published-before-crash", b"untouched"])
    letters = await adapter.dead_letters(setup.dlq)
    # What an earlier run had achieved when it was killed: copy 0 confirmed at the origin, copy 1 sent.
    amqp.basic_publish("", setup.origin, b"confirmed-before-crash", pika.BasicProperties(delivery_mode=2))
    amqp.basic_publish("", setup.origin, b"published-before-crash", pika.BasicProperties(delivery_mode=2))
    path = journal_path(adapter.name, adapter.endpoint.host, adapter.endpoint.port, "/", setup.dlq)
    journal = RequeueJournal(path)
    journal.will_publish(letters[0].id)
    journal.published(letters[0].id)
    journal.will_publish(letters[1].id)
    journal.close()
    with path.open("ab") as raw:  # a confirmation from long ago, of a dead letter no longer there
        raw.write(b'{"op": "C", "id": "0123456789abcdef", "t": 1.0}\n')

    result = await adapter.replay(setup.dlq)
    assert (result.sent, result.failed, result.duplicates) == (3, 0, 1)
    bodies = sorted(body for body, _ in drain(amqp, setup.origin))
    # The confirmed one exists once; the unconfirmed one twice (counted above); the third once.
    assert bodies == [b"confirmed-before-crash", b"published-before-crash", b"published-before-crash", b"untouched"]
    assert queue_counts(rabbitmq_server, setup.dlq) == (0, 0)
    # The whole DLQ was seen: what is left are this run's confirmations, kept for an hour in case a
    # broker crash loses the acks; the old one and the used-up ones are gone.
    after = RequeueJournal(path)
    assert sorted(after.confirmed) == sorted([letters[1].id, letters[2].id])
    assert not after.pending


async def test_malformed_x_death_headers_never_break_a_listing(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, rabbitmq_server: LocalRabbitMQ, unique: Callable[[str], str]
) -> None:
    dlq = unique("hostile.dlq")
    amqp.queue_declare(dlq)
    amqp.confirm_delivery()
    hostile = [
        {"x-death": "not a list"},
        {"x-death": [5, {"count": "many", "time": "yesterday", "queue": b"\xff\xfe", "routing-keys": "nope"}]},
        {"x-death": [{}], "x-first-death-queue": b"\x1b]52;c;evil\x07"},
    ]
    for headers in hostile:
        amqp.basic_publish("", dlq, b"\xff" * 3 + b"\x00", pika.BasicProperties(headers=headers))
    amqp.basic_publish("", dlq, b"x" * 2_000_000)  # a big one
    letters = await adapter.dead_letters(dlq)
    assert len(letters) == 4
    assert letters[0].origin == unique("hostile")  # no usable x-death: the naming rule's origin
    assert (letters[1].origin, letters[1].attempts, letters[1].first_failure) == ("\\xff\\xfe", 1, None)
    assert letters[2].origin is None and letters[2].extra["first_death_queue"] == "\x1b]52;c;evil\x07"
    assert len(letters[3].message.value) == 2_000_000
    result = await adapter.replay(dlq)
    assert (result.sent, result.failed, result.skipped) == (0, 1, 3)  # the "\xff\xfe" origin is unroutable
    assert queue_counts(rabbitmq_server, dlq) == (4, 0)
