"""A registry's schema (Avro, Protobuf or JSON Schema) made into a `Schema` that reads payloads."""

from __future__ import annotations

from typing import Any

from mqtui.services.decoding.schemas import Schema


def build_schema(registered: Any, schema_id: int, subject: str | None, version: int | None, client: Any) -> Schema:
    """`registered` is confluent-kafka's `Schema` (schema_str, schema_type, references)."""
    kind = (registered.schema_type or "AVRO").upper()
    text: str = registered.schema_str or ""
    if kind == "AVRO":
        from mqtui.services.decoding.avro import avro_reader

        named: dict[str, Any] = {}
        for ref in registered.references or ():  # named types from other subjects, parsed first
            referenced = client.get_version(ref.subject, ref.version)
            avro_reader(referenced.schema.schema_str, named)
        read, name = avro_reader(text, named)
        return Schema("avro", read, schema_id, subject, version, name)
    if kind == "PROTOBUF":
        from confluent_kafka.schema_registry._sync.protobuf import _resolve_named_schema

        from mqtui.services.decoding.protobuf import file_proto, framed_reader, new_pool

        pool = new_pool()
        _resolve_named_schema(registered, client, pool)  # confluent's own walk of the references
        proto = file_proto(f"schema-{schema_id}.proto", text)
        pool.Add(proto)
        read, type_of = framed_reader(pool, proto)
        return Schema("protobuf", read, schema_id, subject, version, type_of=type_of)
    if kind == "JSON":
        from mqtui.services.decoding.json_schema import json_schema_reader

        read, name = json_schema_reader(text)
        return Schema("json-schema", read, schema_id, subject, version, name)
    raise ValueError(f"schema type {kind} is not one mqtui reads")
