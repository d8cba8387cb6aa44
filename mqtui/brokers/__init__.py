"""Broker adapters, one package per broker, behind `mqtui.brokers.base.BrokerAdapter`.

Modules are imported on first use so that `mqtui --help` never loads a broker client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mqtui.brokers.base import BrokerAdapter
    from mqtui.config import BrokerConfig

_ADAPTERS = {
    "kafka": ("mqtui.brokers.kafka.adapter", "KafkaAdapter"),
    "rabbitmq": ("mqtui.brokers.rabbitmq.adapter", "RabbitMQAdapter"),
    "redis": ("mqtui.brokers.redis.adapter", "RedisAdapter"),
    "nats": ("mqtui.brokers.nats.adapter", "NatsAdapter"),
}


def create_adapter(config: BrokerConfig) -> BrokerAdapter:
    module_name, class_name = _ADAPTERS[config.kind]
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    return adapter_class(config)
