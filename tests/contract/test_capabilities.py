"""Capabilities: an adapter raises `Unsupported` exactly for the methods whose capability flag it lacks.

The UI offers an action only where the flag is set, so a flag set over a method that refuses is a
dead key, and a method that works without its flag is an action nobody can reach. Where the flag is set
and one destination or start cannot be served, the refusal is `NotPossible`, naming the broker.
"""

from __future__ import annotations

from typing import Any

import pytest

from mqtui.brokers import ADAPTERS, create_adapter
from mqtui.brokers.base import BrokerAdapter
from mqtui.errors import NotPossible, Unsupported
from mqtui.model import Capability
from tests.contract.calls import CALLS, PLANS, QUALIFIERS, REFUSED_HERE, UNGATED, Scene
from tests.contract.worlds import World


def test_every_capability_has_a_contract_call() -> None:
    every = {flag for flag in Capability if flag is not Capability.NONE}
    assert every - set(CALLS) - set(QUALIFIERS) == set(), "add the new capability's call to tests/contract/calls.py"


@pytest.mark.parametrize("capability", list(CALLS), ids=lambda flag: flag.name.lower())
async def test_unsupported_exactly_where_the_flag_is_missing(
    adapter: BrokerAdapter[Any], world: World, capability: Capability
) -> None:
    call, scene = CALLS[capability], Scene(world)
    if adapter.can(capability):
        try:
            await call(adapter, scene)
        except Unsupported as refused:
            pytest.fail(f"{world.kind} declares {capability.name} but refused: {refused}")
    else:
        with pytest.raises(Unsupported) as raised:
            await call(adapter, scene)
        assert str(raised.value).startswith(f"{adapter.name}: "), "an Unsupported names its broker"


@pytest.mark.parametrize("kind", sorted(REFUSED_HERE), indirect=True)
async def test_a_refusal_of_one_destination_or_start_is_not_possible_naming_the_broker(
    adapter: BrokerAdapter[Any], world: World
) -> None:
    capability, call = REFUSED_HERE[world.kind]
    assert adapter.can(capability), f"{world.kind}: the call's capability is declared, so this is no Unsupported"
    with pytest.raises(NotPossible) as raised:
        await call(adapter, Scene(world))
    assert str(raised.value).startswith(f"{adapter.name}: "), "a NotPossible names its broker"


def test_the_registry_declares_what_the_adapter_class_does(world: World) -> None:
    """The gateway and the UI read a kind's capabilities from the registry, without making an adapter."""
    assert ADAPTERS.capabilities(world.kind) == type(create_adapter(world.config())).capabilities


@pytest.mark.parametrize("capability", list(PLANS), ids=lambda flag: f"plan_{flag.name.lower()}")
async def test_a_dry_run_refuses_exactly_where_its_action_does(
    adapter: BrokerAdapter[Any], world: World, capability: Capability
) -> None:
    plan, scene = PLANS[capability], Scene(world)
    if adapter.can(capability):
        await plan(adapter, scene)
    else:
        with pytest.raises(Unsupported):
            await plan(adapter, scene)


@pytest.mark.parametrize("method", list(UNGATED))
async def test_a_method_no_flag_gates_never_refuses(
    adapter: BrokerAdapter[Any], world: World, method: str, request: pytest.FixtureRequest
) -> None:
    """Nothing tells the UI not to offer these, so an Unsupported from one is an action that fails."""
    if method in world.known_breaks:
        reason = f"{world.kind}: {world.known_breaks[method]}"
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True, raises=pytest.fail.Exception))
    try:
        await UNGATED[method](adapter, Scene(world))
    except Unsupported as refused:
        pytest.fail(f"{world.kind}: {method} refused, yet no capability flag says it cannot: {refused}")
