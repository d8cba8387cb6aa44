"""Avro payloads read with fastavro (the library confluent-kafka's AvroDeserializer itself uses), with
the writer's schema parsed once per schema id: per message only `schemaless_reader` runs."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import orjson


def avro_reader(schema_text: str, named: dict[str, Any] | None = None) -> tuple[Callable[[bytes], Any], str | None]:
    """A function reading one Avro datum (bare binary, no framing) and the schema's record name.

    The reader refuses bytes left over after the datum: that is what a payload written with another
    schema usually looks like, and showing a half-read record as if it were right would mislead.
    """
    import fastavro

    parsed = fastavro.parse_schema(orjson.loads(schema_text), named_schemas=named if named is not None else {})
    reader = fastavro.schemaless_reader

    def read(data: bytes) -> Any:
        stream = io.BytesIO(data)
        value = reader(stream, parsed, None)
        left = len(data) - stream.tell()
        if left:
            raise ValueError(f"{left} bytes left after the record (written with another schema?)")
        return value

    name = parsed.get("name") if isinstance(parsed, dict) else None
    return read, name
