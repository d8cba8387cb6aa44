"""One call per capability-gated adapter method, with arguments that make sense on every broker kind.

Calls act on a `Scene`: a destination, a queue, a consumer group and a dead-letter queue that the
world makes on first use, so a test can also make all of it first and compare the broker's state after.
A new capability needs one entry in `CALLS` (test_capabilities fails until it has one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mqtui.brokers.base import BrokerAdapter
from mqtui.errors import NotPossible
from mqtui.model import Capability, OutgoingMessage, StartPosition
from tests.contract.worlds import DeadLetters, World

Adapter = BrokerAdapter[Any]


class Scene:
    """What the calls act on, made by the world on first use and the same object afterwards."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._destination: str | None = None
        self._queue: str | None = None
        self._group: str | None = None
        self._letters: DeadLetters | None = None

    async def destination(self) -> str:
        """A tailable destination holding two messages."""
        if self._destination is None:
            self._destination = await self.world.destination()
            await self.world.publish(self._destination, [b"scene-1", b"scene-2"])
        return self._destination

    async def queue(self) -> str:
        """A destination to peek at, publish to and purge, holding two messages."""
        if self._queue is None:
            self._queue = await self.world.queue()
            await self.world.publish(self._queue, [b"queued-1", b"queued-2"])
        return self._queue

    async def group(self) -> str:
        """A consumer group that has read one message of `destination()`."""
        if self._group is None:
            self._group = await self.world.group(await self.destination(), read=1)
        return self._group

    async def letters(self) -> DeadLetters:
        """A dead-letter queue with two letters."""
        if self._letters is None:
            self._letters = await self.world.dead_letters(2)
        return self._letters

    async def make_all(self) -> None:
        await self.queue()
        await self.group()
        await self.letters()

    async def state(self) -> tuple[object, ...]:
        """What the broker holds of everything made so far, read with the world's client."""
        world = self.world
        found: list[object] = []
        for name in (self._destination, self._queue):
            if name is not None:
                found.append((name, await world.count(name)))
        if self._group is not None and self._destination is not None:
            found.append(await world.group_state(self._destination, self._group))
        if self._letters is not None:
            found.append((await world.count(self._letters.dlq), await world.count(self._letters.origin)))
        return tuple(found)


async def tail(adapter: Adapter, scene: Scene) -> object:
    stream = adapter.tail(await scene.destination(), start=StartPosition("beginning"), stop_at_end=True)
    return [message async for batch in stream for message in batch]


async def peek(adapter: Adapter, scene: Scene) -> object:
    return await adapter.peek(await scene.queue(), limit=1)


async def publish(adapter: Adapter, scene: Scene) -> object:
    return await adapter.publish(await scene.queue(), [OutgoingMessage(b"published")])


async def replay(adapter: Adapter, scene: Scene) -> object:
    return await adapter.replay((await scene.letters()).dlq)


async def delete_dead_letters(adapter: Adapter, scene: Scene) -> object:
    dlq = (await scene.letters()).dlq
    oldest = (await adapter.dead_letters(dlq, limit=1))[0]
    return await adapter.delete_dead_letters(dlq, [oldest.id])


async def purge(adapter: Adapter, scene: Scene) -> object:
    return await adapter.purge(await scene.queue())


async def reset_offsets(adapter: Adapter, scene: Scene) -> object:
    group, destination = await scene.group(), await scene.destination()
    return await adapter.reset_offsets(group, to=StartPosition("beginning"), destination=destination)


async def request(adapter: Adapter, scene: Scene) -> object:
    async with scene.world.responder() as service:
        return await adapter.request(service, OutgoingMessage(b"ping"), timeout=5.0)


async def move_queue(adapter: Adapter, scene: Scene) -> object:
    letters = await scene.letters()
    return await adapter.move_queue(letters.dlq, to=letters.origin)


async def describe_server(adapter: Adapter, scene: Scene) -> object:
    return await adapter.describe_server()


async def describe_group(adapter: Adapter, scene: Scene) -> object:
    return await adapter.describe_group(await scene.group())


#: The method each capability flag promises (or, absent, refuses with Unsupported).
CALLS: dict[Capability, Callable[[Adapter, Scene], Awaitable[object]]] = {
    Capability.TAIL: tail,
    Capability.PEEK: peek,
    Capability.PUBLISH: publish,
    Capability.REPLAY: replay,
    Capability.DELETE_DEAD_LETTER: delete_dead_letters,
    Capability.PURGE: purge,
    Capability.RESET_OFFSETS: reset_offsets,
    Capability.REQUEST: request,
    Capability.MOVE_QUEUE: move_queue,
    Capability.SERVER_VIEW: describe_server,
    Capability.GROUPS: describe_group,
}

