"""A schema as decoding uses it: how to read a payload, and what to name it by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Schema:
    """One parsed schema, built once (per registry id, or per local mapping) and then only called."""

    format: str
    """"avro", "protobuf" or "json-schema"."""
    read: Callable[[bytes], Any]
    """Reads one payload (after the registry's 5-byte header, if framed) into a JSON-able tree; raises
    on bytes the schema cannot read."""
    schema_id: int | None = None
    subject: str | None = None
    version: int | None = None
    name: str | None = None
    type_of: Callable[[bytes], str] | None = None
    """The type a payload holds where one schema has several (Protobuf files): called per message."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Why a schema cannot be had (unknown id, registry down, refused credentials, bad schema file)."""

    reason: str
    retry_at: float | None = None
    """Monotonic time after which to ask again (a registry that was down may be back); None: never."""
