"""Local schemas for teams without a registry: a destination glob mapped to an `.avsc`, a `.proto` (+
message name), a descriptor set (+ message name) or a JSON Schema, from the profile.

Each file is read (and a `.proto` compiled) once, the first time a destination needs it, in a worker
thread of the caller's choosing (`load`), never per message. A file that cannot be read becomes a reason
shown beside the raw payload.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from mqtui.config.decoding import LocalSchema
from mqtui.services.decoding.schemas import Schema, Unavailable


class LocalSchemas:
    def __init__(self, mappings: list[LocalSchema]) -> None:
        self.mappings = mappings
        self._by_destination: dict[tuple[str, str], LocalSchema | None] = {}
        self._loaded: dict[LocalSchema, Schema | Unavailable] = {}

    def mapping(self, destination: str, part: str = "value") -> LocalSchema | None:
        """The first mapping whose glob matches, remembered per destination."""
        key = (destination, part)
        if key not in self._by_destination:
            self._by_destination[key] = next(
                (m for m in self.mappings if m.part == part and fnmatch.fnmatchcase(destination, m.destination)), None
            )
        return self._by_destination[key]

    def get(self, mapping: LocalSchema) -> Schema | Unavailable | None:
        """The loaded schema, why it failed, or None when not loaded yet (call `load`)."""
        return self._loaded.get(mapping)

    def load(self, mapping: LocalSchema) -> Schema | Unavailable:
        """Read (and compile) the mapping's file; blocking, so callers run it off the event loop."""
        if mapping not in self._loaded:
            try:
                self._loaded[mapping] = _read(mapping)
            except Exception as exc:  # a bad file is shown as the reason, never raised into a tail
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self._loaded[mapping] = Unavailable(f"local schema {Path(mapping.path).name}: {reason}"[:200])
        return self._loaded[mapping]


def _read(mapping: LocalSchema) -> Schema:
    path = Path(mapping.path).expanduser()
    if mapping.avro:
        from mqtui.services.decoding.avro import avro_reader

        read, name = avro_reader(path.read_text(encoding="utf-8"))
        return Schema("avro", read, name=name or path.name)
    if mapping.json_schema:
        from mqtui.services.decoding.json_schema import json_schema_reader

        read, name = json_schema_reader(path.read_text(encoding="utf-8"))
        return Schema("json-schema", read, name=name or path.name)
    from google.protobuf.descriptor_pb2 import FileDescriptorSet  # type: ignore[import-untyped]

    from mqtui.services.decoding.protobuf import add_files, compile_proto_file, message_reader, new_pool

    if mapping.proto:
        files = compile_proto_file(path, [path.parent])
    else:
        files = FileDescriptorSet()
        files.ParseFromString(path.read_bytes())
    pool = new_pool()
    add_files(pool, list(files.file))
    try:
        descriptor = pool.FindMessageTypeByName(mapping.message or "")
    except KeyError:
        raise ValueError(f"no message {mapping.message!r} in {path.name}") from None
    return Schema("protobuf", message_reader(descriptor), name=mapping.message)
