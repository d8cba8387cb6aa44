"""`publish --schema SUBJECT[:VERSION]`: JSON values encoded in a registered subject's format by
confluent-kafka's own serializers, so test messages go out exactly as a producing service writes them.

The subject's schema (latest or the given version) is fetched once; its id is given to the serializer
(`use.schema.id`), so nothing is registered. Protobuf gets its message class built from the registry's
schema, as decoding does (no generated classes); the JSON is parsed into the file's first message type.
"""

from __future__ import annotations

import asyncio
import dataclasses
import decimal
import json
from typing import Any

import orjson

from mqtui.config import BrokerConfig, Profile
from mqtui.config.decoding import SchemaRegistryConfig
from mqtui.errors import UsageError
from mqtui.model import OutgoingMessage
from mqtui.services.decoding.registry import SchemaCache


async def encode_messages(
    profile: Profile, broker: BrokerConfig, destination: str, subject: str, messages: list[OutgoingMessage]
) -> list[OutgoingMessage]:
    """Each message's JSON value encoded with `subject`'s schema (the broker's registry, else the
    profile's), in a thread: the registry client blocks. For the CLI's `publish --schema` and the
    console's publish form alike."""
    config = broker.schema_registry or profile.schema_registry
    if config is None:
        raise UsageError(f"a schema subject needs a schema_registry in the profile or in broker {broker.name}")
    values = await asyncio.to_thread(encode_values, config, subject, destination, [m.value for m in messages])
    return [dataclasses.replace(m, value=v) for m, v in zip(messages, values, strict=True)]


def parse_subject(text: str) -> tuple[str, int | None]:
    """`SUBJECT` or `SUBJECT:VERSION` (a subject may hold ':' itself: only a numeric tail is a version)."""
    subject, sep, version = text.rpartition(":")
    if sep and version.isdigit() and subject:
        return subject, int(version)
    if sep and version == "latest" and subject:
        return subject, None
    return text, None


def encode_values(
    config: SchemaRegistryConfig, subject_text: str, destination: str, values: list[bytes]
) -> list[bytes]:
    """Each JSON value encoded with the subject's schema; blocking (registry I/O): run off the loop.
    A value its schema refuses is a UsageError naming the message, before anything is sent."""
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.serialization import MessageField, SerializationContext

    subject, version = parse_subject(subject_text)
    cache = SchemaCache(config)
    try:
        client = cache.client()
        try:
            found = client.get_version(subject, version) if version else client.get_latest_version(subject)
        except SchemaRegistryError as exc:
            raise UsageError(f"--schema {subject_text}: the schema registry answered {exc.http_status_code}: "
                             f"{exc.error_message}") from None  # fmt: skip
        except Exception as exc:
            raise UsageError(
                f"--schema {subject_text}: the schema registry is unreachable ({type(exc).__name__})"
            ) from None
        serialize = _serializer(found, client, subject)
        context = SerializationContext(destination, MessageField.VALUE)
        encoded = []
        avro = (found.schema.schema_type or "AVRO").upper() == "AVRO"
        for index, value in enumerate(values):
            try:
                # Avro decimals need exact numbers: "19.99" as a JSON number stays 19.99, not 19.989999...
                tree = json.loads(value, parse_float=decimal.Decimal) if avro else orjson.loads(value)
            except (ValueError, orjson.JSONDecodeError) as exc:
                raise UsageError(f"message {index + 1}: --schema needs a JSON value ({exc})") from None
            try:
                encoded.append(serialize(tree, context))
            except Exception as exc:
                reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                raise UsageError(f"message {index + 1} does not fit {subject_text}: {reason}") from None
        return encoded
    finally:
        cache.close()


def _serializer(found: Any, client: Any, subject: str) -> Any:
    conf = {"auto.register.schemas": False, "use.schema.id": found.schema_id,
            "subject.name.strategy": lambda ctx, name: subject}  # fmt: skip
    kind = (found.schema.schema_type or "AVRO").upper()
    text = found.schema.schema_str
    if kind == "AVRO":
        from confluent_kafka.schema_registry.avro import AvroSerializer

        return AvroSerializer(client, text, conf=conf)
    if kind == "JSON":
        from confluent_kafka.schema_registry.json_schema import JSONSerializer

        return JSONSerializer(text, client, conf=conf)
    if kind == "PROTOBUF":
        from confluent_kafka.schema_registry._sync.protobuf import _resolve_named_schema
        from confluent_kafka.schema_registry.protobuf import ProtobufSerializer

        from mqtui.services.decoding.protobuf import file_proto, first_message_class, from_tree, new_pool

        pool = new_pool()
        _resolve_named_schema(found.schema, client, pool)
        proto = file_proto(f"{subject}.proto", text)
        pool.Add(proto)
        cls = first_message_class(pool, proto)
        serializer = ProtobufSerializer(cls, client, {**conf, "use.deprecated.format": False})
        return lambda tree, context: serializer(from_tree(tree, cls), context)
    raise UsageError(f"--schema: schema type {kind} is not one mqtui encodes")
