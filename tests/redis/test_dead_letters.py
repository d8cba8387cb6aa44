"""Dead letters against the real redis-server: DLQ lists and streams, over-delivered stream entries, RQ.

Every requeue is checked for exact counts on both sides, and run a second time to show it moves
nothing twice.
"""

from __future__ import annotations

import base64
import hashlib
import time
import zlib
from datetime import UTC, datetime

import orjson
import pytest
import redis

from mqtui.brokers.redis.bigentry import BigEntryMover
from mqtui.brokers.redis.dlq import DeadLetters
from mqtui.brokers.redis.letters import DlqRef, element_id
from mqtui.brokers.redis.requeue import BATCH, Planned
from mqtui.errors import NotFound
from mqtui.model import DestinationKind
from tests.redis.conftest import adapter_for


def _message(index: int) -> bytes:
    return orjson.dumps({"id": f"m{index}", "type": "order.created", "payload": {"n": index},
                         "timestamp": "2024-05-01T12:00:00Z", "error": f"boom {index}"})  # fmt: skip


async def test_dlq_list_requeue_is_exact_and_keeps_message_ids(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("jobs", *[f"live{i}" for i in range(5)])
    raw.lpush("jobs:dlq", *[_message(i) for i in range(100)])  # m0 is the oldest
    async with adapter_for(redis_url) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        letters = await adapter.dead_letters("jobs:dlq", limit=10)
        plan = await adapter.plan_replay("jobs:dlq")
        first = await adapter.replay("jobs:dlq", limit=30)
        assert (raw.llen("jobs:dlq"), raw.llen("jobs")) == (70, 35)
        rest = await adapter.replay("jobs:dlq")
        again = await adapter.replay("jobs:dlq")
    dlq = queues["jobs:dlq"]
    assert (dlq.kind, dlq.origin, dlq.count, dlq.detected_by) == (DestinationKind.LIST, "jobs", 100, "naming rule")
    assert [letter.id for letter in letters] == [f"m{i}" for i in range(10)]
    assert (letters[3].reason, letters[3].origin, letters[3].message.position) == ("boom 3", "jobs", 3)
    assert len(plan) == 100 and {item.target for item in plan} == {"jobs"}
    assert (first.sent, first.failed, first.skipped, first.duplicates) == (30, 0, 0, 0)
    assert (rest.sent, again.sent, again.skipped) == (70, 0, 0)
    assert raw.exists("jobs:dlq") == 0
    oldest_first = list(reversed(raw.lrange("jobs", 0, -1)))
    assert oldest_first == [f"live{i}".encode() for i in range(5)] + [_message(i) for i in range(100)]


async def test_dlq_list_requeue_and_delete_by_id(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("jobs:dead", _message(1), b"opaque", _message(2), b"opaque", _message(3), _message(4))
    opaque_id = f"sha1:{hashlib.sha1(b'opaque').hexdigest()[:16]}"
    async with adapter_for(redis_url) as adapter:
        ids = [letter.id for letter in await adapter.dead_letters("jobs:dead")]
        plan = await adapter.plan_replay("jobs:dead", ids=["m2", opaque_id])
        result = await adapter.replay("jobs:dead", ids=["m2", opaque_id])
        deleted = await adapter.delete_dead_letters("jobs:dead", ["m3", "no-such-id"])
    assert ids == ["m1", opaque_id, "m2", opaque_id, "m3", "m4"]
    assert [item.id for item in plan] == [opaque_id, "m2", opaque_id]
    assert (result.sent, result.failed, result.skipped) == (3, 0, 0)
    assert deleted == 1
    assert sorted(raw.lrange("jobs", 0, -1)) == sorted([b"opaque", b"opaque", _message(2)])
    assert list(reversed(raw.lrange("jobs:dead", 0, -1))) == [_message(1), _message(4)]


async def test_dlq_list_requeue_into_a_stream_and_one_without_an_origin(redis_url: str, raw: redis.Redis) -> None:
    raw.xadd("events", {"data": "existing"})
    raw.lpush("parking", b"p1", b"p2", b"\xff")
    async with adapter_for(redis_url) as adapter:
        plan = await adapter.plan_replay("parking")
        refused = await adapter.replay("parking")
        moved = await adapter.replay("parking", to="events")
    assert {item.skip_reason for item in plan} == {"no origin known for this dead-letter queue: pass --to"}
    assert (refused.sent, refused.skipped) == (0, 3)
    assert (moved.sent, moved.failed) == (3, 0)
    assert [fields for _, fields in raw.xrange("events")] == [
        {b"data": b"existing"}, {b"data": b"p1"}, {b"data": b"p2"}, {b"data": b"\xff"},
    ]  # fmt: skip
    assert raw.exists("parking") == 0


def _over_delivered(raw: redis.Redis) -> list[bytes]:
    """10 entries; group g read them all and acked 4; entries 1, 2 and 8 were delivered 5 times, 3 three
    times. Group `other` has read entries 0-4, so requeuing 1 and 2 into the stream gives it duplicates."""
    ids = [raw.xadd("events", {"data": f"e{i}", "n": str(i)}) for i in range(10)]
    raw.xgroup_create("events", "g", "0")
    raw.xgroup_create("events", "other", "0")
    raw.xreadgroup("g", "worker", {"events": ">"}, count=10)
    raw.xreadgroup("other", "o", {"events": ">"}, count=5)
    raw.xack("events", "other", *ids[:5])
    raw.xack("events", "g", ids[0], ids[4], ids[5], ids[6])
    raw.xclaim("events", "g", "worker", 0, [ids[1], ids[2], ids[8]], retrycount=5)
    raw.xclaim("events", "g", "worker", 0, [ids[3]], retrycount=3)
    return ids


async def test_stream_entries_past_max_deliveries_requeue_exactly(redis_url: str, raw: redis.Redis) -> None:
    ids = _over_delivered(raw)
    async with adapter_for(redis_url) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        letters = await adapter.dead_letters("events@g")
        result = await adapter.replay("events@g")
        again = await adapter.replay("events@g")
        rows = {r.group: r for r in await adapter.backlog() if r.destination == "events"}
    dlq = queues["events@g"]
    assert (dlq.origin, dlq.count, dlq.detected_by) == ("events", 3, "max deliveries (5)")
    assert [(letter.id, letter.attempts) for letter in letters] == [
        (ids[1].decode(), 5), (ids[2].decode(), 5), (ids[8].decode(), 5),
    ]  # fmt: skip
    assert letters[0].message.value == b"e1" and letters[0].extra["consumer"] == "worker"
    assert (result.sent, result.failed, result.skipped, result.duplicates) == (3, 0, 0, 2)
    assert (again.sent, again.skipped) == (0, 0)
    # 3 originals deleted and 3 copies added; g keeps 6 - 3 pending and sees the 3 copies as new.
    assert raw.xlen("events") == 10
    assert (rows["g"].in_flight, rows["g"].lag) == (3, 3)
    copies = raw.xreadgroup("g", "worker", {"events": ">"})[0][1]
    assert [fields[b"data"] for _, fields in copies] == [b"e1", b"e2", b"e8"]
    assert all(raw.xrange("events", i, i) == [] for i in (ids[1], ids[2], ids[8]))


async def test_stream_dead_letters_moved_elsewhere_stay_for_other_groups(redis_url: str, raw: redis.Redis) -> None:
    ids = _over_delivered(raw)
    async with adapter_for(redis_url) as adapter:
        result = await adapter.replay("events@g", to="events:parked", ids=[ids[8].decode()])
        acked = await adapter.delete_dead_letters("events@g", [ids[1].decode()])
        left = [letter.id for letter in await adapter.dead_letters("events@g")]
    assert (result.sent, result.duplicates) == (1, 0)
    assert [fields for _, fields in raw.xrange("events:parked")] == [{b"data": b"e8", b"n": b"8"}]
    assert raw.xlen("events") == 10  # the original stays: another group may still read it
    assert acked == 1 and left == [ids[2].decode()]
    assert raw.xpending("events", "g")["pending"] == 4


async def test_dlq_stream_requeue_is_exact(redis_url: str, raw: redis.Redis) -> None:
    raw.xadd("events", {"data": "live"})
    for index in range(5):
        raw.xadd("events:dlq", {"data": _message(index), "error": f"failed {index}", "attempts": "3"})
    async with adapter_for(redis_url) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        letters = await adapter.dead_letters("events:dlq")
        result = await adapter.replay("events:dlq")
        again = await adapter.replay("events:dlq")
    assert (queues["events:dlq"].count, queues["events:dlq"].origin) == (5, "events")
    assert queues["events:dlq"].oldest is not None
    assert [(letter.reason, letter.attempts) for letter in letters][:2] == [("failed 0", 3), ("failed 1", 3)]
    assert (result.sent, again.sent) == (5, 0)
    assert raw.xlen("events:dlq") == 0 and raw.xlen("events") == 6
    moved = [fields for _, fields in raw.xrange("events")][1:]
    assert moved == [{b"data": _message(i), b"error": f"failed {i}".encode(), b"attempts": b"3"} for i in range(5)]


def _rq_failed_job(raw: redis.Redis, job_id: str, exc: str, *, new_style: bool, queue: str = "default") -> None:
    """The keys RQ writes for a job that failed (rq < 1.12 keeps exc_info in the hash, newer a results stream)."""
    now = "2024-05-01T12:00:00.000000Z"
    job = {
        "created_at": now, "data": zlib.compress(b"\x80\x04pickled-call"), "origin": queue,
        "description": f"tasks.work('{job_id}')", "enqueued_at": now, "started_at": now, "ended_at": now,
        "status": "failed", "timeout": "180", "worker_name": "w1", "last_heartbeat": now,
    }  # fmt: skip
    if not new_style:
        job["exc_info"] = zlib.compress(exc.encode())
    raw.hset(f"rq:job:{job_id}", mapping=job)
    if new_style:
        encoded = base64.b64encode(zlib.compress(exc.encode())).decode()
        raw.xadd(f"rq:results:{job_id}", {"type": 2, "worker_name": "w1", "exc_string": encoded})
    raw.zadd(f"rq:failed:{queue}", {job_id: time.time() + 31536000})
    raw.sadd("rq:queues", f"rq:queue:{queue}")


async def test_rq_failed_jobs_are_listed_and_requeued_the_way_rq_does(redis_url: str, raw: redis.Redis) -> None:
    trace = 'Traceback (most recent call last):\n  File "tasks.py", line 3, in work\n'
    _rq_failed_job(raw, "job-a", trace + "ZeroDivisionError: division by zero\n", new_style=False)
    _rq_failed_job(raw, "job-b", trace + "KeyError: 'x'\n", new_style=True)
    raw.rpush("rq:queue:default", "job-waiting")
    async with adapter_for(redis_url) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        letters = {letter.id: letter for letter in await adapter.dead_letters("rq:failed:default")}
        result = await adapter.replay("rq:failed:default")
        again = await adapter.replay("rq:failed:default")
    dlq = queues["rq:failed:default"]
    assert (dlq.origin, dlq.count, dlq.detected_by) == ("rq:queue:default", 2, "rq failed registry")
    assert letters["job-a"].reason == "ZeroDivisionError: division by zero"
    assert letters["job-b"].reason == "KeyError: 'x'"
    assert (letters["job-a"].origin, letters["job-a"].message.value) == ("rq:queue:default", b"tasks.work('job-a')")
    assert (result.sent, result.failed, again.sent) == (2, 0, 0)
    assert raw.exists("rq:failed:default") == 0
    assert raw.lrange("rq:queue:default", 0, -1) == [b"job-waiting", b"job-a", b"job-b"]
    job = raw.hgetall("rq:job:job-a")
    assert (job[b"status"], job[b"origin"], job[b"started_at"], job[b"ended_at"]) == (b"queued", b"default", b"", b"")
    assert b"exc_info" not in job and job[b"enqueued_at"] != b"2024-05-01T12:00:00.000000Z"
    assert raw.sismember("rq:queues", "rq:queue:default")


async def test_rq_requeue_to_another_queue_and_delete(redis_url: str, raw: redis.Redis) -> None:
    _rq_failed_job(raw, "job-c", "ValueError: bad\n", new_style=True, queue="low")
    _rq_failed_job(raw, "job-d", "ValueError: bad\n", new_style=True, queue="low")
    async with adapter_for(redis_url) as adapter:
        result = await adapter.replay("rq:failed:low", to="high", ids=["job-c"])
        deleted = await adapter.delete_dead_letters("rq:failed:low", ["job-d"])
    assert (result.sent, deleted) == (1, 1)
    assert raw.lrange("rq:queue:high", 0, -1) == [b"job-c"]
    assert raw.hget("rq:job:job-c", "origin") == b"high"
    assert raw.exists("rq:job:job-d", "rq:results:job-d", "rq:failed:low") == 0


async def test_unknown_dead_letter_queue_is_not_found(redis_url: str, raw: redis.Redis) -> None:
    raw.hset("a-hash", "f", "v")
    async with adapter_for(redis_url) as adapter:
        for name in ("no-such-queue", "a-hash", "events@nobody"):
            with pytest.raises(NotFound, match="no dead-letter queue"):
                await adapter.dead_letters(name)
        assert await adapter.dead_letters("empty:dlq") == []


def _wide(count: int, tag: str) -> dict[str, str]:
    return {f"h{i}": f"{tag}{i}" for i in range(count)}


async def test_stream_entries_with_10000_fields_requeue_once(redis_url: str, raw: redis.Redis) -> None:
    """No Lua call can pass 20,000 arguments on: such an entry is moved by the MULTI/EXEC path."""
    wide = _wide(10_000, "v")
    raw.xadd("events:dlq", {"data": "small-1"})
    big_id = raw.xadd("events:dlq", wide)
    raw.xadd("events:dlq", {"data": "small-2"})
    ids = [raw.xadd("orders", {"data": f"o{i}"}) for i in range(3)]
    raw.xadd("orders", _wide(10_000, "w"))
    raw.xgroup_create("orders", "g", "0")
    raw.xreadgroup("g", "c", {"orders": ">"})
    pending_big = raw.xrange("orders", "-", "+")[-1][0]
    async with adapter_for(redis_url, max_deliveries=1) as adapter:
        moved = await adapter.replay("events:dlq")
        again = await adapter.replay("events:dlq")
        pending = await adapter.replay("orders@g", ids=[pending_big.decode()])
    assert (moved.sent, moved.failed, moved.duplicates, again.sent) == (3, 0, 0, 0), moved.errors
    assert raw.xlen("events:dlq") == 0 and raw.xrange("events:dlq", big_id, big_id) == []
    copies = [fields for _, fields in raw.xrange("events")]
    assert copies == [{b"data": b"small-1"}, {b"data": b"small-2"}, {k.encode(): v.encode() for k, v in wide.items()}]
    assert (pending.sent, pending.failed, pending.duplicates) == (1, 0, 0), pending.errors
    assert raw.xrange("orders", pending_big, pending_big) == []
    assert raw.xpending("orders", "g")["pending"] == 3
    entries = raw.xrange("orders")
    assert [e[0] for e in entries[:3]] == ids and len(entries) == 4
    assert entries[3][1] == {f"h{i}".encode(): f"w{i}".encode() for i in range(10_000)}


async def test_a_10000_field_dead_letter_taken_meanwhile_leaves_no_copy(
    redis_url: str, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the closing script settles: between the client's read of a wide entry and its MULTI/EXEC,
    someone deletes it from the DLQ stream, or its consumer acks it. The copy is removed inside the
    transaction (with the target it created) and the move counts as skipped."""
    dlq_id = raw.xadd("events:dlq", _wide(10_000, "v")).decode()
    for i in range(3):
        raw.xadd("orders", {"data": f"o{i}"})
    big_id = raw.xadd("orders", _wide(10_000, "w")).decode()
    raw.xgroup_create("orders", "g", "0")
    raw.xreadgroup("g", "c", {"orders": ">"})
    meanwhile = {dlq_id: lambda: raw.xdel("events:dlq", dlq_id), big_id: lambda: raw.xack("orders", "g", big_id)}
    read, seen = BigEntryMover.read, []

    async def read_then_lose(self: BigEntryMover, source: bytes, entry_id: str, group: str | None) -> object:
        values = await read(self, source, entry_id, group)
        seen.append((entry_id, meanwhile[entry_id]()))
        return values

    monkeypatch.setattr(BigEntryMover, "read", read_then_lose)
    async with adapter_for(redis_url, max_deliveries=1) as adapter:
        from_dlq = await adapter.replay("events:dlq")
        from_group = await adapter.replay("orders@g", ids=[big_id])
    assert seen == [(dlq_id, 1), (big_id, 1)]
    assert (from_dlq.sent, from_dlq.skipped, from_dlq.failed, from_dlq.duplicates) == (0, 1, 0, 0), from_dlq.errors
    assert raw.exists("events") == 0 and raw.xlen("events:dlq") == 0
    assert (from_group.sent, from_group.skipped, from_group.failed, from_group.duplicates) == (0, 1, 0, 0)
    entries = raw.xrange("orders")
    assert len(entries) == 4 and entries[3][0].decode() == big_id  # the acked original, and no copy after it
    assert raw.xpending("orders", "g")["pending"] == 3


async def test_each_entry_of_a_batch_is_settled_on_its_own(
    redis_url: str, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One script call moves a batch of BATCH entries: entries taken between the plan and the move
    (deleted from the DLQ stream, acked, deleted while still pending) get their own code inside it,
    and the others of their batch and of the next batches move, in order."""
    dlq_ids = [raw.xadd("events:dlq", {"data": f"d{i}"}).decode() for i in range(BATCH * 2 + 50)]
    group_ids = [raw.xadd("orders", {"data": f"o{i}"}).decode() for i in range(BATCH * 2 + 50)]
    raw.xgroup_create("orders", "g", "0")
    raw.xreadgroup("g", "c", {"orders": ">"})
    raw.lpush("parked", "live")
    meanwhile = {
        "events:dlq": lambda: raw.xdel("events:dlq", dlq_ids[5], dlq_ids[BATCH + 1]),
        "orders@g": lambda: (raw.xack("orders", "g", group_ids[3]), raw.xdel("orders", group_ids[BATCH])),
    }
    plan = DeadLetters.plan

    async def plan_then_lose(self: DeadLetters, ref: DlqRef, **options: object) -> list[Planned]:
        plans = await plan(self, ref, **options)  # type: ignore[arg-type]
        meanwhile[ref.name]()
        return plans

    monkeypatch.setattr(DeadLetters, "plan", plan_then_lose)
    async with adapter_for(redis_url, max_deliveries=1) as adapter:
        from_dlq = await adapter.replay("events:dlq")
        from_group = await adapter.replay("orders@g", to="parked")
    assert (from_dlq.sent, from_dlq.skipped, from_dlq.failed) == (BATCH * 2 + 48, 2, 0), from_dlq.errors
    gone = {5, BATCH + 1}
    assert [f[b"data"].decode() for _, f in raw.xrange("events")] == [
        f"d{i}" for i in range(BATCH * 2 + 50) if i not in gone
    ]
    assert raw.xlen("events:dlq") == 0
    assert (from_group.sent, from_group.skipped, from_group.failed) == (BATCH * 2 + 48, 1, 1)
    assert from_group.errors == (f"{group_ids[BATCH]}: the message no longer exists (deleted or trimmed)",)
    moved = [f"o{i}".encode() for i in range(BATCH * 2 + 50) if i not in (3, BATCH)]
    assert list(reversed(raw.lrange("parked", 0, -1))) == [b"live", *moved]
    assert [p["message_id"].decode() for p in raw.xpending_range("orders", "g", "-", "+", 10)] == [group_ids[BATCH]]
    assert raw.xlen("orders") == BATCH * 2 + 49  # moved elsewhere, the originals stay for other groups


async def test_a_stream_dead_letter_without_data_goes_to_a_list_as_a_json_object(
    redis_url: str, raw: redis.Redis
) -> None:
    shape = {"id": "m-7", "type": "order.created", "payload": '{"n": 7}', "timestamp": "2024-05-01T12:00:00Z"}
    raw.xadd("jobs:dlq", shape)
    raw.xadd("jobs:dlq", {"data": "plain", "error": "boom"})
    raw.lpush("jobs", "live")
    async with adapter_for(redis_url) as adapter:
        result = await adapter.replay("jobs:dlq")
    assert (result.sent, result.failed) == (2, 0), result.errors
    assert raw.xlen("jobs:dlq") == 0
    oldest_first = list(reversed(raw.lrange("jobs", 0, -1)))
    assert oldest_first[0] == b"live" and oldest_first[2] == b"plain"
    assert orjson.loads(oldest_first[1]) == shape
    assert element_id(oldest_first[1]) == "m-7"


async def test_an_entry_is_dead_once_its_delivery_count_reaches_max_deliveries(
    redis_url: str, raw: redis.Redis
) -> None:
    ids = [raw.xadd("events", {"data": f"e{i}"}) for i in range(3)]
    raw.xgroup_create("events", "g", "0")
    raw.xreadgroup("g", "c", {"events": ">"})
    for entry_id, deliveries in zip(ids, (2, 3, 4), strict=True):
        raw.xclaim("events", "g", "c", 0, [entry_id], retrycount=deliveries)
    async with adapter_for(redis_url, max_deliveries=3) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
        letters = await adapter.dead_letters("events@g")
    assert (queues["events@g"].count, queues["events@g"].detected_by) == (2, "max deliveries (3)")
    assert [(letter.id, letter.attempts) for letter in letters] == [(ids[1].decode(), 3), (ids[2].decode(), 4)]


async def test_dlq_oldest_from_a_json_timestamp_and_from_rq_failure_times(redis_url: str, raw: redis.Redis) -> None:
    raw.lpush("jobs:dlq", orjson.dumps({"id": "m1", "timestamp": "2024-05-01T12:00:00Z"}),
              orjson.dumps({"id": "m2", "timestamp": "2024-06-01T00:00:00Z"}))  # fmt: skip
    raw.lpush("mail:dead", orjson.dumps({"id": "x", "timestamp": 1714564800123}))  # epoch milliseconds
    raw.lpush("opaque:dlq", b"\x00 not json")
    _rq_failed_job(raw, "job-new", "ValueError: x\n", new_style=True)
    _rq_failed_job(raw, "job-old", "ValueError: x\n", new_style=True)
    raw.hset("rq:job:job-old", "ended_at", "2024-04-30T08:15:00.000000Z")
    raw.zadd("rq:failed:default", {"job-old": 1000.0, "job-new": 2000.0})  # RQ scores by expiry
    async with adapter_for(redis_url) as adapter:
        queues = {q.name: q for q in await adapter.dead_letter_queues()}
    assert queues["jobs:dlq"].oldest == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert (queues["mail:dead"].origin, queues["mail:dead"].detected_by) == ("mail", "naming rule")
    assert queues["mail:dead"].oldest == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert queues["opaque:dlq"].oldest is None
    assert queues["rq:failed:default"].oldest == datetime(2024, 4, 30, 8, 15, tzinfo=UTC)
