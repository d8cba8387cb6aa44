"""The gateway and its write policy, on adapters that record what is asked of them (no broker needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

import pytest

from mqtui.brokers import AdapterRegistry
from mqtui.brokers.base import BrokerAdapter
from mqtui.config import BrokerConfig, Config, parse_config
from mqtui.errors import BrokerUnavailable, ConfigError, ReadonlyError, Unsupported
from mqtui.model import BacklogRow, Capability, Destination, DestinationKind
from mqtui.services.gateway import Gateway
from mqtui.services.session import Session

EVENTS: list[str] = []


class Recording(BrokerAdapter[BrokerConfig]):
    """Says what happened to it in EVENTS; `down` brokers refuse to connect."""

    kind: ClassVar[str] = "redis"
    capabilities: ClassVar[Capability] = Capability.PEEK | Capability.PEEK_ONLY_READS | Capability.PURGE

    async def connect(self) -> None:
        EVENTS.append(f"connect {self.name}")
        if self.name.startswith("down"):
            raise BrokerUnavailable(f"{self.name}: cannot reach it")

    async def close(self) -> None:
        EVENTS.append(f"close {self.name}")

    async def destinations(self, *, include_internal: bool = False) -> list[Destination]:
        return [Destination(self.name, "q", DestinationKind.LIST)]

    async def backlog(self, *, group: str | None = None) -> list[BacklogRow]:
        return []

    async def purge(self, destination: str) -> int:
        EVENTS.append(f"purge {destination}")
        return 3

    @property
    def notices(self) -> tuple[str, ...]:
        return (f"{self.name}: scanned part of the keyspace",)


class Queueing(Recording):
    """A broker whose peek has side effects (RabbitMQ-like) and that cannot purge."""

    kind: ClassVar[str] = "rabbitmq"
    capabilities: ClassVar[Capability] = Capability.PEEK


def gateway(*, readonly: bool = False) -> Gateway:
    raw = {"profiles": {"p": {"readonly": readonly, "brokers": [
        {"name": "r", "kind": "redis", "url": "redis://127.0.0.1:1/0"},
        {"name": "rb", "kind": "rabbitmq", "url": "amqp://127.0.0.1:1/"},
        {"name": "down-r", "kind": "redis", "url": "redis://127.0.0.1:2/0"},
    ]}}}  # fmt: skip
    profile = parse_config(raw, Path("test.toml")).profiles["p"]
    registry = AdapterRegistry()
    registry.register("redis", Recording, Recording.capabilities)
    registry.register("rabbitmq", Queueing, Queueing.capabilities)
    EVENTS.clear()
    return Gateway(Session("p", profile, Config(profiles={"p": profile}), Path("test.toml"), adapters=registry))


def test_a_write_runs_on_a_fresh_adapter_closed_afterwards() -> None:
    removed = asyncio.run(gateway().call("r", lambda a: a.purge("q"), writes=Capability.PURGE))
    assert removed == 3
    assert EVENTS == ["connect r", "purge q", "close r"]


def test_readonly_refuses_before_any_adapter_connects() -> None:
    with pytest.raises(ReadonlyError, match=r"^profile 'p' is readonly: purge refused$"):
        asyncio.run(gateway(readonly=True).call("r", lambda a: a.purge("q"), writes=Capability.PURGE))
    assert EVENTS == []


def test_the_refusal_names_the_action_given() -> None:
    with pytest.raises(ReadonlyError, match=r"^profile 'p' is readonly: move all refused$"):
        gateway(readonly=True).check("rb", Capability.MOVE_QUEUE, action="move all")
    with pytest.raises(ReadonlyError, match=r"^profile 'p' is readonly: dlq move refused$"):
        gateway(readonly=True).check("rb", Capability.MOVE_QUEUE)


def test_a_peek_that_only_reads_is_allowed_in_readonly_and_one_that_requeues_is_not() -> None:
    readonly = gateway(readonly=True)
    assert not readonly.writes("r", Capability.PEEK) and readonly.writes("rb", Capability.PEEK)
    readonly.check("r", Capability.PEEK)
    with pytest.raises(ReadonlyError, match="peek refused"):
        readonly.check("rb", Capability.PEEK)


def test_a_missing_capability_is_refused_in_the_adapters_words_and_the_adapter_closed() -> None:
    with pytest.raises(Unsupported, match=r"^rb: rabbitmq cannot purge$"):
        asyncio.run(gateway().call("rb", lambda a: a.purge("q"), writes=Capability.PURGE))
    assert EVENTS == ["connect rb", "close rb"]


def test_a_read_needing_a_capability_is_refused_in_the_adapters_words_even_in_readonly() -> None:
    """`needs` (a read: Capability.GROUPS) is never a readonly refusal, and refused like the adapter would."""
    with pytest.raises(Unsupported, match=r"^rb: rabbitmq cannot describe consumer groups$"):
        asyncio.run(gateway(readonly=True).call("rb", lambda a: a.describe_group("g"), needs=Capability.GROUPS))
    assert EVENTS == ["connect rb", "close rb"]
    with pytest.raises(Unsupported) as adapters_own:
        asyncio.run(gateway().call("rb", lambda a: a.describe_group("g")))
    assert str(adapters_own.value) == "rb: rabbitmq cannot describe consumer groups"


def test_an_unknown_broker_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown broker 'nope'"):
        asyncio.run(gateway().call("nope", lambda a: a.destinations()))


def test_the_fan_out_answers_for_the_brokers_that_answer_and_names_those_that_fail() -> None:
    notices: list[str] = []
    fan_out = asyncio.run(gateway().each(lambda a: a.destinations(), notices=notices.append))
    assert [d[0].broker for d in fan_out.answers] == ["r", "rb"]
    assert [(name, str(error)) for name, error in fan_out.failures] == [("down-r", "down-r: cannot reach it")]
    assert sorted(notices) == ["r: scanned part of the keyspace", "rb: scanned part of the keyspace"]
    assert sorted(e for e in EVENTS if e.startswith("close")) == ["close down-r", "close r", "close rb"]


def test_capabilities_are_known_without_making_an_adapter() -> None:
    gw = gateway()
    assert gw.capabilities("rb") == Capability.PEEK
    assert gw.declared("r").kind == "redis"
    assert EVENTS == []
