"""The expression language: jq errors as one line with a position, plain words and shortcuts, saved
filters, errors counted per message, and the Python fast path agreeing with jq on every verdict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mqtui.errors import UsageError
from mqtui.model import DeadLetter, Decoded, Message
from mqtui.services.search.document import letter_document, message_document
from mqtui.services.search.expression import Expression, compile_expression
from mqtui.services.search.fastpath import compile_fast


def _message(value: bytes, key: bytes | None = b"order-4711", **kw: Any) -> Message:
    return Message(
        broker="k",
        destination="orders",
        partition=2,
        position=17,
        timestamp=datetime(2026, 12, 6, 10, 0, tzinfo=UTC),
        key=key,
        value=value,
        headers=kw.pop("headers", (("trace", b"abc"), ("Retry-Reason", b"Timeout talking to db"))),
        **kw,
    )


def test_the_document_is_the_same_shape_and_parses_json_values() -> None:
    document = message_document(_message(b'{"order_id": 4711, "amount": 12.5}'))
    assert document == {
        "broker": "k",
        "destination": "orders",
        "partition": 2,
        "position": 17,
        "timestamp": "2026-12-06T10:00:00Z",
        "key": "order-4711",
        "value": {"order_id": 4711, "amount": 12.5},
        "value_format": "json",
        "headers": {"trace": "abc", "Retry-Reason": "Timeout talking to db"},
        "redelivered": 0,
    }


def test_decoded_text_and_binary_values() -> None:
    decoded = _message(b"\x00\x00\x00\x00\x01\x02", decoded=Decoded("avro", {"id": 9}))
    assert message_document(decoded)["value"] == {"id": 9}
    assert message_document(_message(b"{not json"))["value"] == "{not json"
    binary = message_document(_message(b"\xff\xfe\x00"))
    assert (binary["value"], binary["value_format"]) == ("fffe00", "hex")
    assert compile_expression('.value | contains("fffe")').matches(binary)


def test_a_dead_letter_document_has_its_reason_and_origin() -> None:
    letter = DeadLetter(id="0:3", message=_message(b"x"), origin="orders", reason="boom: timeout", attempts=3)
    document = letter_document(letter)
    assert (document["id"], document["origin"], document["attempts"]) == ("0:3", "orders", 3)
    assert compile_expression('.reason | test("timeout")').matches(document)
    assert not compile_expression(".attempts > 3").matches(document)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (".value.x ==", "bad expression '.value.x ==': syntax error, unexpected end of file at column 10"),
        (".a | nosuch(1)", "bad expression '.a | nosuch(1)': nosuch/1 is not defined at column 6"),
        (".a |\n  (", "bad expression '.a |\\n  (': syntax error, unexpected end of file at line 2, column 3"),
        ("@nope", "no saved filter @nope (saved filters: @big)"),
        ("  ", "empty expression: give a jq expression such as '.value.id == 42', or words"),
    ],
)
def test_a_bad_expression_is_one_line_naming_where(text: str, error: str) -> None:
    with pytest.raises(UsageError) as raised:
        compile_expression(text, filters={"big": ".value.amount > 1000"})
    assert str(raised.value) == error
    assert "\n" not in str(raised.value)


def test_words_and_shortcuts() -> None:
    document = message_document(_message(b'{"customer": {"name": "Ada Lovelace"}, "order_id": 4711}'))
    assert compile_expression("ada 4711").matches(document)
    assert not compile_expression("ada 4712").matches(document)
    assert compile_expression("key:ORDER-47").matches(document)
    assert compile_expression("header:retry-reason=timeout").matches(document)
    assert compile_expression("header:trace").matches(document)
    assert not compile_expression("header:missing").matches(document)
    assert compile_expression("customer.name=lovelace").matches(document)
    assert not compile_expression("customer.name=babbage").matches(document)


def test_a_saved_filter_is_used_by_name() -> None:
    expression = compile_expression("@big", filters={"big": ".value.amount > 1000"})
    assert (expression.text, expression.program) == ("@big", ".value.amount > 1000")
    docs = [message_document(_message(b'{"amount": %d}' % amount)) for amount in (5, 5000)]
    assert expression.select(docs) == [False, True]


@pytest.mark.parametrize("program", [".value.amount + 1 > 10", ".value.amount > 10"])
def test_errors_on_some_messages_are_counted_as_not_matching(program: str) -> None:
    expression = compile_expression(program)
    docs = [message_document(_message(v)) for v in (b'{"amount": 50}', b"plain text", b'{"amount": 1}', b"\x80")]
    verdicts = expression.select(docs)
    assert verdicts[0] is True and verdicts[2] is False
    if "+" in program:
        assert expression.errors == 2
        assert expression.describe_errors() == (
            '2 messages could not be evaluated (Cannot index string with string ("amount"))'
        )
    else:
        assert expression.errors == 2  # .amount of a text value is an error in jq too


_DOCS: list[Any] = [
    {"value": {"amount": 1500, "name": "Ada", "tags": ["a", "b"], "n": None}, "key": "k1", "headers": {"x-id": "7"}},
    {"value": {"amount": "1500", "name": "ada"}, "key": None, "headers": {}},
    {"value": {"amount": 1500.0, "name": 3, "tags": []}, "key": "K2", "headers": {"x-id": ["7", "8"]}},
    {"value": "plain text ADA", "key": "", "headers": {"x-id": {"base64": "/w=="}}},
    {"value": [1, 2, 3], "key": "k3", "headers": None},
    {"value": None, "key": 5, "headers": {}},
    {"value": {"amount": True, "name": "Åda", "tags": [["a"]]}, "key": "k4", "headers": {}},
    {"value": {"amount": 2**60, "name": "x"}, "key": "k5", "headers": {}},
    {"value": {"amount": -3, "name": "b\nada"}, "key": "k6", "headers": {}},
]
_PROGRAMS = [
    ".value.amount > 1000",
    ".value.amount == 1500",
    ".value.amount != 1500",
    ".value.amount <= -3",
    ".value.amount >= true",
    '.value.name == "Ada"',
    '.value.name | test("^ada$"; "i")',
    '.value.name | test("a.a")',
    '.value | test("ADA")',
    '.value.name | ascii_downcase == "ada"',
    '.value.name | contains("d")',
    '.value | contains("text")',
    '.value.name | startswith("A")',
    '.value.name | endswith("a")',
    ".value.tags[0]",
    '.value.tags[-1] == "b"',
    ".value.tags | length > 1",
    ".value | length",
    '.headers["x-id"] == "7"',
    '.headers."x-id" | length == 2',
    ".key",
    ".key | not",
    '.key == null or .key == ""',
    "(.value.amount > 1000) and (.key | not | not)",
    'select(.value.amount > 0) | .key == "k1"',
    ".value.n == null",
    ".value[1] == 2",
    ".value.tags == .value.tags",
    ".value == .value",
    "true",
    "null",
]


@pytest.mark.parametrize("program", _PROGRAMS)
def test_the_fast_path_agrees_with_jq(program: str) -> None:
    assert compile_fast(program) is not None, "this program is meant to run in Python"
    fast = compile_expression(program)
    slow = Expression(program, program, None)
    assert fast.select(_DOCS) == slow.select(_DOCS)
    assert fast.errors == slow.errors
    assert fast.first_error == slow.first_error


@pytest.mark.parametrize(
    "program", [".value.amount - 1", ".. | numbers", ".value.tags == []", '.value | test("(?i)ada")', "[.value]"]
)
def test_what_the_fast_path_does_not_know_runs_in_jq(program: str) -> None:
    assert compile_fast(program) is None


_WORD_DOCS: list[Any] = [
    *_DOCS,
    {"value": {"customer": {"name": "Ada Lovelace"}, "total": 1e100, "n": 1.5}, "key": "Order-47", "headers": {}},
    {"value": "ÀDA lovelace", "key": None, "headers": {"Retry-Reason": "Timeout", "trace": None}},
    {"value": {"customer": "plain"}, "key": "x", "headers": {"retry-reason": ["a", "timeout"]}},
]


@pytest.mark.parametrize(
    "text",
    ["ada", "ADA lovelace", "1e+100", "key:order", "key:5", "header:x-id", "header:retry-reason=time",
     "header:trace", "customer.name=love", "customer=plain", "amount=1500", "tags=a", "nothing-here"],
)  # fmt: skip
def test_plain_words_in_python_agree_with_their_jq(text: str) -> None:
    fast = compile_expression(text)
    slow = Expression(text, fast.program, None)
    assert fast.select(_WORD_DOCS) == slow.select(_WORD_DOCS)
    assert fast.errors == slow.errors
