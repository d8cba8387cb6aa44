"""Streams against the real redis-server: group lag and pending, describe, tails that join no group."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from mqtui.brokers.redis import lag as redis_lag
from mqtui.model import StartPosition
from tests.redis.conftest import adapter_for
from tests.redis.support import collect, drain
from tests.support import until

BEGINNING, END = StartPosition("beginning"), StartPosition("end")


def _groups(raw: redis.Redis, stream: str) -> list[dict]:
    """Everything a tail must leave alone: each group's counters and each consumer's pending count."""
    state = []
    for group in raw.xinfo_groups(stream):
        consumers = [(c["name"], c["pending"]) for c in raw.xinfo_consumers(stream, group["name"])]
        state.append({**group, "members": consumers, "pel": raw.xpending(stream, group["name"])})
    return state


def _stream_with_group(raw: redis.Redis, total: int = 20, read: int = 12, acked: int = 5) -> list[bytes]:
    ids = [raw.xadd("events", {"data": f"e{i}", "n": str(i)}) for i in range(total)]
    raw.xgroup_create("events", "g", "0")
    second = min(4, read // 2)
    raw.xreadgroup("g", "c1", {"events": ">"}, count=read - second)
    raw.xreadgroup("g", "c2", {"events": ">"}, count=second)
    raw.xack("events", "g", *ids[:acked])
    return ids


async def test_group_lag_and_pending_after_xadd_xreadgroup_xack(redis_url: str, raw: redis.Redis) -> None:
    ids = _stream_with_group(raw, total=20, read=12, acked=5)
    raw.xgroup_create("events", "late", "$")
    async with adapter_for(redis_url) as adapter:
        rows = {r.group: r for r in await adapter.backlog() if r.destination == "events"}
        only = await adapter.backlog(group="g")
        stream = {d.name: d for d in await adapter.destinations()}["events"]
    g = rows["g"]
    assert (g.lag, g.in_flight, g.consumers) == (8, 7, 2)
    assert g.committed == ids[11].decode() and g.end == ids[-1].decode()
    assert g.members == ("c1", "c2") and g.last_activity is not None
    late = rows["late"]
    assert (late.lag, late.in_flight, late.consumers, late.committed, late.state) == (
        0,
        0,
        0,
        ids[-1].decode(),
        "empty",
    )
    assert [(r.destination, r.group) for r in only] == [("events", "g")]
    assert (stream.depth, stream.in_flight, stream.consumers) == (20, 7, 2)


async def test_describe_stream_and_group_show_consumers_and_deliveries(redis_url: str, raw: redis.Redis) -> None:
    ids = _stream_with_group(raw, total=20, read=12, acked=5)
    raw.xclaim("events", "g", "c2", 0, [ids[6]], retrycount=4)
    async with adapter_for(redis_url) as adapter:
        stream = await adapter.describe("events")
        group = await adapter.describe_group("g")
        scoped = await adapter.describe_group("events@g")
    summary = dict(stream.summary)
    assert (summary["length"], summary["entries-added"], summary["groups"]) == ("20", "20", "1")
    assert stream.sections[0].rows == (("g", "2", "7", ids[11].decode(), "12", "8"),)
    members = {row[1]: row[2] for row in stream.sections[1].rows}
    assert members == {"c1": "2", "c2": "5"}
    consumers = {row[1]: row[2] for row in group.sections[1].rows}
    assert consumers == {"c1": "2", "c2": "5"}
    deliveries = {row[1]: row[4] for row in group.sections[2].rows}
    assert len(deliveries) == 7 and deliveries[ids[6].decode()] == "4"
    assert sum(1 for d in deliveries.values() if d == "1") == 6
    assert scoped.sections[0].rows == group.sections[0].rows


async def test_tail_reads_history_and_joins_no_group(redis_url: str, raw: redis.Redis) -> None:
    _stream_with_group(raw, total=20, read=12, acked=5)
    before, clients_before = _groups(raw, "events"), raw.client_list()
    async with adapter_for(redis_url) as adapter:
        history = await drain(adapter.tail("events", start=BEGINNING, stop_at_end=True))
        nothing = await drain(adapter.tail("events", start=END, stop_at_end=True))
    assert [m.value for m in history] == [f"e{i}".encode() for i in range(20)]
    assert history[3].headers == (("n", b"3"),) and history[3].timestamp is not None
    assert nothing == []
    assert _groups(raw, "events") == before
    assert len(raw.client_list()) == len(clients_before)


async def test_tail_from_an_id_a_time_and_a_bare_number(redis_url: str, raw: redis.Redis) -> None:
    for second in range(1, 21):
        raw.xadd("timed", {"data": f"t{second}"}, id=f"{second * 1000}-0")
    async with adapter_for(redis_url) as adapter:
        from_id = await drain(adapter.tail("timed", start=StartPosition.parse("5000-0"), stop_at_end=True))
        moment = datetime.fromtimestamp(5.5, tz=UTC)
        from_time = await drain(adapter.tail("timed", start=StartPosition("time", time=moment), stop_at_end=True))
        from_number = await drain(adapter.tail("timed", start=StartPosition.parse("5000"), stop_at_end=True))
    assert (len(from_id), from_id[0].position) == (16, "5000-0")
    assert (len(from_time), from_time[0].position) == (15, "6000-0")
    assert [m.position for m in from_number] == [m.position for m in from_id]


async def test_live_tail_sees_history_then_new_entries_and_leaves_groups_alone(
    redis_url: str, raw: redis.Redis
) -> None:
    _stream_with_group(raw, total=3, read=2, acked=1)
    before = _groups(raw, "events")
    producer = aioredis.Redis.from_url(redis_url)
    async with adapter_for(redis_url) as adapter:
        tail = adapter.tail("events", start=BEGINNING)
        reader = asyncio.create_task(collect(tail, 7))
        for index in range(3, 7):
            await producer.xadd("events", {"data": f"e{index}", "n": str(index)})
        messages = await reader
    await producer.aclose()
    assert [m.value for m in messages] == [f"e{i}".encode() for i in range(7)]
    before_groups = [{k: v for k, v in g.items() if k != "lag"} for g in before]
    after_groups = [{k: v for k, v in g.items() if k != "lag"} for g in _groups(raw, "events")]
    assert after_groups == before_groups
    assert raw.xinfo_groups("events")[0]["lag"] == 5


async def test_tail_from_end_shows_only_what_is_added_after_it_started(redis_url: str, raw: redis.Redis) -> None:
    raw.xadd("events", {"data": "old"})
    producer = aioredis.Redis.from_url(redis_url)
    async with adapter_for(redis_url) as adapter:
        reader = asyncio.create_task(collect(adapter.tail("events", start=END), 2))
        await until(lambda: any(c["cmd"] == "xread" for c in raw.client_list()), what="the tail blocked in XREAD")
        await producer.xadd("events", {"data": b"\xff\x00binary"})
        await producer.xadd("events", {"data": "new"})
        messages = await reader
    await producer.aclose()
    assert [m.value for m in messages] == [b"\xff\x00binary", b"new"]


async def test_hand_made_ids_and_binary_field_names_do_not_break_a_tail(redis_url: str, raw: redis.Redis) -> None:
    raw.xadd("odd", {b"\xff\xfename": b"v", "data": b"\x00"}, id="0-1")
    raw.xadd("odd", {"data": "far future"}, id="18446744073709551614-0")
    async with adapter_for(redis_url) as adapter:
        messages = await drain(adapter.tail("odd", start=BEGINNING, stop_at_end=True))
        listed = {d.name: d for d in await adapter.destinations()}
    assert [m.position for m in messages] == ["0-1", "18446744073709551614-0"]
    assert messages[0].headers == (("\\xff\\xfename", b"v"),) and messages[0].value == b"\x00"
    assert messages[1].timestamp is None
    assert listed["odd"].depth == 2


def _xrange_calls(raw: redis.Redis) -> int:
    return int(raw.info("commandstats").get("cmdstat_xrange", {}).get("calls", 0))


async def test_lag_redis_leaves_nil_after_a_deletion_is_counted(
    redis_url: str, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [raw.xadd("events", {"data": f"e{i}"}) for i in range(10)]
    raw.xgroup_create("events", "ahead", "0")
    raw.xgroup_create("events", "behind", "0")
    raw.xreadgroup("ahead", "c", {"events": ">"}, count=8)
    raw.xreadgroup("behind", "c", {"events": ">"}, count=2)
    raw.xdel("events", ids[5])  # between behind's position and the end: Redis 7.0 says lag nil
    assert {g["name"]: g["lag"] for g in raw.xinfo_groups("events")} == {b"ahead": 2, b"behind": None}
    async with adapter_for(redis_url) as adapter:
        rows = {r.group: r for r in await adapter.backlog()}
        detail = await adapter.describe("events")
        assert (rows["behind"].lag, rows["behind"].lag_at_least, rows["ahead"].lag) == (7, False, 2)
        assert [(row[0], row[5]) for row in detail.sections[0].rows] == [("ahead", "2"), ("behind", "7")]
        # Entries only appended since: the count grows by them without reading the stream again.
        for index in range(10, 13):
            raw.xadd("events", {"data": f"e{index}"})
        before = _xrange_calls(raw)
        assert {r.group: r.lag for r in await adapter.backlog()} == {"ahead": 5, "behind": 10}
        assert _xrange_calls(raw) == before
        # Another deletion past its position: counted again, exactly.
        raw.xdel("events", ids[7])
        assert {r.group: r.lag for r in await adapter.backlog()}["behind"] == 9
        assert _xrange_calls(raw) > before
    monkeypatch.setattr(redis_lag, "LIMIT", 4)
    monkeypatch.setattr(redis_lag, "PAGE", 3)
    async with adapter_for(redis_url) as adapter:
        behind = (await adapter.backlog(group="behind"))[0]
    assert (behind.lag, behind.lag_at_least) == (4, True)


async def test_consumer_and_pending_idle_times_grow_from_the_delivery(redis_url: str, raw: redis.Redis) -> None:
    """Bounds that time can only widen: after a known sleep, the idle time is at least that long, and the
    last activity derived from it is no later than the delivery (plus Redis's millisecond rounding)."""
    ids = [raw.xadd("events", {"data": f"e{i}"}) for i in range(2)]
    raw.xgroup_create("events", "g", "0")
    raw.xreadgroup("g", "c", {"events": ">"})
    raw.xclaim("events", "g", "c", 0, [ids[0]], retrycount=5)
    delivered = datetime.now(UTC)
    await asyncio.sleep(0.3)
    async with adapter_for(redis_url) as adapter:
        row = (await adapter.backlog(group="g"))[0]
        letters = await adapter.dead_letters("events@g")
    assert row.last_activity is not None and row.last_activity <= delivered + timedelta(milliseconds=2)
    assert [letter.id for letter in letters] == [ids[0].decode()]
    assert int(letters[0].extra["idle_ms"]) >= 300
