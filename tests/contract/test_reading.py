"""Reading: destinations and backlog answer for what exists, and a tail is bounded and touches no group."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from mqtui.brokers.base import BrokerAdapter
from mqtui.model import BacklogRow, Message, StartPosition
from tests.contract.worlds import World
from tests.support import until

#: A tail with stop_at_end over a few messages ends well within this (seconds); it is a hang guard.
BOUNDED = 20.0


async def test_destinations_lists_a_destination_just_created(adapter: BrokerAdapter[Any], world: World) -> None:
    made = await world.destination()

    async def listed() -> bool:
        return made in {d.name for d in await adapter.destinations()}

    await until(listed, what=f"{made} in {world.kind}'s destinations", timeout=10)


async def test_backlog_answers_rows_for_a_group_that_exists(adapter: BrokerAdapter[Any], world: World) -> None:
    destination = await world.destination()
    await world.publish(destination, [b"one", b"two", b"three"])
    group = await world.group(destination, read=1)

    async def rows() -> list[BacklogRow]:
        return [r for r in await adapter.backlog(group=group) if r.destination == destination]

    found = await until(rows, what=f"backlog rows of {group} on {destination}", timeout=10)
    assert all(row.broker == adapter.name for row in found), found
    assert [r for r in await adapter.backlog() if r.destination == destination], "backlog() without a group omits it"


def _stable(rows: Sequence[BacklogRow]) -> list[tuple[object, ...]]:
    """What a tail must leave as it was: the group's position, lag, in-flight and members. Not activity
    times, and not `end`, which is the destination's (a RabbitMQ stream reports it seconds late)."""
    return sorted(
        (r.destination, r.group, r.partition, r.committed, r.lag, r.in_flight, r.consumers, r.members) for r in rows
    )


async def test_a_tail_to_the_end_is_bounded_and_leaves_groups_untouched(
    adapter: BrokerAdapter[Any], world: World
) -> None:
    destination = await world.destination()
    bodies = [b"first", b"second", b"third", b"fourth"]
    await world.publish(destination, bodies)
    group = await world.group(destination, read=2)

    async def settled_rows() -> list[tuple[object, ...]] | None:
        # Brokers that sample their statistics (RabbitMQ's management API) show the publish a moment later.
        first = _stable(await adapter.backlog(group=group))
        await asyncio.sleep(0.6)
        return first if first and first == _stable(await adapter.backlog(group=group)) else None

    rows_before = await until(settled_rows, what=f"{group}'s backlog rows to settle", timeout=15)
    state_before = await world.group_state(destination, group)

    async def drain() -> list[Message]:
        tail = adapter.tail(destination, start=StartPosition("beginning"), stop_at_end=True)
        return [message async for batch in tail for message in batch]

    seen = await asyncio.wait_for(drain(), timeout=BOUNDED)  # ends by itself, or the test fails here
    assert [m.value for m in seen] == bodies

    async def untouched() -> bool:
        state = await world.group_state(destination, group)
        assert state == state_before, f"{state!r}, not {state_before!r} as before the tail"
        return True

    await until(untouched, what=f"{group}'s state on the broker as before", timeout=10, ignoring=(AssertionError,))

    async def rows_as_before() -> bool:
        # A broker that samples its statistics (RabbitMQ's management API, every 5 s) may still count
        # the tail's own consumer a moment after it closed; a consumer left behind never goes.
        rows = _stable(await adapter.backlog(group=group))
        assert rows == rows_before, f"{rows!r}, not {rows_before!r} as before the tail"
        return True

    await until(rows_as_before, what=f"{group}'s backlog rows as before", timeout=15, ignoring=(AssertionError,))
