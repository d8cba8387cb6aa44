"""Untrusted payloads become safe text; JSON Lines round-trip any bytes."""

from __future__ import annotations

from datetime import UTC, datetime

from mqtui import jsonl
from mqtui.model import Message, StartPosition
from mqtui.safetext import hexdump, pretty_json, safe_block, safe_line


def test_control_sequences_are_made_visible() -> None:
    hostile = b"\x1b]52;c;aGVsbG8=\x07\x1b[2J\r\x9b31m\xe2\x80\xae"
    text = safe_line(hostile)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert "\u202e" not in text and "\x9b" not in text
    assert text.startswith("␛]52;")


def test_invalid_utf8_is_escaped_not_dropped() -> None:
    assert safe_line(b"ok\xff\xfe") == "ok\\xff\\xfe"


def test_block_keeps_newlines_but_not_other_controls() -> None:
    assert safe_block(b"a\nb\x1bc\r\n") == "a\nb␛c\n"


def test_long_values_are_cut_with_an_ellipsis() -> None:
    assert safe_line(b"x" * 10_000_000, 50) == "x" * 49 + "…"


def test_pretty_json_and_hexdump() -> None:
    assert pretty_json(b'{"a": [1]}') == '{\n  "a": [\n    1\n  ]\n}'
    assert pretty_json(b"not json") is None
    assert pretty_json(b"[" * 100_000) is None
    assert hexdump(b"AB\x00") == "00000000  41 42 00" + " " * 39 + "  |AB.|"


def test_message_json_line_round_trip_with_binary() -> None:
    message = Message(
        broker="k", destination="t", partition=0, position=7,
        timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        key=b"\xff", value=b"\x00\x9b\x1b", headers=(("a", b"1"), ("a", b"2"), ("bin", b"\xfe")),
    )  # fmt: skip
    record = jsonl.message_record(message)
    assert record["value_encoding"] == "base64"
    assert record["timestamp"] == "2026-01-02T03:04:05Z"
    assert record["headers"] == {"a": ["1", "2"], "bin": {"base64": "/g=="}}
    line = jsonl.dumps(record)
    assert b"\x1b" not in line
    import json

    assert jsonl.message_from_record(json.loads(line)) == message


def test_start_position_parsing() -> None:
    assert StartPosition.parse("beginning").kind == "beginning"
    assert StartPosition.parse("end").kind == "end"
    assert StartPosition.parse("42") == StartPosition("offset", offset=42)
    assert StartPosition.parse("1700000000000-3") == StartPosition("offset", offset="1700000000000-3")
    moment = StartPosition.parse("2026-01-02T03:04:05Z")
    assert moment.kind == "time" and moment.time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_dlq_naming_rules() -> None:
    from mqtui.dlqnames import dlq_names_for, dlq_origin, rules_for

    kafka = rules_for("kafka", None)
    assert dlq_origin("orders.DLQ", kafka) == "orders"
    assert dlq_origin("orders-dlq", kafka) == "orders"
    assert dlq_origin("payments.v1.DLT", kafka) == "payments.v1"
    assert dlq_origin("orders", kafka) is None
    assert dlq_origin("jobs:dead", rules_for("redis", None)) == "jobs"
    assert dlq_origin("DLQ.orders.created", rules_for("nats", None)) == "orders.created"
    assert dlq_origin("dead-orders", rules_for("kafka", ["dead-{name}"])) == "orders"
    assert dlq_names_for("orders", kafka) == ["orders.DLQ", "orders-dlq", "orders.DLT"]
