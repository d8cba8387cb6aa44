"""Time lag of Redis stream groups against the real redis-server: the time in the id of the oldest entry
a group has not consumed (the first after its last-delivered id, or its oldest pending entry)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis

from mqtui.brokers.redis.keyspace import LIST_NO_TIMES
from tests.redis.conftest import adapter_for

#: Planted entry times, a minute apart, an hour ago.
BASE_MS = int(datetime.now(tz=UTC).timestamp() * 1000) - 3_600_000
STEP_MS = 60_000


def _at(index: int) -> datetime:
    return datetime.fromtimestamp((BASE_MS + index * STEP_MS) / 1000, tz=UTC)


def _plant(raw: redis.Redis, total: int = 10) -> None:
    for i in range(total):
        raw.xadd("timed", {"data": f"e{i}"}, id=f"{BASE_MS + i * STEP_MS}-0")


async def test_time_lag_is_the_first_entry_after_last_delivered_or_the_oldest_pending(
    redis_url: str, raw: redis.Redis
) -> None:
    _plant(raw)
    ids = [e[0] for e in raw.xrange("timed")]
    raw.xgroup_create("timed", "behind", "0")
    raw.xreadgroup("behind", "c", {"timed": ">"}, count=4)
    raw.xack("timed", "behind", *ids[:4])  # consumed 4: the 5th (index 4) waits
    raw.xgroup_create("timed", "pending", "0")
    raw.xreadgroup("pending", "c", {"timed": ">"}, count=6)
    raw.xack("timed", "pending", *ids[:2], *ids[3:6])  # index 2 is still pending, older than index 6
    raw.xgroup_create("timed", "caught-up", "$")
    raw.xgroup_create("timed", "all-read", "0")
    raw.xreadgroup("all-read", "c", {"timed": ">"})
    raw.xack("timed", "all-read", *ids)
    raw.rpush("jobs", b"a", b"b")
    async with adapter_for(redis_url) as adapter:
        rows = {(r.destination, r.group): r for r in await adapter.backlog()}
    behind = rows["timed", "behind"]
    assert behind.lag == 6 and behind.oldest_waiting_at is not None
    assert abs((behind.oldest_waiting_at - _at(4)).total_seconds()) < 1
    pending = rows["timed", "pending"]
    assert pending.in_flight == 1 and pending.oldest_waiting_at is not None
    assert abs((pending.oldest_waiting_at - _at(2)).total_seconds()) < 1
    for caught_up in ("caught-up", "all-read"):
        row = rows["timed", caught_up]
        assert (row.lag, row.in_flight, row.oldest_waiting_at, row.time_lag_unknown) == (0, 0, None, None)
    jobs = rows["jobs", "(list)"]
    assert jobs.oldest_waiting_at is None and jobs.time_lag_unknown == LIST_NO_TIMES


async def test_time_lag_when_redis_cannot_say_the_lag_after_a_deletion(redis_url: str, raw: redis.Redis) -> None:
    _plant(raw)
    ids = [e[0] for e in raw.xrange("timed")]
    raw.xgroup_create("timed", "g", "0")
    raw.xreadgroup("g", "c", {"timed": ">"}, count=3)
    raw.xack("timed", "g", *ids[:3])
    raw.xdel("timed", ids[3], ids[5])  # Redis answers lag nil; the first waiting entry is now index 4
    async with adapter_for(redis_url) as adapter:
        row = (await adapter.backlog(group="g"))[0]
    assert row.lag == 5 and row.oldest_waiting_at is not None
    assert abs((row.oldest_waiting_at - _at(4)).total_seconds()) < 1
