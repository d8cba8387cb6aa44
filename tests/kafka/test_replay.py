"""Replay: every dead letter lands on its origin exactly once, across reruns, selections and crashes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson
import pytest
from confluent_kafka import Producer

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.brokers.kafka.replay_send import REPLAYED_AT, REPLAYED_FROM
from mqtui.errors import NotFound, UsageError
from tests.kafka.conftest import KafkaTools, Record, unique
from tests.kafka.test_dlq import connect_headers, envelope, spring_headers


def replayed_copies(kafka: KafkaTools, topic: str, partitions: int = 1) -> Counter[str]:
    """How many copies of each dead letter (by its mqtui-replayed-from value) the topic holds."""
    copies: Counter[str] = Counter()
    for message in kafka.read_all(topic, partitions):
        for name, value in message.headers() or ():
            if name == REPLAYED_FROM:
                copies[value.decode()] += 1
    return copies


def spring_dlq(kafka: KafkaTools, count: int, partitions: int = 1) -> tuple[str, str]:
    origin = kafka.topic("orders", partitions=3)
    dlq = kafka.create(f"{origin}.DLQ", partitions)
    kafka.produce(dlq, [Record(b'{"order": %d}' % i, key=b"order-%d" % i, partition=i % partitions,
                               headers=[*spring_headers(origin, i % 3, 100 + i), ("trace", b"t-%d" % i)])
                        for i in range(count)])  # fmt: skip
    return origin, dlq


async def test_replay_lands_every_dead_letter_once_and_a_rerun_sends_nothing(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    origin, dlq = spring_dlq(kafka, 5, partitions=2)
    seen: list[tuple[int, int]] = []
    result = await adapter.replay(dlq, progress=lambda done, total: seen.append((done, total)))
    assert (result.sent, result.failed, result.skipped, result.duplicates, result.errors) == (5, 0, 0, 0, ())
    assert seen[-1] == (5, 5)
    expected = {f"{dlq}/{i % 2}/{i // 2}" for i in range(5)}
    assert replayed_copies(kafka, origin, 3) == dict.fromkeys(expected, 1)
    again = await adapter.replay(dlq)
    assert (again.sent, again.failed, again.skipped) == (0, 0, 5)
    assert replayed_copies(kafka, origin, 3) == dict.fromkeys(expected, 1)
    plan = await adapter.plan_replay(dlq)
    # Below the replay group's committed floor nothing is read again, so the target is not known.
    assert [(i.id, i.target, i.skip_reason) for i in plan] == [
        (f"{p}:{o}", "?", "already replayed") for p, o in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    ]
    chosen = await adapter.replay(dlq, ids=["1:1", "0:0"])
    assert (chosen.sent, chosen.failed, chosen.skipped) == (0, 0, 2)


async def test_a_replayed_copy_keeps_key_value_and_headers(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin, dlq = spring_dlq(kafka, 1)
    await adapter.replay(dlq)
    [copy] = kafka.read_all(origin, 3)
    headers: list[tuple[str, Any]] = copy.headers()
    assert copy.key() == b"order-0" and copy.value() == b'{"order": 0}'
    assert headers[:-2] == [*spring_headers(origin, 0, 100), ("trace", b"t-0")]
    assert headers[-2] == (REPLAYED_FROM, f"{dlq}/0/0".encode())
    assert headers[-1][0] == REPLAYED_AT and headers[-1][1].endswith(b"Z")


async def test_replay_progress_is_a_consumer_group_on_the_dlq(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    _origin, dlq = spring_dlq(kafka, 4)
    result = await adapter.replay(dlq, limit=3)
    assert result.sent == 3
    [row] = [r for r in await adapter.backlog(group="mqtui-replay") if r.destination == dlq]
    assert (row.committed, row.end, row.lag) == (3, 4, 1)
    rest = await adapter.replay(dlq)
    assert (rest.sent, rest.skipped) == (1, 3)


async def test_selected_ids_then_the_rest_each_exactly_once(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin, dlq = spring_dlq(kafka, 5)
    first = await adapter.replay(dlq, ids=["0:3", "0:1"])
    assert (first.sent, first.skipped) == (2, 0)
    plan = await adapter.plan_replay(dlq)
    assert [(i.id, i.skip_reason) for i in plan] == [
        ("0:0", None), ("0:1", "already replayed"), ("0:2", None), ("0:3", "already replayed"), ("0:4", None),
    ]  # fmt: skip
    rest = await adapter.replay(dlq)
    assert (rest.sent, rest.skipped, rest.duplicates) == (3, 2, 0)
    assert replayed_copies(kafka, origin, 3) == {f"{dlq}/0/{o}": 1 for o in range(5)}


async def test_a_copy_delivered_before_a_crash_is_found_not_sent_again(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    """mqtui (or the broker) killed after a delivery report but before its commit: the copy is there."""
    origin, dlq = spring_dlq(kafka, 3)
    kafka.produce(origin, [Record(b'{"order": 0}', key=b"order-0",
                                  headers=[(REPLAYED_FROM, f"{dlq}/0/0".encode()), (REPLAYED_AT, b"x")])])  # fmt: skip
    plan = await adapter.plan_replay(dlq)
    assert [(i.id, i.skip_reason) for i in plan] == [("0:0", "already replayed"), ("0:1", None), ("0:2", None)]
    result = await adapter.replay(dlq)
    assert (result.sent, result.skipped, result.duplicates) == (2, 1, 0)
    assert replayed_copies(kafka, origin, 3) == {f"{dlq}/0/{o}": 1 for o in range(3)}
    assert kafka.committed("mqtui-replay", dlq, 1) == {0: 3}  # the found copy was recorded too


async def test_kafka_connect_dead_letters_land_on_their_origin_once_also_when_run_twice(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    """A sink connector's DLQ: its name says nothing about the origin (its naming rule would point at a
    topic that does not exist), the `__connect.errors.topic` header does."""
    origin = kafka.topic("customers", partitions=2)
    dlq = kafka.create(f"{unique('jdbc-sink')}-dlq", 2)
    kafka.produce(dlq, [Record(b"\x00\x00\x00\x01row-%d" % i, key=b"c-%d" % i, partition=i % 2,
                               headers=connect_headers(origin, i % 2, 40 + i)) for i in range(6)])  # fmt: skip
    plan = await adapter.plan_replay(dlq)
    assert [(i.id, i.target, i.skip_reason) for i in plan] == [
        (f"{p}:{o}", origin, None) for p in (0, 1) for o in range(3)
    ]
    result = await adapter.replay(dlq)
    assert (result.sent, result.failed, result.skipped, result.duplicates, result.errors) == (6, 0, 0, 0, ())
    expected = {f"{dlq}/{i % 2}/{i // 2}": 1 for i in range(6)}
    assert replayed_copies(kafka, origin, 2) == expected
    again = await adapter.replay(dlq)
    assert (again.sent, again.failed, again.skipped, again.duplicates) == (0, 0, 6, 0)
    assert replayed_copies(kafka, origin, 2) == expected
    copies = {m.key(): m for m in kafka.read_all(origin, 2)}
    assert sorted(copies) == [b"c-%d" % i for i in range(6)]
    assert copies[b"c-4"].value() == b"\x00\x00\x00\x01row-4"
    assert copies[b"c-4"].headers()[:-2] == connect_headers(origin, 0, 44)


async def test_envelope_replays_its_original_message(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin = kafka.topic("payments")
    dlq = kafka.create(f"{origin}.DLQ")
    kafka.produce(dlq, [Record(envelope({"payment": 1}), key=b"p1"), Record(envelope("raw text"), key=b"p2")])
    result = await adapter.replay(dlq)
    assert result.sent == 2
    assert [(m.key(), m.value()) for m in kafka.read_all(origin)] == [(b"p1", orjson.dumps({"payment": 1})),
                                                                       (b"p2", b"raw text")]  # fmt: skip


async def test_replay_to_another_topic(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    origin, dlq = spring_dlq(kafka, 2)
    elsewhere = kafka.topic("retry")
    plan = await adapter.plan_replay(dlq, to=elsewhere)
    assert {i.target for i in plan} == {elsewhere}
    assert (await adapter.replay(dlq, to=elsewhere)).sent == 2
    assert replayed_copies(kafka, elsewhere) == {f"{dlq}/0/0": 1, f"{dlq}/0/1": 1}
    assert replayed_copies(kafka, origin, 3) == {}
    with pytest.raises(NotFound, match="to replay into"):
        await adapter.replay(dlq, to=unique("nowhere"))


async def test_dead_letters_that_cannot_be_replayed_fail_with_a_reason(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    ghost = unique("ghost")
    dlq = kafka.create(f"{ghost}.DLQ")  # its origin topic does not exist
    kafka.produce(dlq, [b"x", Record(orjson.dumps({"type": "dead_letter", "data": {"metadata": {}}}))])
    plan = await adapter.plan_replay(dlq)
    assert [i.skip_reason for i in plan] == [
        f"target topic {ghost} does not exist", "dead-letter envelope holds no original_message",
    ]  # fmt: skip
    result = await adapter.replay(dlq)
    assert (result.sent, result.failed) == (0, 2)
    assert result.errors[0] == f"{dlq} 0:0: target topic {ghost} does not exist"
    kafka.create(ghost)
    plan = await adapter.plan_replay(dlq)
    assert [i.skip_reason for i in plan] == [None, "dead-letter envelope holds no original_message"]


async def test_unknown_ids_and_bad_ids(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    _origin, dlq = spring_dlq(kafka, 1)
    plan = await adapter.plan_replay(dlq, ids=["0:0", "0:7", "3:0"])
    assert [(i.id, i.skip_reason) for i in plan] == [
        ("0:0", None), ("0:7", f"no such dead letter in {dlq}"), ("3:0", f"no such dead letter in {dlq}"),
    ]  # fmt: skip
    with pytest.raises(UsageError, match="PARTITION:OFFSET"):
        await adapter.plan_replay(dlq, ids=["seven"])
    with pytest.raises(NotFound):
        await adapter.plan_replay(unique("nodlq") + ".DLQ")


async def test_a_copy_beyond_the_search_window_is_counted_as_a_possible_duplicate(
    adapter: KafkaAdapter, kafka: KafkaTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy target pushes a crashed run's copy out of the window searched: the rerun says so."""
    import mqtui.brokers.kafka.replay as kafka_replay

    monkeypatch.setattr(kafka_replay, "SCAN_LIMIT", 3)
    origin = kafka.topic("busy")
    dlq = kafka.create(f"{origin}.DLQ")
    kafka.produce(dlq, [Record(b"d%d" % i, headers=spring_headers(origin, 0, i)) for i in range(2)])
    kafka.produce(origin, [Record(b"d0", headers=[(REPLAYED_FROM, f"{dlq}/0/0".encode())])]
                  + [Record(b"traffic %d" % i) for i in range(5)])  # fmt: skip
    result = await adapter.replay(dlq)
    # Both were among the first MAX_UNRECORDED after the floor, so either may have been sent before:
    # each is reported as a possible duplicate (0:0 really is one).
    assert (result.sent, result.skipped, result.duplicates) == (2, 0, 2)
    assert replayed_copies(kafka, origin) == {f"{dlq}/0/0": 2, f"{dlq}/0/1": 1}


async def test_one_dead_letter_that_cannot_be_sent_does_not_stop_the_others(
    adapter: KafkaAdapter, kafka: KafkaTools
) -> None:
    origin, dlq = spring_dlq(kafka, 0)
    huge = Producer({"bootstrap.servers": kafka.url, "message.max.bytes": 3_000_000, "log_level": 0})
    for value in (b"small-0", b"x" * 2_000_000, b"small-2"):  # one record each: the middle one is too big
        huge.produce(dlq, value, headers=spring_headers(origin, 0, 0))
        huge.flush(10)
    result = await adapter.replay(dlq)
    assert (result.sent, result.failed) == (2, 1)
    assert result.errors[0].startswith(f"{dlq} 0:1: ") and "too large" in result.errors[0]
    assert kafka.committed("mqtui-replay", dlq, 1) == {0: 1}  # the floor waits for 0:1
    again = await adapter.replay(dlq)
    assert (again.sent, again.failed, again.skipped) == (0, 1, 2)  # 0:2's copy is found, not resent
    assert replayed_copies(kafka, origin, 3) == {f"{dlq}/0/0": 1, f"{dlq}/0/2": 1}
