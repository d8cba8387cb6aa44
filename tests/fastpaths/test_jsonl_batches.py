"""`jsonl.dumps_messages`, the batch encoder of `tail --json`, writes exactly what the one-message path
writes, for the hostile corpus and for arbitrary bytes, times and headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mqtui import jsonl
from mqtui.model import Message
from tests.trust.corpus import all_payloads

MOMENT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def one_by_one(messages: list[Message]) -> bytes:
    return b"".join(jsonl.dumps(jsonl.message_record(m)) for m in messages)


def test_the_hostile_corpus_is_written_as_the_one_message_path_writes_it() -> None:
    messages = [
        Message("b", "dest", index % 3, index, MOMENT if index % 2 else None, payload if index % 4 else None,
                payload, (("h", payload), ("h", b"second"), ("bin", b"\xff")) if index % 5 else ())
        for index, payload in enumerate(all_payloads().values())
    ]  # fmt: skip
    assert len(messages) > 20
    assert jsonl.dumps_messages(messages) == one_by_one(messages)
    assert jsonl.dumps_messages([]) == b""


def test_timestamps_shared_by_neighbours_are_not_mixed_up() -> None:
    later = MOMENT + timedelta(milliseconds=1)
    same_instant_other_object = datetime.fromtimestamp(MOMENT.timestamp(), UTC)
    times = [MOMENT, MOMENT, later, None, later, same_instant_other_object, MOMENT]
    messages = [Message("b", "t", 0, i, moment, None, b"v") for i, moment in enumerate(times)]
    assert jsonl.dumps_messages(messages) == one_by_one(messages)


messages_strategy = st.lists(
    st.builds(
        Message,
        broker=st.text(max_size=8),
        destination=st.text(max_size=12),
        partition=st.none() | st.integers(0, 64),
        position=st.integers(0, 2**63) | st.text(max_size=20),
        timestamp=st.none() | st.datetimes(timezones=st.just(UTC)),
        key=st.none() | st.binary(max_size=40),
        value=st.binary(max_size=300),
        headers=st.lists(st.tuples(st.text(max_size=10), st.binary(max_size=30) | st.none()), max_size=4).map(tuple),
        redelivered=st.integers(0, 5),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(messages_strategy)
def test_arbitrary_messages_are_written_as_the_one_message_path_writes_them(messages: list[Message]) -> None:
    assert jsonl.dumps_messages(messages) == one_by_one(messages)