#: Flags that qualify another instead of gating a method of their own.
QUALIFIERS = Capability.PEEK_ONLY_READS


async def plan_replay(adapter: Adapter, scene: Scene) -> object:
    return await adapter.plan_replay((await scene.letters()).dlq)


async def plan_move(adapter: Adapter, scene: Scene) -> object:
    letters = await scene.letters()
    return await adapter.plan_move(letters.dlq, to=letters.origin)


#: The dry runs, refused exactly where the action they plan is.
PLANS: dict[Capability, Callable[[Adapter, Scene], Awaitable[object]]] = {
    Capability.REPLAY: plan_replay,
    Capability.MOVE_QUEUE: plan_move,
}


async def describe(adapter: Adapter, scene: Scene) -> object:
    return await adapter.describe(await scene.destination())


async def dead_letter_queues(adapter: Adapter, scene: Scene) -> object:
    return await adapter.dead_letter_queues()


async def retry_schedules(adapter: Adapter, scene: Scene) -> object:
    """Every kind answers, NATS with none (the console polls it beside the DLQs on every broker)."""
    schedules = await adapter.retry_schedules()
    assert all(s.broker == adapter.name for s in schedules), "a retry schedule names its broker"
    return schedules


async def dead_letters(adapter: Adapter, scene: Scene) -> object:
    return await adapter.dead_letters((await scene.letters()).dlq)


async def tail_a_queue_from_its_end(adapter: Adapter, scene: Scene) -> object:
    """With Capability.TAIL, any destination the broker lists is tailed from its end, or refused for that
    one destination with `NotPossible` naming the broker (a RabbitMQ queue only bound to the default
    exchange has no binding to copy): never with Unsupported, which would say the broker cannot tail."""
    if not adapter.can(Capability.TAIL):
        return None
    stream = adapter.tail(await scene.queue(), start=StartPosition("end"), stop_at_end=True)
    try:
        return [message async for batch in stream for message in batch]
    except NotPossible as refused:
        assert str(refused).startswith(f"{adapter.name}: "), "a NotPossible names its broker"
        return refused


async def tail_a_list_from_a_time(adapter: Adapter, scene: Scene) -> object:
    """Redis: a list has no times (the scene's dead-letter queue is a list)."""
    stream = adapter.tail(
        (await scene.letters()).dlq, start=StartPosition.parse("2024-01-01T00:00:00Z"), stop_at_end=True
    )
    return [message async for batch in stream for message in batch]


async def tail_a_stream_from_a_stream_id(adapter: Adapter, scene: Scene) -> object:
    """NATS: a stream position is a sequence number, not a Redis stream id."""
    stream = adapter.tail(await scene.destination(), start=StartPosition.parse("1-0"), stop_at_end=True)
    return [message async for batch in stream for message in batch]


async def peek_at_a_stream_queue(adapter: Adapter, scene: Scene) -> object:
    """RabbitMQ: a stream queue answers basic.get with NOT_IMPLEMENTED (the scene's destination is one)."""
    return await adapter.peek(await scene.destination(), limit=1)


#: Per broker kind, a call its adapter has the capability for but refuses for that one destination or
#: start: `NotPossible` naming the broker, never Unsupported (which would say the flag lies). Kafka refuses
#: no destination or start of its own.
REFUSED_HERE: dict[str, tuple[Capability, Callable[[Adapter, Scene], Awaitable[object]]]] = {
    "nats": (Capability.TAIL, tail_a_stream_from_a_stream_id),
    "rabbitmq": (Capability.PEEK, peek_at_a_stream_queue),
    "redis": (Capability.TAIL, tail_a_list_from_a_time),
}


#: Methods no flag gates: an adapter answers them (or fails for a reason other than Unsupported).
UNGATED: dict[str, Callable[[Adapter, Scene], Awaitable[object]]] = {
    "describe": describe,
    "dead_letter_queues": dead_letter_queues,
    "retry_schedules": retry_schedules,
    "dead_letters": dead_letters,
    "tail_a_queue_from_its_end": tail_a_queue_from_its_end,
}
