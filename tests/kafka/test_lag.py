"""Consumer-group lag: exact committed offsets, ends and lags per partition, in batched requests."""

from __future__ import annotations

import pytest

from mqtui.brokers.kafka.adapter import KafkaAdapter
from mqtui.errors import NotFound
from tests.kafka.conftest import KafkaTools, Record, unique


def produce_spread(kafka: KafkaTools, topic: str, per_partition: dict[int, int]) -> None:
    kafka.produce(topic, [Record(b"m%d" % i, partition=p) for p, n in per_partition.items() for i in range(n)])


async def test_lag_after_producing_n_and_consuming_m(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("lag", partitions=3)
    produce_spread(kafka, topic, {0: 10, 1: 6, 2: 4})  # N = 20
    group = unique("billing")
    kafka.consume_and_commit(group, topic, 0, 7)  # M = 7 + 6 on two partitions, nothing on the third
    kafka.consume_and_commit(group, topic, 1, 6)
    rows = {r.partition: r for r in await adapter.backlog(group=group)}
    assert [(rows[p].committed, rows[p].end, rows[p].lag) for p in (0, 1, 2)] == [(7, 10, 3), (6, 6, 0), (None, 4, 4)]
    assert {r.destination for r in rows.values()} == {topic}
    assert all(r.group == group and r.state == "empty" and r.consumers == 0 for r in rows.values())
    assert sum(r.lag or 0 for r in rows.values()) == 20 - 13


async def test_every_group_is_listed_and_a_filter_keeps_one(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("multi", partitions=2)
    produce_spread(kafka, topic, {0: 5, 1: 5})
    fast, slow = unique("fast"), unique("slow")
    kafka.commit(fast, topic, {0: 5, 1: 5})
    kafka.commit(slow, topic, {0: 1, 1: 2})
    everything = [r for r in await adapter.backlog() if r.destination == topic]
    by_group = {(r.group, r.partition): r.lag for r in everything}
    assert by_group == {(fast, 0): 0, (fast, 1): 0, (slow, 0): 4, (slow, 1): 3}
    only = await adapter.backlog(group=slow)
    assert {(r.group, r.partition, r.lag) for r in only} == {(slow, 0, 4), (slow, 1, 3)}


async def test_lag_is_never_negative(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("ahead")
    kafka.produce(topic, [b"a", b"b", b"c"])
    group = unique("ahead")
    kafka.commit(group, topic, {0: 50})  # committed beyond the end (an offset set by hand, a truncated log)
    [row] = await adapter.backlog(group=group)
    assert (row.committed, row.end, row.lag) == (50, 3, 0)


async def test_a_poll_batches_its_requests(adapter: KafkaAdapter, kafka: KafkaTools, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    topic = kafka.topic("batch", partitions=6)
    produce_spread(kafka, topic, dict.fromkeys(range(6), 2))
    groups = [unique("g") for _ in range(4)]
    for group in groups:
        kafka.commit(group, topic, dict.fromkeys(range(6), 1))
    calls: dict[str, int] = {"offsets": 0, "committed": 0}
    clients = adapter.clients
    original_offsets, original_committed = clients.offsets, clients.committed

    async def counting_offsets(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["offsets"] += 1
        return await original_offsets(*args, **kwargs)

    async def counting_committed(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["committed"] += 1
        return await original_committed(*args, **kwargs)

    monkeypatch.setattr(clients, "offsets", counting_offsets)
    monkeypatch.setattr(clients, "committed", counting_committed)
    rows = await adapter.backlog()
    listed = {r.group for r in rows}
    assert set(groups) <= listed
    # One ListOffsets for every partition of every group (latest) plus one for uncommitted partitions
    # (earliest), and one OffsetFetch per group: never one request per partition.
    assert calls["offsets"] == 2
    assert calls["committed"] == len(listed)
    assert len([r for r in rows if r.destination == topic]) == 6 * 4


async def test_describe_group_shows_state_members_and_offsets(adapter: KafkaAdapter, kafka: KafkaTools) -> None:
    topic = kafka.topic("dg", partitions=2)
    produce_spread(kafka, topic, {0: 3, 1: 2})
    group = unique("dg")
    kafka.commit(group, topic, {0: 1})
    detail = await adapter.describe_group(group)
    summary = dict(detail.summary)
    assert summary["state"] == "empty" and summary["members"] == "0" and summary["total lag"] == "4"
    members, offsets = detail.sections
    assert members.rows == ()
    assert [row[:5] for row in offsets.rows] == [(topic, "0", "1", "3", "2"), (topic, "1", "-", "2", "2")]


async def test_unknown_group_is_not_found(adapter: KafkaAdapter) -> None:
    name = unique("ghost")
    with pytest.raises(NotFound, match=f"no consumer group '{name}'"):
        await adapter.backlog(group=name)
    with pytest.raises(NotFound):
        await adapter.describe_group(name)
