"""Renderers and exports over the hostile corpus and over arbitrary bytes (hypothesis)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqtui import jsonl
from mqtui.commands.output import message_line
from mqtui.model import Message
from mqtui.safetext import hexdump, pretty_json, safe_block, safe_line
from tests.trust.corpus import all_payloads, deeply_nested_json, huge_value, many_headers

#: What must never reach a terminal: C0 controls, DEL, C1 controls, bidi overrides/isolates, line separators.
UNSAFE_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
UNSAFE_IN_BLOCK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
PAYLOADS = all_payloads()


def message(value: bytes, key: bytes | None = None, headers=()) -> Message:  # type: ignore[no-untyped-def]
    return Message("b", "dest", 0, 1, datetime(2026, 1, 1, tzinfo=UTC), key, value, headers)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_corpus_renders_safely_everywhere(name: str) -> None:
    payload = PAYLOADS[name]
    assert not UNSAFE_IN_LINE.search(safe_line(payload))
    assert not UNSAFE_IN_BLOCK.search(safe_block(payload))
    assert not UNSAFE_IN_BLOCK.search(hexdump(payload))
    pretty = pretty_json(payload)
    assert pretty is None or not UNSAFE_IN_BLOCK.search(pretty)
    line = message_line(message(payload, key=payload, headers=(("h", payload),)))
    assert not UNSAFE_IN_LINE.search(line)
    exported = jsonl.dumps(jsonl.message_record(message(payload, key=payload, headers=(("h", payload),))))
    assert not UNSAFE_IN_LINE.search(exported.decode("utf-8").rstrip("\n"))
    assert jsonl.message_from_record(json.loads(exported)).value == payload


def test_corpus_has_at_least_fifty_entries() -> None:
    assert len(PAYLOADS) >= 50


def test_huge_values_are_cut_before_rendering() -> None:
    value = huge_value()
    assert len(safe_line(value, 200)) == 200
    assert len(safe_block(value, 200_000)) == 200_000
    assert hexdump(value).count("\n") <= 64 * 1024 // 16 + 1


def test_deeply_nested_json_does_not_crash() -> None:
    assert pretty_json(deeply_nested_json()) is None


def test_ten_thousand_headers_export_and_render() -> None:
    headers = many_headers()
    record = jsonl.message_record(message(b"x", headers=headers))
    line = jsonl.dumps(record)
    assert b"\x1b" not in line
    assert len(json.loads(line)["headers"]) == 10_000


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_any_bytes_render_safely(data: bytes) -> None:
    assert not UNSAFE_IN_LINE.search(safe_line(data))
    assert not UNSAFE_IN_BLOCK.search(safe_block(data))
    assert not UNSAFE_IN_BLOCK.search(hexdump(data))
    line = jsonl.dumps(jsonl.message_record(message(data, key=data)))
    assert not UNSAFE_IN_LINE.search(line.decode("utf-8").rstrip("\n"))
    assert jsonl.message_from_record(json.loads(line)).value == data


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=256))
def test_any_text_renders_safely(text: str) -> None:
    data = text.encode("utf-8", errors="surrogatepass")
    assert not UNSAFE_IN_LINE.search(safe_line(text))
    assert not UNSAFE_IN_LINE.search(safe_line(data))
    assert not UNSAFE_IN_BLOCK.search(safe_block(text))
    pretty = pretty_json(data)
    assert pretty is None or not UNSAFE_IN_BLOCK.search(pretty)
