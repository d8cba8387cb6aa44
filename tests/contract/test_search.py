"""Search: every adapter plans a range and reads exactly what its destination held, in order, and a
destination that does not exist is NotFound before anything is read (the CLI's one line, exit 2)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from mqtui.brokers.base import BrokerAdapter
from mqtui.errors import NotFound
from mqtui.model import Message, StartPosition
from mqtui.services.search.expression import compile_expression
from mqtui.services.search.service import SearchRequest, plan, run_search
from tests.contract.worlds import World

BOUNDED = 20.0


async def test_a_search_reads_what_the_destination_held_and_says_so(adapter: BrokerAdapter[Any], world: World) -> None:
    destination = await world.destination()
    bodies = [json.dumps({"n": n, "order_id": 4711 if n in (2, 5) else n}).encode() for n in range(7)]
    await world.publish(destination, bodies)
    request = SearchRequest(destination, compile_expression(".value.order_id == 4711"))
    planned = await plan(adapter, request)
    assert planned.hazard is None, "a world's destination is read without side effects"
    read = [m async for batch in adapter.read_range(planned) for m in batch]
    assert [m.value for m in read] == bodies
    found: list[Message] = []
    coverage = await asyncio.wait_for(run_search(adapter, request, planned, on_matches=found.extend), BOUNDED)
    assert [json.loads(m.value)["n"] for m in found] == [2, 5]
    assert coverage.line.startswith(f"scanned 7 of 7 messages in {destination} (everything it held)"), coverage.line
    assert coverage.line.endswith(", 2 matched"), coverage.line


async def test_a_missing_destination_is_not_found_before_reading(adapter: BrokerAdapter[Any], world: World) -> None:
    with pytest.raises(NotFound):
        await adapter.plan_range(world.unique("gone"), start=StartPosition("beginning"), end=None)
