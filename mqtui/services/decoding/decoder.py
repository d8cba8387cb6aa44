"""The decoder every broker's messages go through: framed registry payloads, local schemas, then
schema-less encodings, as `--decode none|auto|FORMAT` says.

Decoding is a read of bytes already in memory: `decode_batch` never waits for a registry. Schemas it
lacks are fetched in the cache's threads (`SchemaCache`), local schema files are read in a worker
thread by `prepare`, and until then those messages carry a `Decoded` with the reason, over their raw
bytes. The CLI calls `prepare` with a wait (its first lines come out decoded), the console without.
Per message the framed path is one dict look-up, the schema's reader and one `Decoded`: the decoded
`tail --json` of a million Avro messages is measured against confluent-kafka's own deserializer
(`bench/decode_tail.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from mqtui.config.decoding import DECODE_FORMATS, LocalSchema
from mqtui.model import Decoded, Message
from mqtui.safetext import safe_line
from mqtui.services.decoding import plain
from mqtui.services.decoding.envelopes import envelope_of, envelope_summary
from mqtui.services.decoding.json_schema import SchemaMismatch
from mqtui.services.decoding.local import LocalSchemas
from mqtui.services.decoding.registry import SchemaCache
from mqtui.services.decoding.schemas import Schema, Unavailable
from mqtui.services.decoding.wire import HEADER, MAGIC

MODES = ("auto", "none", *DECODE_FORMATS)
TAIL_WAIT = 0.3
"""Seconds a live tail's batch may wait for a schema it has not got: its first messages of a new schema
come out decoded, and a registry that is down or slow costs the tail this once per id (per 30 s)."""
_SCHEMA_FORMATS = ("avro", "protobuf", "json-schema")


class Decoder:
    def __init__(
        self, mode: str = "auto", registry: SchemaCache | None = None, local: LocalSchemas | None = None
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown decoding {mode!r} (one of: {', '.join(MODES)})")
        self.mode = mode
        self.registry = registry
        self.local = local or LocalSchemas([])
        self._ready: dict[int, Schema] = {}
        """Schemas by id once fetched: the hot path's only look-up."""

    @property
    def active(self) -> bool:
        return self.mode != "none"

    @property
    def schema_wait(self) -> float:
        """How long a one-off read (a CLI batch, a DLQ) waits for the schemas it needs: the registry's
        own timeout. A live tail waits at most TAIL_WAIT."""
        return self.registry.config.timeout if self.registry is not None else 0.0

    # -- the hot path ------------------------------------------------------------------------------

    def decode_batch(self, messages: Sequence[Message]) -> Sequence[Message]:
        """Every message decoded; in `auto` mode without local schemas a payload whose first byte
        cannot start anything `read` decodes (plain text, mostly) is passed over at the cost of one
        table look-up, so a tail of text pays next to nothing for decoding."""
        if self.mode == "none":
            return messages
        decode = self.decode
        if self.mode != "auto" or self.local.mappings:
            return [decode(m) for m in messages]
        worth, maybe = plain.WORTH_A_LOOK, plain.maybe_envelope
        return [
            decode(m) if (m.value and (look := worth[m.value[0]]) and (look == 1 or maybe(m.value)))
            or (m.key and not m.key[0]) else m
            for m in messages
        ]  # fmt: skip

    def decode(self, message: Message) -> Message:
        """`message` with `decoded` (and `decoded_key` for a framed or mapped key) set; the same
        object when there is nothing to decode (plain text, opaque bytes)."""
        if self.mode == "none":
            return message
        value = self.read(message.destination, message.value)
        key = message.key
        decoded_key = None
        if key is not None and (key[:1] == b"\x00" or self.local.mappings):
            decoded_key = self.read_key(message.destination, key)
        if value is None and decoded_key is None:
            return message
        m = message
        return Message(m.broker, m.destination, m.partition, m.position, m.timestamp, m.key, m.value, m.headers,
                       m.redelivered, value, decoded_key)  # fmt: skip

    def read(self, destination: str, data: bytes) -> Decoded | None:
        """A value decoded as the mode says, or None (nothing to decode: shown as text or hex)."""
        if len(data) >= HEADER and data[0] == MAGIC and (self.registry is not None or self.mode in _SCHEMA_FORMATS):
            return self._framed(data)
        mode = self.mode
        if self.local.mappings:
            mapping = self.local.mapping(destination)
            if mapping is not None and mode in ("auto", mapping.kind):
                return self._mapped(mapping, data)
        if mode == "auto":
            found = plain.detect(data)
            if found is not None and found.value.__class__ is dict:
                kind = envelope_of(found.value)
                if kind is not None:
                    return Decoded(found.format, found.value, envelope=kind)
            if found is None and len(data) >= HEADER and data[0] == MAGIC and self.registry is None:
                schema_id = int.from_bytes(data[1:HEADER], "big")
                return Decoded("raw", error=f"framed for a schema registry (schema id {schema_id}), "
                                            "but the profile names no schema_registry")  # fmt: skip
            return found
        if mode in _SCHEMA_FORMATS:
            return Decoded(mode, error=f"not {mode}: no registry framing and no local schema for {destination}")
        return plain.forced(mode, data)

    def read_key(self, destination: str, key: bytes) -> Decoded | None:
        if len(key) >= HEADER and key[0] == MAGIC and self.registry is not None:
            return self._framed(key)
        mapping = self.local.mapping(destination, "key") if self.local.mappings else None
        return self._mapped(mapping, key) if mapping is not None else None

    def _framed(self, data: bytes) -> Decoded:
        schema_id = int.from_bytes(data[1:HEADER], "big")
        schema = self._ready.get(schema_id)
        if schema is None:
            if self.registry is None:
                return Decoded(
                    "raw", schema_id=schema_id, error="framed payload, but the profile names no schema_registry"
                )
            found = self.registry.get(schema_id)
            if found is None:
                return Decoded("raw", schema_id=schema_id, error=f"fetching schema {schema_id} from the registry")
            if isinstance(found, Unavailable):
                return Decoded("raw", schema_id=schema_id, error=found.reason)
            self._ready[schema_id] = schema = found
        try:
            payload = data[HEADER:]
            value = schema.read(payload)
            name = schema.type_of(payload) if schema.type_of is not None else schema.name
        except Exception as exc:
            return _failed(schema, exc, schema_id)
        return Decoded(schema.format, value, schema_id, schema.subject, schema.version, name,
                       envelope_of(value) if value.__class__ is dict else None)  # fmt: skip

    def _mapped(self, mapping: LocalSchema, data: bytes) -> Decoded:
        found = self.local.get(mapping)
        if found is None:
            return Decoded("raw", error=f"loading local schema {mapping.path}")
        if isinstance(found, Unavailable):
            return Decoded("raw", error=found.reason)
        try:
            value = found.read(data)
        except Exception as exc:
            return _failed(found, exc, None)
        return Decoded(found.format, value, schema_name=found.name,
                       envelope=envelope_of(value) if value.__class__ is dict else None)  # fmt: skip

    # -- off the hot path ----------------------------------------------------------------------------

    async def prepare(self, messages: Iterable[Message], wait: float) -> None:
        """Start fetching the schemas `messages` need and load their local schema files; wait up to
        `wait` seconds for the fetches (0: do not wait; the messages show raw meanwhile)."""
        if self.mode == "none":
            return
        wanted: set[int] = set()
        mappings: set[LocalSchema] = set()
        for message in messages:
            for data in (message.value, message.key):
                if data is not None and len(data) >= HEADER and data[0] == MAGIC:
                    schema_id = int.from_bytes(data[1:HEADER], "big")
                    if schema_id not in self._ready:
                        wanted.add(schema_id)
            if self.local.mappings:
                for part in ("value", "key"):
                    mapping = self.local.mapping(message.destination, part)
                    if mapping is not None and self.local.get(mapping) is None:
                        mappings.add(mapping)
        if self.registry is not None and wanted:
            for schema_id in wanted:
                self.registry.get(schema_id)
            if wait > 0:
                await self.registry.wait(wanted, wait)
        for mapping in mappings:
            await asyncio.to_thread(self.local.load, mapping)

    def close(self) -> None:
        if self.registry is not None:
            self.registry.close()


