"""Alert rules against the real redis-server: the console's poller polls, `AlertBook` judges each
snapshot with a wall clock the test steps, so "idle for 1s" and "growing for 2s" need no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis

from mqtui.config.alerts import AlertRule
from mqtui.demo.localbrokers import LocalRedis
from mqtui.services.alerts import Alert, AlertBook
from mqtui.services.poller import BrokerPoller
from tests.redis.conftest import config

#: Entries planted an hour ago, a second apart: the group's time lag is an hour.
PLANTED_MS = int(datetime.now(tz=UTC).timestamp() * 1000) - 3_600_000


class Clock:
    """Wall clock and monotonic clock moved together by the test."""

    def __init__(self) -> None:
        self.wall = datetime.now(tz=UTC)
        self.mono = 1000.0

    def step(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


class Watch:
    """One broker's poller and a book of rules; `poll()` returns what opened and closed."""

    def __init__(self, url: str, rules: list[AlertRule], **book: float) -> None:
        self.clock = Clock()
        self.book = AlertBook(rules, **book)
        self.poller = BrokerPoller(
            config(url), interval=1.0, listener=lambda s: None, wall_clock=lambda: self.clock.wall,
            clock=lambda: self.clock.mono, max_backoff=0.1,
        )  # fmt: skip

    async def poll(self, after: float = 1.0) -> list[tuple[str, str, str]]:
        self.clock.step(after)
        await self.poller.poll_once()
        return [(a.event, a.rule, a.group or a.destination) for a in self.observe()]

    def observe(self) -> list[Alert]:
        return self.book.observe(self.poller.latest, self.clock.wall)

    async def close(self) -> None:
        await self.poller.close()


def _plant(raw: redis.Redis, stream: str = "orders", count: int = 5) -> list[Any]:
    for i in range(count):
        raw.xadd(stream, {"n": str(i)}, id=f"{PLANTED_MS + i * 1000}-0")
    return [entry[0] for entry in raw.xrange(stream)]  # type: ignore[union-attr]


async def test_lag_time_lag_and_idle_open_on_a_waiting_group_and_close_when_it_drains(
    redis_url: str, raw: redis.Redis
) -> None:
    ids = _plant(raw)
    raw.xgroup_create("orders", "billing", "0")
    raw.xgroup_create("orders", "fast", "$")  # caught up: never alerted
    rules = [
        AlertRule(lag_over=3, group="bill*"),
        AlertRule(time_lag_over="30m"),
        AlertRule(idle_for="5s"),
        AlertRule(lag_over=100),  # not breached
    ]
    watch = Watch(redis_url, rules)
    try:
        first = await watch.poll()
        assert sorted(first) == [("opened", "lag over 3", "billing"), ("opened", "time lag over 30m", "billing")]
        time_lag = next(a for a in watch.book.board.open if a.condition == "time_lag_over")
        assert time_lag.value.startswith("time lag 1h")  # the planted times, an hour back
        assert await watch.poll(after=3) == []  # idle for 3s: not yet 5s
        assert await watch.poll(after=3) == [("opened", "idle for 5s", "billing")]
        idle = next(a for a in watch.book.board.open if a.condition == "idle_for")
        assert idle.value == "5 waiting, nothing consumed for 6s" and idle.since == watch.clock.wall
        raw.xreadgroup("billing", "c", {"orders": ">"}, count=3)
        raw.xack("orders", "billing", *ids[:3])  # 2 wait: under the lag rule; consuming ends the idle one
        assert sorted(await watch.poll()) == [("closed", "idle for 5s", "billing"), ("closed", "lag over 3", "billing")]
        raw.xreadgroup("billing", "c", {"orders": ">"})
        raw.xack("orders", "billing", *ids[3:])
        assert await watch.poll() == [("closed", "time lag over 30m", "billing")]
        board = watch.book.board
        assert board.open == () and sorted(a.condition for a in board.closed) == [
            "idle_for",
            "lag_over",
            "time_lag_over",
        ]
        assert board.closed[0].condition == "time_lag_over" and board.closed[0].closed_at == watch.clock.wall
    finally:
        await watch.close()


async def test_growing_for_opens_after_the_lag_rose_for_the_duration(redis_url: str, raw: redis.Redis) -> None:
    raw.xgroup_create("orders", "slow", "$", mkstream=True)
    watch = Watch(redis_url, [AlertRule(growing_for="2s")])
    try:
        opened = []
        for _poll in range(5):
            raw.xadd("orders", {"n": "x"})  # one more waits at every poll
            opened += await watch.poll()
        assert opened == [("opened", "growing for 2s", "slow")]
        grew = watch.book.board.open[0]
        assert grew.value.startswith("lag ") and "growing for" in grew.value
    finally:
        await watch.close()


async def test_dead_letters_increase_opens_on_a_rise_and_closes_after_the_hold(
    redis_url: str, raw: redis.Redis
) -> None:
    raw.rpush("jobs:dlq", b"a", b"b")
    watch = Watch(redis_url, [AlertRule(dead_letters_increase=True)], dead_letter_hold=10.0)
    try:
        assert await watch.poll() == []  # the first sight is the baseline
        raw.rpush("jobs:dlq", b"c", b"d", b"e")
        assert await watch.poll() == [("opened", "dead letters increased", "jobs:dlq")]
        assert watch.book.board.open[0].value == "+3 (2 → 5)"
        assert await watch.poll(after=5) == []  # within the hold: still open
        raw.rpush("jobs:dlq", b"f")
        assert await watch.poll(after=5) == []  # another rise: the same alert, the hold starts again
        assert await watch.poll(after=11) == [("closed", "dead letters increased", "jobs:dlq")]
    finally:
        await watch.close()


async def test_broker_down_opens_and_stale_rows_keep_their_alerts(private_redis: LocalRedis) -> None:
    raw = redis.Redis.from_url(private_redis.url)
    raw.xadd("orders", {"n": "1"})
    raw.xgroup_create("orders", "billing", "0")
    raw.close()
    watch = Watch(private_redis.url, [AlertRule(broker_down=True), AlertRule(lag_over=0)])
    try:
        assert await watch.poll() == [("opened", "lag over 0", "billing")]
        private_redis.stop()
        down = await watch.poll()
        assert down == [("opened", "broker down", "")]  # the lag alert is neither closed nor reopened
        assert [a.rule for a in watch.book.board.open] == ["lag over 0", "broker down"]
        assert watch.book.board.open[1].value.startswith("r: ")  # the poller's one error line
        assert watch.book.board.broker_down("r")
        private_redis.start()  # an empty server: the group is gone
        assert sorted(await watch.poll()) == [("closed", "broker down", ""), ("closed", "lag over 0", "billing")]
    finally:
        await watch.close()
