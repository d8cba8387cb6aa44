"""Encodings without a schema, each recognised by its first bytes (or named by `--decode`): compressed
payloads are decompressed and then decoded, base64 text is read through, and the JSON message envelope
is shown as its fields. Payloads are written by the libraries the producers use (cramjam, msgpack)."""

from __future__ import annotations

import base64
import gzip

import cramjam
import msgpack
import pytest

from mqtui.model import Decoded, Message
from mqtui.services.decoding import Decoder
from mqtui.services.decoding.envelopes import envelope_fields, envelope_summary

ORDER = b'{"order_id": 4711, "status": "paid"}'


def decoded(value: bytes, mode: str = "auto") -> Decoded:
    result = Decoder(mode).decode(Message("b", "orders", 0, 1, None, None, value)).decoded
    assert result is not None, f"{value[:12]!r} was not decoded in mode {mode}"
    return result


@pytest.mark.parametrize(("value", "fmt"), [
    (bytes(cramjam.zstd.compress(ORDER)), "zstd+json"),
    (bytes(cramjam.snappy.compress(ORDER)), "snappy+json"),  # the framing format: recognised
    (bytes(cramjam.lz4.compress(ORDER)), "lz4+json"),
    (base64.b64encode(ORDER), "base64+json"),
    (gzip.compress(msgpack.packb({"order_id": 4711, "status": "paid"})), "gzip+msgpack"),
])  # fmt: skip
def test_compressed_and_base64_payloads_are_decoded_by_their_first_bytes(value: bytes, fmt: str) -> None:
    result = decoded(value)
    assert (result.ok, result.format, result.value) == (True, fmt, {"order_id": 4711, "status": "paid"})


def test_raw_snappy_has_no_magic_and_is_read_when_named() -> None:
    raw = bytes(cramjam.snappy.compress_raw(ORDER))
    assert Decoder("auto").decode(Message("b", "orders", 0, 1, None, None, raw)).decoded is None  # left as bytes
    result = decoded(raw, "snappy")
    assert (result.ok, result.format, result.value) == (True, "snappy+json", {"order_id": 4711, "status": "paid"})


def test_the_message_envelope_is_shown_as_its_fields() -> None:
    result = decoded(
        b'{"id": "m-1", "type": "order.created", "payload": {"n": 1}, "timestamp": "2026-12-06T10:00:00Z"}'
    )
    assert (result.format, result.envelope) == ("json", "message")
    assert envelope_summary(result.value) == "order.created"
    assert envelope_fields(result.value) == [("type", "order.created"), ("id", "m-1"),
                                             ("timestamp", "2026-12-06T10:00:00Z")]  # fmt: skip
