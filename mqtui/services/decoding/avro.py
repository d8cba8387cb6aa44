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
    if _zero_width_items(parsed, {}):
        raise ValueError("an array of items that take no bytes (null, empty records): a hostile count "
                         "would hold the reader for ever, so this schema is not read")  # fmt: skip
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


def _zero_width(schema: Any, names: dict[str, Any]) -> bool:
    """Whether a value of `schema` takes no bytes at all (null, fixed of size 0, a record of such)."""
    if isinstance(schema, str):
        return schema == "null" or (schema in names and _zero_width(names[schema], names))
    if isinstance(schema, dict):
        kind = schema.get("type")
        if kind == "fixed":
            return schema.get("size") == 0
        if kind in ("record", "error"):
            names.setdefault(schema.get("name", ""), schema)
            return all(_zero_width(f["type"], names) for f in schema.get("fields", []))
        return isinstance(kind, (str, dict)) and kind not in ("array", "map", "enum") and _zero_width(kind, names)
    return False  # a union writes its branch index: at least one byte


def _zero_width_items(schema: Any, names: dict[str, Any], seen: set[int] | None = None) -> bool:
    """Whether any array in `schema` holds zero-width items: its block count alone decides how long
    reading takes, and a payload can claim 2**63 of them in ten bytes."""
    seen = set() if seen is None else seen
    if id(schema) in seen:
        return False
    seen.add(id(schema))
    if isinstance(schema, list):
        return any(_zero_width_items(branch, names, seen) for branch in schema)
    if not isinstance(schema, dict):
        return False
    kind = schema.get("type")
    if kind in ("record", "error"):
        names.setdefault(schema.get("name", ""), schema)
        return any(_zero_width_items(f["type"], names, seen) for f in schema.get("fields", []))
    if kind == "array":
        return _zero_width(schema["items"], names) or _zero_width_items(schema["items"], names, seen)
    if kind == "map":
        return _zero_width_items(schema["values"], names, seen)
    return isinstance(kind, (dict, list)) and _zero_width_items(kind, names, seen)
