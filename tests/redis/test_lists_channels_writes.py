"""Lists and channels against the real redis-server: non-destructive tails, publish, purge."""

from __future__ import annotations

import asyncio
import os

import pytest
import redis
import redis.asyncio as aioredis

from mqtui.errors import BrokerError, NotFound, NotPossible, UsageError
from mqtui.model import OutgoingMessage, StartPosition
from tests.redis.conftest import adapter_for
from tests.redis.support import collect, drain
from tests.support import until

BEGINNING, END = StartPosition("beginning"), StartPosition("end")


def _calls(raw: redis.Redis, command: str) -> int:
    return int(raw.info("commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


async def test_list_tail_reads_history_then_new_pushes_without_removing_anything(
    redis_url: str, raw: redis.Redis
) -> None:
    raw.lpush("jobs", "o0", "o1", "o2")
    producer = aioredis.Redis.from_url(redis_url)
    async with adapter_for(redis_url) as adapter:
        reader = asyncio.create_task(collect(adapter.tail("jobs", start=BEGINNING), 7))
        for index in range(3, 7):
            await producer.lpush("jobs", f"o{index}")
        messages = await reader
    await producer.aclose()
    assert [m.value for m in messages] == [f"o{i}".encode() for i in range(7)]
    assert raw.llen("jobs") == 7


async def test_list_tail_positions_offsets_and_what_lists_cannot_do(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("jobs", *[f"o{i}" for i in range(6)])
    async with adapter_for(redis_url) as adapter:
        everything = await drain(adapter.tail("jobs", start=BEGINNING, stop_at_end=True))
        skipped = await drain(adapter.tail("jobs", start=StartPosition.parse("2"), stop_at_end=True))
        assert await drain(adapter.tail("jobs", start=END, stop_at_end=True)) == []
        with pytest.raises(NotPossible, match=r"^r: a Redis list has no times or ids; tail jobs from "):
            await drain(adapter.tail("jobs", start=StartPosition.parse("2024-01-01T00:00:00Z"), stop_at_end=True))
    assert [(m.position, m.value) for m in everything] == [(i, f"o{i}".encode()) for i in range(6)]
    assert [m.value for m in skipped] == [b"o2", b"o3", b"o4", b"o5"]


async def test_list_tail_from_end_sees_only_new_pushes(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("jobs", "old1", "old2")
    producer = aioredis.Redis.from_url(redis_url)
    async with adapter_for(redis_url) as adapter:
        before = _calls(raw, "exec")
        reader = asyncio.create_task(collect(adapter.tail("jobs", start=END), 3))
        await until(lambda: _calls(raw, "exec") > before, what="the tail's EXEC")  # the tail has read where the end is
        await producer.lpush("jobs", "new1")
        await producer.lpush("jobs", "new2", b"\xff\xfe")
        messages = await reader
    await producer.aclose()
    assert [m.value for m in messages] == [b"new1", b"new2", b"\xff\xfe"]
    assert [m.position for m in messages] == [2, 3, 4]


async def test_rq_queue_is_read_in_its_own_rpush_order(redis_url: str, raw: redis.Redis) -> None:
    raw.rpush("rq:queue:default", "job-1", "job-2", "job-3")
    async with adapter_for(redis_url) as adapter:
        messages = await drain(adapter.tail("rq:queue:default", start=BEGINNING, stop_at_end=True))
    assert [m.value for m in messages] == [b"job-1", b"job-2", b"job-3"]


async def test_pattern_tail_uses_psubscribe(redis_url: str, raw: redis.Redis) -> None:
    prefix = f"mqtui-test-{os.getpid()}"
    patterns_before = raw.pubsub_numpat()
    async with adapter_for(redis_url) as adapter:
        reader = asyncio.create_task(collect(adapter.tail(f"{prefix}.*", start=END), 2))
        await until(lambda: raw.pubsub_numpat() > patterns_before, what="the tail's pattern subscription")
        raw.publish(f"{prefix}.a", "one")
        raw.publish(f"{prefix}-elsewhere", "not matched")
        raw.publish(f"{prefix}.b", b"\x00two")
        messages = await reader
    assert [(m.destination, m.value, m.position) for m in messages] == [
        (f"{prefix}.a", b"one", 1),
        (f"{prefix}.b", b"\x00two", 2),
    ]
    await until(lambda: raw.pubsub_numpat() == patterns_before, what="the pattern subscription gone")


async def test_channel_tail_subscribes_to_a_channel_with_subscribers(redis_url: str, raw: redis.Redis) -> None:
    channel = f"mqtui-test-{os.getpid()}-alerts"
    listener = raw.pubsub()
    listener.subscribe(channel)
    assert listener.get_message(timeout=2)["type"] == "subscribe"
    try:
        async with adapter_for(redis_url) as adapter:
            assert await drain(adapter.tail(channel, start=END, stop_at_end=True)) == []
            reader = asyncio.create_task(collect(adapter.tail(channel, start=END), 3))
            await until(lambda: dict(raw.pubsub_numsub(channel))[channel.encode()] == 2, what="2 subscribers")
            for index in range(3):
                raw.publish(channel, f"a{index}")
            messages = await reader
    finally:
        listener.close()
    assert [m.value for m in messages] == [b"a0", b"a1", b"a2"]


async def test_publish_to_a_list_counts_and_orders(redis_url: str, raw: redis.Redis) -> None:
    messages = [OutgoingMessage(f"m{i}".encode()) for i in range(5)]
    async with adapter_for(redis_url) as adapter:
        result = await adapter.publish("jobs", messages)
        with pytest.raises(NotPossible, match="a Redis list carries bare values"):
            await adapter.publish("jobs", [OutgoingMessage(b"x", headers=(("h", b"v"),))])
        assert "jobs" in {d.name for d in await adapter.destinations()}
    assert (result.sent, result.failed, result.positions) == (5, (), (0, 1, 2, 3, 4))
    assert raw.lrange("jobs", 0, -1) == [b"m4", b"m3", b"m2", b"m1", b"m0"]


async def test_publish_to_a_stream_with_key_headers_fields_and_maxlen(redis_url: str, raw: redis.Redis) -> None:
    async with adapter_for(redis_url) as adapter:
        plain = await adapter.publish(
            "events",
            [OutgoingMessage(b"v1", key=b"k1", headers=(("source", b"test"), ("n", b"1")))],
            options={"type": "stream"},
        )
        fields = await adapter.publish(
            "events",
            [OutgoingMessage(b'{"order": "o-1", "qty": 2}'), OutgoingMessage(b"not json")],
            options={"fields": "json"},
        )
        trimmed = await adapter.publish(
            "capped", [OutgoingMessage(b"x")] * 500, options={"type": "stream", "maxlen": "100"}
        )
        read = await drain(adapter.tail("events", start=BEGINNING, stop_at_end=True))
        with pytest.raises(UsageError, match="unknown --prop exchange"):
            await adapter.publish("events", [OutgoingMessage(b"x")], options={"exchange": "nope"})
    entries = raw.xrange("events")
    assert entries[0][1] == {b"data": b"v1", b"key": b"k1", b"source": b"test", b"n": b"1"}
    assert entries[1][1] == {b"order": b"o-1", b"qty": b"2"}
    assert (plain.sent, fields.sent, fields.failed) == (1, 1, ((1, "fields=json needs a JSON object value"),))
    assert plain.positions == (entries[0][0].decode(),)
    assert (read[0].key, read[0].value, read[0].headers) == (b"k1", b"v1", (("source", b"test"), ("n", b"1")))
    assert trimmed.sent == 500 and 100 <= raw.xlen("capped") < 500


async def test_publish_to_a_channel_reports_unroutable(redis_url: str, raw: redis.Redis) -> None:
    channel = f"mqtui-test-{os.getpid()}-pub"
    async with adapter_for(redis_url) as adapter:
        nobody = await adapter.publish(channel, [OutgoingMessage(b"x")] * 3, options={"type": "channel"})
        listener = raw.pubsub()
        listener.subscribe(channel)
        assert listener.get_message(timeout=2)["type"] == "subscribe"
        heard = await adapter.publish(channel, [OutgoingMessage(b"y")] * 2, options={"type": "channel"})
        received = [listener.get_message(timeout=2)["data"] for _ in range(2)]
        listener.close()
    assert (nobody.sent, nobody.unroutable) == (3, 3)
    assert (heard.sent, heard.unroutable, received) == (2, 0, [b"y", b"y"])


async def test_publish_refuses_a_key_of_another_type(redis_url: str, raw: redis.Redis) -> None:
    raw.hset("a-hash", "f", "v")
    raw.lpush("a-list", "x")
    async with adapter_for(redis_url) as adapter:
        with pytest.raises(BrokerError, match="a-hash is a hash"):
            await adapter.publish("a-hash", [OutgoingMessage(b"x")])
        with pytest.raises(BrokerError, match="a-list is a list, not a stream"):
            await adapter.publish("a-list", [OutgoingMessage(b"x")], options={"type": "stream"})
        # Tailing or purging a hash is refused for that key alone: Redis tails and purges lists and streams.
        with pytest.raises(NotPossible, match="a-hash is a hash; only lists, streams and channels tail"):
            await drain(adapter.tail("a-hash", start=BEGINNING, stop_at_end=True))
        with pytest.raises(NotPossible, match="a-hash is a hash; only lists and streams can be purged"):
            await adapter.purge("a-hash")
    assert raw.llen("a-list") == 1 and raw.hgetall("a-hash") == {b"f": b"v"}


async def test_purge_a_list_and_a_stream_keeping_its_groups(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("jobs", *range(5))
    for index in range(10):
        raw.xadd("events", {"data": str(index)})
    raw.xgroup_create("events", "g", "0")
    async with adapter_for(redis_url) as adapter:
        assert await adapter.purge("jobs") == 5
        assert await adapter.purge("events") == 10
        with pytest.raises(NotFound):
            await adapter.purge("jobs")
        rows = await adapter.backlog(group="g")
    assert raw.exists("jobs") == 0
    assert raw.xlen("events") == 0
    assert [g["name"] for g in raw.xinfo_groups("events")] == [b"g"]
    assert (rows[0].lag, rows[0].in_flight) == (0, 0)


async def test_peek_reads_oldest_first_in_each_convention_and_changes_nothing(redis_url: str, raw: redis.Redis) -> None:
    raw.rpush("rq:queue:default", "job-1", "job-2", "job-3")  # RQ: RPUSH, LPOP
    raw.lpush("jobs", "a", "b", "c")  # LPUSH, BRPOP
    raw.hset("a-hash", "f", "v")
    async with adapter_for(redis_url) as adapter:
        rq = await adapter.peek("rq:queue:default", limit=2)
        plain = await adapter.peek("jobs")
        assert await adapter.peek("no-such-list") == []
        with pytest.raises(NotPossible, match="a-hash is a hash"):
            await adapter.peek("a-hash")
    assert [(m.position, m.value) for m in rq] == [(0, b"job-1"), (1, b"job-2")]
    assert [m.value for m in plain] == [b"a", b"b", b"c"]
    assert raw.lrange("rq:queue:default", 0, -1) == [b"job-1", b"job-2", b"job-3"] and raw.llen("jobs") == 3


async def test_publish_to_a_celery_queue_is_refused_and_purge_is_not(redis_url: str, raw: redis.Redis) -> None:
    raw.sadd("_kombu.binding.celery", "celery\x06\x16\x06\x16celery")
    raw.lpush("celery", b'{"body": "W10=", "headers": {"task": "tasks.add"}}')
    async with adapter_for(redis_url) as adapter:
        with pytest.raises(NotPossible, match="celery is a Celery queue, which mqtui only reads"):
            await adapter.publish("celery", [OutgoingMessage(b"x")])
        assert raw.llen("celery") == 1
        plain = await adapter.publish("not-celery", [OutgoingMessage(b"x")])
        assert await adapter.purge("celery") == 1
    assert plain.sent == 1 and raw.exists("celery") == 0
