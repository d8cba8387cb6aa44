"""`connect` and `close`: what base.py promises of an adapter's lifecycle, for every broker kind."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mqtui.brokers import create_adapter
from mqtui.brokers.base import BrokerAdapter
from mqtui.errors import BrokerError
from tests.contract.worlds import World
from tests.support import until


def adapter_threads() -> set[threading.Thread]:
    """Threads an adapter may start; asyncio's default executor is the event loop's, not the adapter's."""
    return {t for t in threading.enumerate() if not t.name.startswith("asyncio_")}


async def test_close_twice_after_a_connect_is_safe_and_releases_every_thread(world: World) -> None:
    before = adapter_threads()
    adapter = create_adapter(world.config())
    await adapter.connect()
    await adapter.destinations()  # some adapters start their threads on first use
    await adapter.close()
    await adapter.close()
    await until(lambda: adapter_threads() <= before, what=f"{world.kind} adapter threads to end")


async def test_close_twice_after_a_failed_connect_is_safe(world: World) -> None:
    """A connect to ports where nothing listens fails with a BrokerError within the timeout; closing
    after it, twice, raises nothing and leaves no thread behind."""
    config = world.unreachable_config()
    before = adapter_threads()
    adapter = create_adapter(config)
    with pytest.raises(BrokerError):
        await asyncio.wait_for(adapter.connect(), timeout=config.timeout + 5)  # a hang guard, not the promise
    await adapter.close()
    await adapter.close()
    await until(lambda: adapter_threads() <= before, what=f"{world.kind} adapter threads to end")


async def test_a_connected_adapter_used_as_a_context_manager_closes(world: World) -> None:
    async with create_adapter(world.config()) as adapter:
        assert isinstance(adapter, BrokerAdapter)
        await adapter.destinations()
    await adapter.close()  # closing once more after the block is still safe
