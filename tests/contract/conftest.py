"""The contract suite's fixtures: every test here runs once per broker kind in `worlds.WORLDS`.

`world` sets scenes on the kind's real broker (the session's, from tests/conftest.py); `adapter` is that
kind's adapter, built by mqtui's own registry (`mqtui.brokers.create_adapter`) and connected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from mqtui.brokers import create_adapter
from mqtui.brokers.base import BrokerAdapter
from mqtui.demo.localbrokers import LocalBroker
from tests.contract.worlds import WORLDS, World


@pytest.fixture(params=sorted(WORLDS))
def kind(request: pytest.FixtureRequest) -> str:
    """A broker kind: the id that `-k kafka` picks."""
    return str(request.param)


@pytest.fixture
def server(kind: str, request: pytest.FixtureRequest) -> LocalBroker:
    """The session's broker of this kind, started on first use."""
    broker: LocalBroker = request.getfixturevalue(WORLDS[kind].server_fixture)
    return broker


@pytest_asyncio.fixture(loop_scope="function")
async def world(kind: str, server: LocalBroker) -> AsyncIterator[World]:
    made = WORLDS[kind](server)
    await made.open()
    try:
        yield made
    finally:
        await made.close()


@pytest_asyncio.fixture(loop_scope="function")
async def adapter(world: World) -> AsyncIterator[BrokerAdapter[Any]]:
    connected = create_adapter(world.config())
    await connected.connect()
    try:
        yield connected
    finally:
        await connected.close()
