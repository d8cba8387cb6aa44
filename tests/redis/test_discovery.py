"""Discovery against the real redis-server: lists, streams, channels, conventions, bounded SCAN."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
import redis

from mqtui.brokers.redis.streams import PENDING_SCAN_LIMIT
from mqtui.errors import NotFound
from mqtui.model import DestinationKind
from tests.helpers import run_mqtui, write_config
from tests.redis.conftest import adapter_for


def _by_name(destinations):  # type: ignore[no-untyped-def]
    return {d.name: d for d in destinations}


async def test_lists_streams_and_channels_with_exact_numbers(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("orders", *[f"o{i}" for i in range(7)])
    raw.rpoplpush("orders", "orders:processing")
    raw.rpoplpush("orders", "orders:processing")
    raw.lpush("plain", "a", "b", "c")
    raw.lpush("orders:dlq", "d1", "d2", "d3", "d4")
    for index in range(10):
        raw.xadd("events", {"data": f"e{index}"})
    raw.xgroup_create("events", "billing", "0")
    raw.xgroup_create("events", "audit", "$")
    raw.set("a-string", "x")
    raw.hset("a-hash", "f", "v")
    channel = f"mqtui-test-{os.getpid()}-news"
    subscribers = [raw.pubsub(), raw.pubsub()]
    for pubsub in subscribers:
        pubsub.subscribe(channel)
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    try:
        async with adapter_for(redis_url) as adapter:
            found = _by_name(await adapter.destinations())
            everything = _by_name(await adapter.destinations(include_internal=True))
    finally:
        for pubsub in subscribers:
            pubsub.close()

    assert found["orders"].kind is DestinationKind.LIST
    assert (found["orders"].depth, found["orders"].in_flight) == (5, 2)
    assert found["orders"].extra["processing"] == "orders:processing"
    assert (found["plain"].depth, found["plain"].in_flight) == (3, None)
    assert found["orders:dlq"].is_dlq and found["orders:dlq"].depth == 4
    assert found["events"].kind is DestinationKind.STREAM
    assert (found["events"].depth, found["events"].in_flight, found["events"].consumers) == (10, 0, 0)
    assert found["events"].extra["groups"] == "2"
    assert found[channel].kind is DestinationKind.CHANNEL and found[channel].consumers == 2
    assert "a-string" not in found and "a-hash" not in found
    assert "orders:processing" not in found
    assert everything["orders:processing"].internal and everything["orders:processing"].depth == 2
    for name in ("orders", "plain", "events"):
        assert found[name].last_activity is not None
        assert "memory" in found[name].extra


async def test_processing_list_of_an_empty_queue_still_shows_in_flight(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("mail:processing", "m1", "m2", "m3")  # `mail` itself is empty, so Redis has no key for it
    async with adapter_for(redis_url) as adapter:
        found = _by_name(await adapter.destinations())
        rows = {(r.destination, r.group): r for r in await adapter.backlog()}
    assert (found["mail"].depth, found["mail"].in_flight) == (0, 3)
    assert (rows["mail", "(list)"].lag, rows["mail", "(list)"].in_flight) == (0, 3)


async def test_an_emptied_list_disappears_at_the_next_poll(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("short-lived", "x")
    async with adapter_for(redis_url) as adapter:
        assert "short-lived" in _by_name(await adapter.destinations())
        raw.rpop("short-lived")
        assert "short-lived" not in _by_name(await adapter.destinations())


async def test_key_patterns_limit_what_is_shown(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("orders", "1")
    raw.lpush("orders:dlq", "1")
    raw.lpush("payments", "1")
    raw.xadd("order-events", {"data": "x"})
    async with adapter_for(redis_url, key_patterns=["order*"]) as adapter:
        names = set(_by_name(await adapter.destinations()))
    assert names == {"orders", "orders:dlq", "order-events"}


async def test_scan_work_per_poll_is_bounded_and_the_cursor_continues(redis_url: str, raw: redis.Redis) -> None:
    pipe = raw.pipeline(transaction=False)
    for index in range(3000):
        pipe.set(f"filler:{index}", "x")
    pipe.execute()
    raw.lpush("needle:1", "x")
    raw.lpush("needle:2", "x", "y")
    raw.xadd("needle:3", {"data": "z"})
    wanted = {"needle:1", "needle:2", "needle:3"}
    limit = 200

    def type_calls() -> int:
        return int(raw.info("commandstats").get("cmdstat_type", {}).get("calls", 0))

    keys_before = raw.info("commandstats").get("cmdstat_keys", {}).get("calls", 0)
    async with adapter_for(redis_url, scan_limit=limit) as adapter:
        seen: set[str] = set()
        per_poll: list[int] = []
        while sum(per_poll) < 3003:  # until one whole pass over the keyspace has been typed
            before = type_calls()
            seen |= set(_by_name(await adapter.destinations()))
            per_poll.append(type_calls() - before)
        # The pass took many bounded polls, each continuing where the previous one stopped.
        assert len(per_poll) >= 3003 // (2 * limit)
        assert max(per_poll) <= 2 * limit
        assert wanted <= seen
        assert wanted <= set(_by_name(await adapter.destinations()))
    assert raw.info("commandstats").get("cmdstat_keys", {}).get("calls", 0) == keys_before


async def test_describe_a_list_and_a_missing_name(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("orders", *[f"o{i}" for i in range(7)])
    raw.rpoplpush("orders", "orders:processing")
    raw.lpush("orders:dlq", "dead")
    async with adapter_for(redis_url) as adapter:
        detail = await adapter.describe("orders")
        with pytest.raises(NotFound):
            await adapter.describe("no-such-key")
    summary = dict(detail.summary)
    assert summary["length"] == "6"
    assert summary["orders:processing"] == "1 element(s)"
    assert summary["orders:dlq"] == "1 element(s)"
    assert [row[1] for row in detail.sections[0].rows] == ["o1", "o2", "o3", "o4", "o5", "o6"]


async def test_celery_queue_depth_and_unacked_are_read_from_kombu_keys(redis_url: str, raw: redis.Redis) -> None:
    sep = "\x06\x16"

    def envelope(task_id: str, queue: str) -> bytes:
        return orjson.dumps({"body": "W10=", "content-encoding": "utf-8", "content-type": "application/json",
                             "headers": {"id": task_id, "task": "tasks.add"},
                             "properties": {"delivery_info": {"exchange": "", "routing_key": queue},
                                            "delivery_tag": task_id, "priority": 0}})  # fmt: skip

    raw.sadd("_kombu.binding.celery", f"celery{sep}{sep}celery")
    raw.sadd("_kombu.binding.emails", f"emails{sep}{sep}emails")
    raw.sadd("_kombu.binding.celery.pidbox", f"{sep}{sep}worker1@host.celery.pidbox")
    raw.lpush("celery", *(envelope(f"t{i}", "celery") for i in range(3)))
    raw.lpush(f"celery{sep}3", *(envelope(f"p{i}", "celery") for i in range(2)))
    raw.lpush("emails", envelope("e0", "emails"))
    for tag, queue in (("u1", "celery"), ("u2", "celery"), ("u3", "emails")):
        raw.hset("unacked", tag, orjson.dumps([orjson.loads(envelope(tag, queue)), "", queue]))
        raw.zadd("unacked_index", {tag: 1700000000.0})
    async with adapter_for(redis_url) as adapter:
        found = _by_name(await adapter.destinations())
        rows = {(r.destination, r.group): r for r in await adapter.backlog()}
    assert (found["celery"].depth, found["celery"].in_flight) == (5, 2)
    assert (found["emails"].depth, found["emails"].in_flight) == (1, 1)
    assert found["celery"].extra["convention"] == "celery"
    assert f"celery{sep}3" not in found
    assert (rows["celery", "(celery)"].lag, rows["celery", "(celery)"].in_flight) == (5, 2)
    assert not any("pidbox" in name for name in found)


async def test_rq_queue_depth_and_in_flight(redis_url: str, raw: redis.Redis) -> None:
    raw.rpush("rq:queue:default", "j1", "j2", "j3")
    raw.sadd("rq:queues", "rq:queue:default", "rq:queue:idle")
    raw.zadd("rq:wip:default", {"j0:exec1": 1e10})
    raw.rpush("rq:queue:default:intermediate", "j9")
    raw.zadd("rq:failed:default", {"jf": 1e10})
    async with adapter_for(redis_url) as adapter:
        found = _by_name(await adapter.destinations())
        rows = {(r.destination, r.group): r for r in await adapter.backlog()}
    queue = found["rq:queue:default"]
    assert (queue.depth, queue.in_flight, queue.extra["convention"], queue.extra["rq_failed"]) == (3, 2, "rq", "1")
    assert (found["rq:queue:idle"].depth, found["rq:queue:idle"].in_flight) == (0, 0)
    assert rows["rq:queue:default", "(rq)"].lag == 3
    assert "rq:queue:default:intermediate" not in found


async def test_keys_past_the_scan_limit_are_announced_not_dropped_silently(redis_url: str, raw: redis.Redis) -> None:
    for index in range(30):
        raw.lpush(f"q:{index:02d}", "x")
    raw.set("filler", "x")
    async with adapter_for(redis_url, scan_limit=10) as adapter:
        first = set(_by_name(await adapter.destinations()))
        assert len(first) <= 10
        assert adapter.notices[0].startswith("r: scanned about 10 of ~31 keys so far, 10 per poll")
        shown = first
        while adapter.notices[0].startswith("r: scanned about"):  # until one pass went round the keyspace
            shown = set(_by_name(await adapter.destinations()))
    assert shown == {f"q:{index:02d}" for index in range(10)}  # the first 10 by name
    assert adapter.notices == [
        "r: 30 lists, streams and job keys found; only the first 10 by name are shown "
        "(narrow key_patterns or raise scan_limit)"
    ]


def test_the_cli_prints_what_a_bounded_scan_left_out(redis_url: str, raw: redis.Redis, tmp_path: Path) -> None:
    for index in range(30):
        raw.lpush(f"q:{index:02d}", "x")
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "r", "kind": "redis", "url": redis_url, "scan_limit": 10}]}})  # fmt: skip
    result = run_mqtui("--config", str(config), "-p", "p", "ls", "--json")
    assert result.code == 0 and len(result.json_lines()) <= 10
    assert result.err.startswith("mqtui: r: scanned about 10 of ~30 keys so far"), result.err


async def test_dead_letters_counted_in_the_oldest_pending_entries_say_so(redis_url: str, raw: redis.Redis) -> None:
    total = PENDING_SCAN_LIMIT + 500
    pipe = raw.pipeline(transaction=False)
    for index in range(total):
        pipe.xadd("events", {"data": str(index)})
    pipe.execute()
    raw.xgroup_create("events", "g", "0")
    raw.xreadgroup("g", "c", {"events": ">"})
    async with adapter_for(redis_url, max_deliveries=1) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        notices = adapter.notices
    dlq = queues["events@g"]
    assert (dlq.count, dlq.detected_by) == (PENDING_SCAN_LIMIT, "max deliveries (1), in the oldest 10,000 pending")
    assert notices == [
        "r: events@g has 10,500 pending entries; its dead letters were counted in the oldest 10,000 only "
        "(at least 10,000; `dlq show` reads them all)"
    ]
