"""The one document an expression sees for a message, the same shape for every broker.

`{broker, destination, partition, position, timestamp, key, value, value_format, headers, redelivered}`
and, for a dead letter, its provenance beside them (`id, reason, origin, attempts, first_failure,
last_failure, origin_partition, origin_position, extra, gone`). So `.value.order_id == 4711` works the
same on a Kafka record, a Redis stream entry and a RabbitMQ dead letter.

`value` is the decoded tree where `services/decoding` read the payload (Avro, Protobuf, MessagePack...);
else a JSON object or array parsed from the text, so plain JSON payloads are searchable by field
without a decoding profile; else the text; a payload that is not UTF-8 is its hex (`value_format`
"hex"), which `contains` and `test` can still search and which never breaks an evaluation.
"""

from __future__ import annotations

from typing import Any

import orjson

from mqtui.jsonl import header_value, headers_object, iso
from mqtui.model import DeadLetter, Decoded, Message

_JSON_STARTS = frozenset(b"{[")
_BLANKS = b" \t\r\n"


def message_document(message: Message) -> dict[str, Any]:
    """The document of one message (the keys listed in the module's docstring)."""
    value, value_format = payload(message.value, message.decoded)
    key: Any = None
    if message.key is not None:
        key, _ = payload(message.key, message.decoded_key)
    return {
        "broker": message.broker,
        "destination": message.destination,
        "partition": message.partition,
        "position": message.position,
        "timestamp": iso(message.timestamp),
        "key": key,
        "value": value,
        "value_format": value_format,
        "headers": headers_object(message.headers) if message.headers else {},
        "redelivered": message.redelivered,
    }


def letter_document(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter's document: its message's, plus why and where from it failed."""
    document = message_document(letter.message)
    document.update(
        id=letter.id,
        reason=letter.reason,
        origin=letter.origin,
        attempts=letter.attempts,
        first_failure=iso(letter.first_failure),
        last_failure=iso(letter.last_failure),
        origin_partition=letter.origin_partition,
        origin_position=letter.origin_position,
        extra={name: header_value(value) for name, value in letter.extra.items()},
        gone=letter.gone,
    )
    return document


def payload(data: bytes, decoded: Decoded | None) -> tuple[Any, str]:
    """A value or key as the expression sees it, and its format: the decoded tree, parsed JSON
    (objects and arrays only: a bare `42` stays the text "42"), the text, or the hex of binary."""
    if decoded is not None and decoded.ok:
        return decoded.value, decoded.format
    stripped = data.lstrip(_BLANKS) if data[:1] in _BLANKS_SET else data
    if stripped[:1] and stripped[0] in _JSON_STARTS:
        try:
            return orjson.loads(data), "json"
        except orjson.JSONDecodeError:
            pass
    try:
        return data.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return data.hex(), "hex"


_BLANKS_SET = frozenset(bytes([b]) for b in _BLANKS)
