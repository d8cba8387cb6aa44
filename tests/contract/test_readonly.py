"""Readonly: a readonly profile refuses every write through the gateway, before any connection.

SAFETY.md, "Readonly": every action that changes a broker or its consumers is refused before a
connection is made; a Redis peek (a plain LRANGE/XRANGE, Capability.PEEK_ONLY_READS) is no write and
runs. The broker's state is read with the world's own client before and after: it must not move.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from mqtui.brokers import ADAPTERS, AdapterRegistry
from mqtui.brokers.base import BrokerAdapter
from mqtui.config import BrokerConfig
from mqtui.errors import ReadonlyError
from mqtui.model import WRITE_ACTIONS, Capability
from mqtui.services.gateway import Gateway
from mqtui.services.session import open_session
from tests.contract.calls import CALLS, Scene
from tests.contract.worlds import World
from tests.helpers import write_config

WRITES = [flag for flag in CALLS if flag & WRITE_ACTIONS]


def test_every_write_action_has_a_contract_call() -> None:
    assert {flag for flag in Capability if flag & WRITE_ACTIONS} == set(WRITES)


@pytest.mark.parametrize("capability", WRITES, ids=lambda flag: flag.name.lower())
async def test_a_readonly_profile_refuses_every_write_before_connecting(
    world: World, tmp_path: Path, capability: Capability
) -> None:
    scene = Scene(world)
    await scene.make_all()
    before = await scene.state()

    entry = world.entry()
    path = write_config(tmp_path / "config.toml", {"ro": {"readonly": True, "brokers": [entry]}})
    connects: list[str] = []

    def counting(config: BrokerConfig) -> BrokerAdapter[Any]:
        adapter = ADAPTERS.create(config)
        connect = adapter.connect

        async def counted() -> None:
            connects.append(config.name)
            await connect()

        adapter.connect = counted  # type: ignore[method-assign]
        return adapter

    registry = AdapterRegistry()  # the real adapters, each counting its connections
    registry.register(world.kind, counting, ADAPTERS.capabilities(world.kind))
    gateway = Gateway(dataclasses.replace(open_session(path, "ro"), adapters=registry))
    ran: list[Capability] = []

    async def op(adapter: BrokerAdapter[Any]) -> object:
        ran.append(capability)
        return await CALLS[capability](adapter, scene)

    if capability is Capability.PEEK and ADAPTERS.capabilities(world.kind) & Capability.PEEK_ONLY_READS:
        await gateway.call(entry["name"], op, writes=capability)  # a read: allowed, and it changes nothing
        assert ran == [capability]
    else:
        with pytest.raises(ReadonlyError, match="readonly"):
            await gateway.call(entry["name"], op, writes=capability)
        assert (connects, ran) == ([], []), "refused only after connecting"
    assert await scene.state() == before
