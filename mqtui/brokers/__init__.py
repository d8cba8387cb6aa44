"""Broker adapters, one package per broker, behind `mqtui.brokers.base.BrokerAdapter`, and the registry
that says which adapter serves each broker kind.

Adapter modules are imported on first use so that `mqtui --help` never loads a broker client.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mqtui.brokers.base import BrokerAdapter
    from mqtui.config import BrokerConfig

AdapterFactory = Callable[["BrokerConfig"], "BrokerAdapter[Any]"]
"""Builds the (not yet connected) adapter of one broker from its config."""


def _imported(module_name: str, class_name: str) -> AdapterFactory:
    """A factory that imports its adapter's module on first use."""

    def create(config: BrokerConfig) -> BrokerAdapter[Any]:
        adapter_class: Callable[[BrokerConfig], BrokerAdapter[Any]] = getattr(
            importlib.import_module(module_name), class_name
        )
        return adapter_class(config)

    return create


_FACTORIES: dict[str, AdapterFactory] = {
    "kafka": _imported("mqtui.brokers.kafka.adapter", "KafkaAdapter"),
    "rabbitmq": _imported("mqtui.brokers.rabbitmq.adapter", "RabbitMQAdapter"),
    "redis": _imported("mqtui.brokers.redis.adapter", "RedisAdapter"),
    "nats": _imported("mqtui.brokers.nats.adapter", "NatsAdapter"),
}


def register_adapter(kind: str, factory: AdapterFactory) -> AdapterFactory | None:
    """Make `factory` build the adapters of broker `kind`; returns the factory it replaced, if any."""
    previous = _FACTORIES.get(kind)
    _FACTORIES[kind] = factory
    return previous


def create_adapter(config: BrokerConfig) -> BrokerAdapter[Any]:
    """The adapter registered for `config.kind`, not connected yet."""
    return _FACTORIES[config.kind](config)
