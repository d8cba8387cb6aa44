"""Broker adapters, one package per broker, behind `mqtui.brokers.base.BrokerAdapter`, and the registry
that says which adapter serves each broker kind.

Adapter modules are imported on first use so that `mqtui --help` never loads a broker client, and the
console draws its first frame before any client library is loaded: what each kind's adapter can do is
declared beside its entry here (a test holds it equal to the adapter class's `capabilities`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mqtui.model import Capability

if TYPE_CHECKING:
    from mqtui.brokers.base import BrokerAdapter
    from mqtui.config import BrokerConfig

AdapterFactory = Callable[["BrokerConfig"], "BrokerAdapter[Any]"]
"""Builds the (not yet connected) adapter of one broker from its config."""


@dataclass(frozen=True, slots=True)
class Registered:
    """How adapters of one broker kind are made, and what they can do (known without making one)."""

    factory: AdapterFactory
    capabilities: Capability


class AdapterRegistry:
    """Broker kind -> the adapter serving it. `ADAPTERS` holds the real ones; a look test's session
    gets a registry of fakes, registered the same way."""

    def __init__(self) -> None:
        self._kinds: dict[str, Registered] = {}

    def register(self, kind: str, factory: AdapterFactory, capabilities: Capability) -> None:
        """Make `factory` build the adapters of `kind`, which can do `capabilities`."""
        self._kinds[kind] = Registered(factory, capabilities)

    def kinds(self) -> list[str]:
        return list(self._kinds)

    def capabilities(self, kind: str) -> Capability:
        """What an adapter of `kind` can do, without importing its module."""
        return self._kinds[kind].capabilities

    def create(self, config: BrokerConfig) -> BrokerAdapter[Any]:
        """The adapter registered for `config.kind`, not connected yet."""
        return self._kinds[config.kind].factory(config)


def imported(module_name: str, class_name: str) -> AdapterFactory:
    """A factory that imports its adapter's module on first use."""

    def create(config: BrokerConfig) -> BrokerAdapter[Any]:
        adapter_class: Callable[[BrokerConfig], BrokerAdapter[Any]] = getattr(
            importlib.import_module(module_name), class_name
        )
        return adapter_class(config)

    return create


ADAPTERS = AdapterRegistry()
ADAPTERS.register(
    "kafka",
    imported("mqtui.brokers.kafka.adapter", "KafkaAdapter"),
    Capability.TAIL | Capability.PUBLISH | Capability.REPLAY | Capability.RESET_OFFSETS | Capability.GROUPS,
)
ADAPTERS.register(
    "rabbitmq",
    imported("mqtui.brokers.rabbitmq.adapter", "RabbitMQAdapter"),
    Capability.TAIL
    | Capability.PEEK
    | Capability.PUBLISH
    | Capability.REPLAY
    | Capability.DELETE_DEAD_LETTER
    | Capability.PURGE
    | Capability.MOVE_QUEUE
    | Capability.SERVER_VIEW,
)
ADAPTERS.register(
    "redis",
    imported("mqtui.brokers.redis.adapter", "RedisAdapter"),
    Capability.TAIL
    | Capability.PEEK
    | Capability.PEEK_ONLY_READS
    | Capability.PUBLISH
    | Capability.REPLAY
    | Capability.DELETE_DEAD_LETTER
    | Capability.PURGE
    | Capability.GROUPS,
)
ADAPTERS.register(
    "nats",
    imported("mqtui.brokers.nats.adapter", "NatsAdapter"),
    Capability.TAIL
    | Capability.PUBLISH
    | Capability.REPLAY
    | Capability.DELETE_DEAD_LETTER
    | Capability.PURGE
    | Capability.REQUEST
    | Capability.SERVER_VIEW
    | Capability.GROUPS,
)


def create_adapter(config: BrokerConfig) -> BrokerAdapter[Any]:
    """The real adapter for `config.kind`, not connected yet."""
    return ADAPTERS.create(config)
