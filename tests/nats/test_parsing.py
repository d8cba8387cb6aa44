"""The small pure pieces the adapter's answers rest on: subject overlap, NATS times and header blocks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mqtui.brokers.nats.dlq import advisory_origin_stream, captures_advisories, subjects_overlap
from mqtui.brokers.nats.records import backlog_row, parse_headers, parse_time


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("orders.>", "orders.a.b", True),
        ("orders.*", "orders.a.b", False),
        ("orders.*.b", "orders.a.*", True),
        ("orders.>", "orders", False),
        ("a.b", "a.c", False),
        ("$JS.EVENT.ADVISORY.>", "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", True),
    ],
)
def test_subjects_overlap(a: str, b: str, overlap: bool) -> None:
    assert subjects_overlap(a, b) is overlap
    assert subjects_overlap(b, a) is overlap


def test_advisory_streams_are_recognised_and_their_origin_named() -> None:
    limited = [
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.ORDERS.>",
        "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.ORDERS.*",
    ]
    assert captures_advisories(limited) and advisory_origin_stream(limited) == "ORDERS"
    assert advisory_origin_stream(["$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>"]) is None
    assert not captures_advisories(["orders.>", "$JS.EVENT.ADVISORY.API.>"])


def test_nats_times_with_nanoseconds_and_the_zero_time() -> None:
    assert parse_time("2026-11-25T09:53:57.587868918Z") == datetime(2026, 11, 25, 9, 53, 57, 587868, tzinfo=UTC)
    assert parse_time("2026-11-25T09:53:57Z") == datetime(2026, 11, 25, 9, 53, 57, tzinfo=UTC)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("garbage") is None and parse_time(None) is None


def test_header_blocks_keep_repeats_and_raw_bytes() -> None:
    block = b"NATS/1.0\r\nA: 1\r\nA: 2\r\nBin: \xff\x00\r\nbroken line\r\n\r\n"
    assert parse_headers(block) == (("A", b"1"), ("A", b"2"), ("Bin", b"\xff\x00"), ("broken line", b""))


def test_an_ack_after_the_stream_was_read_never_puts_the_end_below_the_ack_floor() -> None:
    """The demo showed COMMITTED 263 beside END 262: the stream's info is read before its consumers'."""
    info = {"stream_name": "ORDERS", "name": "billing", "config": {}, "ack_floor": {"stream_seq": 263},
            "num_pending": 0}  # fmt: skip
    row = backlog_row("n", info, stream_last_seq=262)
    assert (row.committed, row.end, row.lag) == (263, 263, 0)
    assert backlog_row("n", info, stream_last_seq=None).end is None
