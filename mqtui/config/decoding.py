"""The config keys of payload decoding: a schema registry, and local schemas for teams without one.

Both may be set per broker or per profile (a broker's own wins). They only say where schemas are; the
decoding itself is `mqtui/services/decoding/`. Files are checked when used, not at load, so a profile
whose schema file moved still opens and shows the messages raw with the reason.
"""

from __future__ import annotations

import math
from typing import Literal

import msgspec

from mqtui.config.credentials import redact_url
from mqtui.config.urls import HTTP, check_one_url, invalid

DECODE_FORMATS = (
    "avro", "protobuf", "json-schema", "json", "msgpack", "cbor", "gzip", "zstd", "snappy", "lz4", "base64", "text",
)  # fmt: skip
"""What `--decode FORMAT` may name besides `auto` and `none`."""


class SchemaRegistryConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """A Confluent-compatible schema registry (Confluent, Karapace, Redpanda, Apicurio's ccompat API)."""

    url: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout: float = 5.0
    """Seconds a schema fetch may take; meanwhile (and after) messages of that schema are shown raw."""

    def __post_init__(self) -> None:
        check_one_url("schema_registry.url", self.url, HTTP)
        if not (math.isfinite(self.timeout) and 0 < self.timeout <= 600):
            raise invalid("schema_registry.timeout", "must be a number of seconds above 0 and at most 600")

    def __repr__(self) -> str:
        return f"SchemaRegistryConfig(url={redact_url(self.url)!r}, password='***')"


class LocalSchema(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """Destinations matching `destination` (a glob) carry payloads written with one local schema."""

    destination: str
    avro: str | None = None
    """An `.avsc` file: payloads are bare Avro binary (no registry framing)."""
    proto: str | None = None
    """A `.proto` file, compiled when first needed (grpcio-tools); `message` names the type."""
    descriptor_set: str | None = None
    """A descriptor set (`protoc --include_imports --descriptor_set_out=...`); `message` names the type."""
    message: str | None = None
    json_schema: str | None = None
    part: Literal["value", "key"] = "value"

    def __post_init__(self) -> None:
        given = [k for k in ("avro", "proto", "descriptor_set", "json_schema") if getattr(self, k)]
        if len(given) != 1:
            raise invalid("schemas", "each entry needs exactly one of avro, proto, descriptor_set, json_schema")
        if (self.proto or self.descriptor_set) and not self.message:
            raise invalid("schemas", "a proto or descriptor_set entry needs `message` (the full type name)")

    @property
    def kind(self) -> str:
        if self.avro:
            return "avro"
        if self.json_schema:
            return "json-schema"
        return "protobuf"

    @property
    def path(self) -> str:
        return self.avro or self.proto or self.descriptor_set or self.json_schema or ""