def _failed(schema: Schema, exc: Exception, schema_id: int | None) -> Decoded:
    """A payload its schema could not read: the raw bytes stay, with one line saying why."""
    if isinstance(exc, SchemaMismatch):
        return Decoded(schema.format, exc.value, schema_id, schema.subject, schema.version, schema.name, error=str(exc))
    what = schema.subject or schema.name or (f"schema {schema_id}" if schema_id is not None else "its schema")
    reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
    if isinstance(exc, (EOFError, StopIteration, IndexError)):
        reason = "truncated"
    return Decoded("raw", schema_id=schema_id, schema_subject=schema.subject, schema_version=schema.version,
                   error=f"not readable as {schema.format} {what}: {reason}")  # fmt: skip


def summary_line(decoded: Decoded) -> str:
    """A decoded payload on one line, before `safetext` makes it safe: "[avro] {...}", "[json
    dead-letter] retries 3 · timeout · {...}", "[! reason]" when it failed (the caller adds the raw text)."""
    import orjson

    from mqtui.jsonl import json_default

    if not decoded.ok:
        return f"[! {decoded.error}]"
    summary = envelope_summary(decoded.value) if decoded.envelope else None
    tag = decoded.format + (f" {decoded.envelope}" if decoded.envelope else "")
    body = orjson.dumps(decoded.value, default=json_default).decode("utf-8")
    return f"[{tag}] " + (f"{summary} · " if summary else "") + body


def describe(value: Any) -> str:
    """A decoded tree as indented JSON text for the detail view (bytes, times and decimals as text)."""
    import orjson

    from mqtui.jsonl import json_default

    return orjson.dumps(value, default=json_default, option=orjson.OPT_INDENT_2).decode("utf-8")


def payload_line(message: Message, width: int) -> str:
    """A payload on one line, safe to show, for a console row and a CLI line alike: "[avro] {...}" when
    decoded, "[! reason] raw text" when decoding failed, and the raw text when there was nothing to decode."""
    decoded = message.decoded
    if decoded is None:
        return safe_line(message.value, width)
    if not decoded.ok:
        return f"{safe_line(summary_line(decoded), 120)} {safe_line(message.value, width)}"
    return safe_line(summary_line(decoded), width)
