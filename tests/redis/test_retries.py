"""Retry schedules in Redis sorted sets against the real redis-server: RQ's scheduled registry (the
layout rq writes: `rq:scheduled:<queue>`, job ids scored by epoch seconds), Sidekiq's `retry`, a set
scored in milliseconds, and sorted sets that are not schedules."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from mqtui.brokers.redis.retries import NOT_TIMES, recognise
from mqtui.services.poller import BrokerPoller
from tests.helpers import run_mqtui, write_config
from tests.redis.conftest import adapter_for, config


@pytest.fixture
def now() -> int:
    """Planted due times count from the test's own start (a module constant would age during the suite)."""
    return int(time.time())


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def near(found: datetime | None, seconds: float) -> bool:
    return found is not None and abs((found - at(seconds)).total_seconds()) < 1


async def test_due_and_not_due_retries_are_counted_per_schedule(redis_url: str, raw: redis.Redis, now: int) -> None:
    # RQ: two jobs were due a minute and ten seconds ago, three are due in 5, 10 and 60 minutes.
    raw.zadd("rq:scheduled:emails", {"j-past1": now - 60, "j-past2": now - 10, "j-a": now + 300,
                                     "j-b": now + 600, "j-c": now + 3600})  # fmt: skip
    raw.sadd("rq:queues", "rq:queue:emails")
    # Sidekiq's retry set, float seconds: one overdue, one due in 90 s.
    raw.zadd("retry", {'{"jid":"1"}': now - 30.5, '{"jid":"2"}': now + 90.25})
    # A hand-rolled schedule in milliseconds: nothing due yet.
    raw.zadd("orders:retry", {"m1": (now + 120) * 1000, "m2": (now + 240) * 1000})
    # Named like schedules but scored otherwise (counts): left out; RQ's other registries: left out.
    raw.zadd("jobs:delayed", {"a": 3, "b": 7})
    raw.zadd("rq:wip:emails", {"x": now + 10})
    raw.zadd("leaderboard", {"p": now})
    async with adapter_for(redis_url) as adapter:
        found = {s.destination: s for s in await adapter.retry_schedules()}
    assert set(found) == {"rq:scheduled:emails", "retry", "orders:retry"}
    rq = found["rq:scheduled:emails"]
    assert (rq.convention, rq.origin, rq.due_now, rq.due_later) == ("rq scheduled", "emails", 2, 3)
    assert near(rq.next_due_at, now + 300) and near(rq.overdue_since, now - 60)
    sidekiq = found["retry"]
    assert (sidekiq.convention, sidekiq.due_now, sidekiq.due_later) == ("sidekiq", 1, 1)
    assert near(sidekiq.next_due_at, now + 90.25) and near(sidekiq.overdue_since, now - 30.5)
    orders = found["orders:retry"]
    assert (orders.convention, orders.origin, orders.due_now, orders.due_later) == (
        "sorted-set schedule",
        "orders",
        0,
        2,
    )
    assert near(orders.next_due_at, now + 120) and orders.overdue_since is None
    assert all(s.broker == "r" and s.unknown_reason is None and not s.at_least for s in found.values())


async def test_an_rq_registry_scored_otherwise_says_why_and_an_empty_one_counts_nothing(
    redis_url: str, raw: redis.Redis, now: int
) -> None:
    raw.zadd("rq:scheduled:odd", {"j": 5})
    async with adapter_for(redis_url) as adapter:
        [odd] = await adapter.retry_schedules()
        assert (odd.due_now, odd.due_later, odd.unknown_reason) == (None, None, NOT_TIMES)
        raw.zrem("rq:scheduled:odd", "j")
        raw.zadd("rq:scheduled:odd", {"j": now + 600})
        [later] = await adapter.retry_schedules()
        assert (later.due_now, later.due_later) == (0, 1) and near(later.next_due_at, now + 600)


def test_names_that_follow_a_schedule_convention() -> None:
    assert recognise("rq:scheduled:default") is not None
    assert recognise("payments-delayed") is not None and recognise("payments-delayed").origin == "payments"  # type: ignore[union-attr]
    for name in ("rq:failed:default", "rq:wip:default", "unacked_index", "scores", "rq:scheduled:"):
        assert recognise(name) is None, name


def test_dlq_retries_on_the_command_line(redis_url: str, raw: redis.Redis, tmp_path: Path, now: int) -> None:
    raw.zadd("rq:scheduled:emails", {"j-past": now - 60, "j-a": now + 300, "j-b": now + 600})
    config = write_config(
        tmp_path / "c.toml", {"p": {"brokers": [{"name": "cache", "kind": "redis", "url": redis_url, "timeout": 3.0}]}}
    )
    as_json = run_mqtui("--config", str(config), "-p", "p", "dlq", "retries", "--json")
    assert as_json.code == 0, as_json.err
    [record] = as_json.json_lines()
    assert (record["destination"], record["due_now"], record["due_later"]) == ("rq:scheduled:emails", 1, 2)
    assert near(datetime.fromisoformat(record["next_due_at"].replace("Z", "+00:00")), now + 300)
    table = run_mqtui("--config", str(config), "-p", "p", "dlq", "retries")
    assert table.code == 0, table.err
    header, row = table.out.splitlines()
    assert header.split()[:5] == ["BROKER", "RETRIES", "ORIGIN", "CONVENTION", "DUE"]
    assert row.split()[:6] == ["cache", "rq:scheduled:emails", "emails", "rq", "scheduled", "1"]
    assert "in 4m" in row or "in 5m" in row


async def test_the_poller_hands_retries_over_with_the_dlqs(redis_url: str, raw: redis.Redis, now: int) -> None:
    raw.zadd("rq:scheduled:emails", {"j-a": now - 5, "j-b": now + 60})
    poller = BrokerPoller(config(redis_url), interval=1.0, listener=lambda _snapshot: None)
    try:
        await poller.poll_once()
    finally:
        await poller.close()
    [schedule] = poller.latest.retries
    assert (schedule.destination, schedule.due_now, schedule.due_later) == ("rq:scheduled:emails", 1, 1)
