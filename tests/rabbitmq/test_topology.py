"""Dead-letter queues behind exchange-to-exchange bindings, and one queue listing per poll."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq.adapter import RabbitMQAdapter
from mqtui.brokers.rabbitmq.topology import Route, reached_queues
from tests.rabbitmq.conftest import publish, queue_counts
from tests.rabbitmq.test_dead_letters import drain, reject_all
from tests.support import wait_for


async def test_a_dlq_bound_behind_an_exchange_the_dlx_is_bound_to_is_found_and_requeued(
    adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Callable[[str], str], rabbitmq_server: Any
) -> None:
    """origin --(reject, key orders.failed)--> fanout DLX --> topic exchange --(orders.#)--> parking queue.

    The topic exchange is also bound back to the DLX (a cycle), and a second origin dead-letters with a
    key the parking queue's binding does not take, so it must not be named as an origin.
    """
    dlx, sorter, parking = unique("dlx"), unique("sorter"), unique("parking")
    origin, other, bystander = unique("orders"), unique("payments"), unique("audit")
    amqp.exchange_declare(dlx, "fanout", durable=True)
    amqp.exchange_declare(sorter, "topic", durable=True)
    amqp.exchange_bind(sorter, dlx)
    amqp.exchange_bind(dlx, sorter, "#")  # a cycle the detection must survive
    amqp.queue_declare(parking, durable=True)
    amqp.queue_bind(parking, sorter, "orders.#")
    amqp.queue_declare(bystander, durable=True)
    amqp.queue_bind(bystander, sorter, "payments.#")
    dead = {"x-dead-letter-exchange": dlx}
    amqp.queue_declare(origin, durable=True, arguments={**dead, "x-dead-letter-routing-key": "orders.failed"})
    amqp.queue_declare(other, durable=True, arguments={**dead, "x-dead-letter-routing-key": "payments.failed"})
    publish(amqp, origin, [b"lost order"])
    assert reject_all(amqp, origin) == 1
    wait_for(lambda: queue_counts(rabbitmq_server, parking)[0] == 1, what="the dead letter in the parking queue")

    queues = {q.name: q for q in await adapter.dead_letter_queues()}
    assert (queues[parking].origin, queues[parking].detected_by) == (origin, f"dead-letter exchange {dlx} via {sorter}")
    assert (queues[bystander].origin, queues[bystander].detected_by) == (
        other,
        f"dead-letter exchange {dlx} via {sorter}",
    )
    destinations = {d.name: d for d in await adapter.destinations()}
    assert destinations[parking].is_dlq and destinations[parking].extra["dlq-of"] == origin

    (letter,) = await adapter.dead_letters(parking)
    assert (letter.origin, letter.reason, letter.extra["exchange"]) == (origin, "rejected", "")
    result = await adapter.replay(parking)
    assert (result.sent, result.failed) == (1, 0)
    assert [body for body, _ in drain(amqp, origin)] == [b"lost order"]
    assert queue_counts(rabbitmq_server, parking)[0] == 0


def test_reached_queues_follows_exchange_bindings_once_each() -> None:
    types = {"dlx": "fanout", "a": "direct", "b": "topic"}
    routes = {
        "dlx": [Route("dlx", "a", True, ""), Route("dlx", "b", True, "")],
        "a": [Route("a", "dlx", True, "k"), Route("a", "qa", False, "k"), Route("a", "qx", False, "other")],
        "b": [Route("b", "a", True, "#"), Route("b", "qb", False, "*"), Route("b", "gone", True, "#")],
    }
    assert reached_queues("dlx", "k", types, routes) == {"qa": "a", "qb": "b"}
    assert reached_queues("dlx", "x.y", types, routes) == {}
    assert reached_queues("missing", "k", types, routes) == {}


async def test_one_poll_lists_the_queues_once(adapter: RabbitMQAdapter, amqp: BlockingChannel, unique: Any) -> None:
    """destinations, backlog and DLQs asked at once (as the poller does) share one /api/queues listing."""
    amqp.queue_declare(unique("listed"))
    paged = adapter.api.paged
    listings: list[str] = []

    def counting(path: str, columns: tuple[str, ...], page: int, *args: Any) -> Any:
        if page == 1:  # a listing of more than 500 queues asks for its other pages side by side
            listings.append(path)
        return paged(path, columns, page, *args)

    adapter.api.paged = counting  # type: ignore[method-assign]
    destinations, backlog, dlqs = await asyncio.gather(
        adapter.destinations(), adapter.backlog(), adapter.dead_letter_queues()
    )
    assert destinations and backlog and isinstance(dlqs, list)
    assert listings.count("/api/queues") == 1
    # A later call lists again: nothing is cached beyond the calls that shared a listing.
    name = unique("later")
    amqp.queue_declare(name)
    assert any(d.name == name for d in await adapter.destinations())
    assert listings.count("/api/queues") == 2
    await adapter.dead_letter_queues()
    assert listings.count("/api/queues") == 3
