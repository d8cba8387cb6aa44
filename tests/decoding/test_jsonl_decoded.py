"""JSON Lines of decoded messages read back by `message_from_record` (what `publish --from-jsonl` and
the incident snapshot use): old lines as before; decoded lines give the bytes on the wire from
`value_raw`, or, without it, the value encoded again (exact for JSON, MessagePack, CBOR, compression and
base64; a schema's value as JSON text, with `decoded` naming format and subject for a re-encoding)."""

from __future__ import annotations

import gzip

import cbor2
import msgpack
import orjson
import pytest

from mqtui import jsonl
from mqtui.model import Decoded, Message
from mqtui.services.decoding import Decoder


def line(message: Message, raw: bool) -> dict[str, object]:
    return orjson.loads(jsonl.dumps_messages([message], raw))


def decoded(value: bytes, mode: str = "auto") -> Message:
    message = Message("b", "orders", 0, 1, None, None, value)
    return Decoder(mode).decode(message)


@pytest.mark.parametrize("value", [
    msgpack.packb({"a": [1, 2.5, "x"]}),
    cbor2.dumps({"a": [1, 2, "x"]}),
    gzip.compress(b'{"n": 1}', mtime=0),
    b'{"id": "1", "type": "order.created", "payload": {"n": 1}, "timestamp": "2026-12-06T10:00:00Z"}',
])  # fmt: skip
@pytest.mark.parametrize("raw", [True, False])
def test_decoded_lines_come_back_as_the_same_bytes_or_their_reencoding(value: bytes, raw: bool) -> None:
    message = decoded(value)
    assert message.decoded is not None and message.decoded.ok
    back = jsonl.message_from_record(line(message, raw))
    assert back.decoded is not None and back.decoded.format == message.decoded.format
    if raw or not value.startswith(b"{"):  # JSON text comes back as JSON, spacing aside
        assert back.value == value or (not raw and Decoder("auto").decode(back).decoded == message.decoded)
    else:
        assert orjson.loads(back.value) == orjson.loads(value)


def test_a_schema_value_without_raw_comes_back_as_json_naming_its_schema() -> None:
    message = Message("b", "orders", 0, 1, None, None, b"\x00\x00\x00\x00\x07\x02\x06mug",
                      decoded=Decoded("avro", {"id": 1, "item": "mug"}, 7, "orders-value", 3, "shop.Order"))  # fmt: skip
    record = line(message, raw=False)
    assert record["value"] == {"id": 1, "item": "mug"} and record["value_schema_subject"] == "orders-value"
    back = jsonl.message_from_record(record)
    assert orjson.loads(back.value) == {"id": 1, "item": "mug"}
    assert back.decoded == Decoded("avro", {"id": 1, "item": "mug"}, 7, "orders-value", 3, "shop.Order")
    assert jsonl.message_from_record(line(message, raw=True)).value == message.value


def test_a_failed_decoding_keeps_the_old_shape_and_says_why() -> None:
    message = Message("b", "orders", 0, 1, None, None, b"\x00\x00\x00\x00\x09\xff",
                      decoded=Decoded("raw", schema_id=9, error="schema id 9 is not in the schema registry"))  # fmt: skip
    record = line(message, raw=True)
    assert record["value_encoding"] == "base64" and "value_raw" not in record
    assert record["value_decode_error"] == "schema id 9 is not in the schema registry"
    assert jsonl.message_from_record(record).value == message.value


def test_old_lines_read_back_as_before() -> None:
    record = {"broker": "b", "destination": "d", "partition": None, "position": "1-0", "timestamp": None,
              "key": None, "key_encoding": "utf-8", "value": "aGk=", "value_encoding": "base64", "headers": {}}  # fmt: skip
    back = jsonl.message_from_record(record)
    assert back.value == b"hi" and back.decoded is None
