"""Fixtures for decoding: the tests' minimal schema registry and payloads made by confluent-kafka's own
serializers (`AvroSerializer`, `ProtobufSerializer`, `JSONSerializer`) against it, so the bytes are the
real library's; `shop.proto` is compiled here (grpcio-tools) into a message class, as a team would."""

from __future__ import annotations

import decimal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.registry import Registry, start_registry

HERE = Path(__file__).parent
JSON_SCHEMA = (
    '{"title": "Payment", "type": "object", "properties": {"id": {"type": "integer"}, "amount": {"type": "number"}},'
    ' "required": ["id"]}'
)


@dataclass
class Encoders:
    """Serializers bound to the test registry; each call registers its subject as confluent-kafka does."""

    registry: Registry
    client: Any
    order_class: Any

    def _ctx(self, topic: str) -> Any:
        from confluent_kafka.serialization import MessageField, SerializationContext

        return SerializationContext(topic, MessageField.VALUE)

    def avro(self, topic: str, value: dict[str, Any]) -> bytes:
        from confluent_kafka.schema_registry.avro import AvroSerializer

        return AvroSerializer(self.client, (HERE / "order.avsc").read_text())(value, self._ctx(topic))

    def protobuf(self, topic: str, **fields: Any) -> bytes:
        from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

        serializer = ProtobufSerializer(self.order_class, self.client, {"use.deprecated.format": False})
        return serializer(self.order_class(**fields), self._ctx(topic))

    def json_schema(self, topic: str, value: dict[str, Any]) -> bytes:
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        return JSONSerializer(JSON_SCHEMA, self.client)(value, self._ctx(topic))


def order_class() -> Any:
    """`shop.Order` from shop.proto, compiled at run time (no generated module)."""
    from google.protobuf.message_factory import GetMessageClass

    from mqtui.services.decoding.protobuf import add_files, compile_proto_file, new_pool

    pool = new_pool()
    add_files(pool, list(compile_proto_file(HERE / "shop.proto", [HERE]).file))
    return GetMessageClass(pool.FindMessageTypeByName("shop.Order"))


@pytest.fixture(scope="session")
def registry() -> Iterator[Registry]:
    started = start_registry()
    yield started
    started.stop()


def make_encoders(registry: Registry) -> Encoders:
    from confluent_kafka.schema_registry import SchemaRegistryClient

    return Encoders(registry, SchemaRegistryClient({"url": registry.url}), order_class())


@pytest.fixture(scope="session")
def encoders(registry: Registry) -> Encoders:
    return make_encoders(registry)


AVRO_ORDER = {"id": 7, "item": "kettle", "price": decimal.Decimal("19.99")}
