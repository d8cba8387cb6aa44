"""Payload decoding for every broker: schema registry (Avro, Protobuf, JSON Schema), local schemas,
and schema-less encodings (JSON, MessagePack, CBOR, base64, gzip/zstd/snappy/lz4), plus the envelopes
of common queues. `decoder_for` makes the decoder of one broker of a profile; one per broker per session
so each schema id is fetched once.

Modules, one concern each: `wire` (Confluent framing), `registry` (fetch and cache by id), `build`
(a registry schema to a reader), `avro`, `protobuf`, `json_schema`, `plain` (encodings without a
schema), `envelopes`, `local` (schemas from files), `decoder` (the order they are tried in).
"""

from __future__ import annotations

from mqtui.config import BrokerConfig, Profile
from mqtui.services.decoding.decoder import MODES, Decoder, describe, payload_line, summary_line
from mqtui.services.decoding.local import LocalSchemas
from mqtui.services.decoding.registry import SchemaCache

__all__ = ["MODES", "Decoder", "decoder_for", "describe", "payload_line", "summary_line"]


def decoder_for(profile: Profile, broker: BrokerConfig, mode: str = "auto") -> Decoder:
    """The decoder of `broker`: its own registry or else the profile's; its local schemas, then the
    profile's."""
    registry = broker.schema_registry or profile.schema_registry
    local = [*(broker.schemas or ()), *profile.schemas]
    return Decoder(mode, SchemaCache(registry) if registry is not None else None, LocalSchemas(local))
