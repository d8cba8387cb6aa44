"""The adapter registry: what it declares each kind can do is what the adapter class says."""

from __future__ import annotations

import importlib

import pytest

from mqtui.brokers import ADAPTERS

ADAPTER_CLASSES = {
    "kafka": ("mqtui.brokers.kafka.adapter", "KafkaAdapter"),
    "rabbitmq": ("mqtui.brokers.rabbitmq.adapter", "RabbitMQAdapter"),
    "redis": ("mqtui.brokers.redis.adapter", "RedisAdapter"),
    "nats": ("mqtui.brokers.nats.adapter", "NatsAdapter"),
}


def test_every_kind_is_registered() -> None:
    assert sorted(ADAPTERS.kinds()) == sorted(ADAPTER_CLASSES)


@pytest.mark.parametrize("kind", sorted(ADAPTER_CLASSES))
def test_the_declared_capabilities_are_the_adapters(kind: str) -> None:
    module_name, class_name = ADAPTER_CLASSES[kind]
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    assert adapter_class.kind == kind
    assert ADAPTERS.capabilities(kind) == adapter_class.capabilities
