"""Redis: requeues of 1,000 dead letters killed with kill -9 (mqtui or redis-server), then run again.

Two kinds of DLQ, each with its own seeds: a DLQ list of JSON jobs (`jobs:dlq` -> `jobs`, moved by
LMOVE) and a stream group's over-delivered entries (`events@billing`: delivered five times, moved by
a Lua script that copies, acks and deletes in one step). The broker runs with an append-only file
fsynced on every write, so a restart after kill -9 has every acknowledged write. Every move is one
atomic server-side step, so afterwards each message is at its destination exactly once: lost 0,
duplicates 0.

mqtui reaches Redis through a proxy that adds LATENCY to every chunk: on loopback a whole replay
takes a few milliseconds, too little to stop it at a chosen message; across a slow link it takes long
enough, and a pipeline still in the link when mqtui dies is still executed, as on a real network.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from mqtui.demo.localbrokers import LocalRedis
from tests.faults.harness import (
    FaultPoint,
    Interrupted,
    interrupt,
    profile,
    record,
    rerun,
    spawn_replay,
)
from tests.trust.proxy import FaultyProxy, faulty_proxy

pytestmark = pytest.mark.fault

TOTAL = 1000
BYSTANDERS = 50
"""Messages already at the destination, which the replay must leave alone."""
SEEDS = range(20)
TIMEOUT = 2.0
#: Moves run in pipelines of 100: a point past 700 could come after the last one.
MOST = 700
LATENCY = 0.005


class AofRedis(LocalRedis):
    """redis-server with an append-only file fsynced on every write: kill -9 loses nothing it acked."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                     "--appendfsync", "always", "--dir", str(self.workdir)])  # fmt: skip


@pytest.fixture(scope="module")
def aof_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AofRedis]:
    broker = AofRedis(tmp_path_factory.mktemp("fault-redis"), name="fault-redis")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def slow_link(aof_redis: AofRedis) -> Iterator[FaultyProxy]:
    with faulty_proxy(aof_redis.port) as proxy:
        proxy.delay = LATENCY
        yield proxy


@pytest.fixture
def fresh(aof_redis: AofRedis) -> Iterator[Callable[[], redis.Redis]]:
    """A client factory on an emptied server (a fresh DLQ per seed); reconnects after a restart."""
    clients: list[redis.Redis] = []

    def client() -> redis.Redis:
        clients.append(redis.Redis(port=aof_redis.port))
        return clients[-1]

    client().flushall()
    yield client
    for each in clients:
        each.close()


def job(index: int) -> bytes:
    return orjson.dumps({"id": f"m{index:04d}", "type": "order.created", "payload": {"n": index},
                         "error": "TimeoutError: payment service", "attempts": 3})  # fmt: skip


def run_fault(point: FaultPoint, broker: AofRedis, link: FaultyProxy, dlq: str, probe: Callable[[], int],
              tmp_path: Path) -> tuple[Interrupted, dict[str, Any]]:  # fmt: skip
    url = f"redis://127.0.0.1:{link.port}/0"
    config = profile(tmp_path / "config.toml", {"name": "cache", "kind": "redis", "url": url, "timeout": TIMEOUT})
    process = spawn_replay(config, "cache", dlq, tmp_path / "first")
    first = interrupt(process, point, probe, broker.kill, TOTAL, tmp_path / "first", TIMEOUT)
    if point.victim == "broker":
        broker.start()  # replays the append-only file
    return first, rerun(config, "cache", dlq)


@pytest.mark.parametrize("seed", SEEDS)
def test_dlq_list_requeue_killed_at_a_seeded_point(
    seed: int, aof_redis: AofRedis, slow_link: FaultyProxy, fresh: Callable[[], redis.Redis], tmp_path: Path
) -> None:
    point = FaultPoint.draw("redis", "list", seed, victims=("mqtui", "broker"), most=MOST)
    raw = fresh()
    raw.lpush("jobs", *[b"live-%d" % i for i in range(BYSTANDERS)])
    letters = [job(i) for i in range(TOTAL)]
    raw.lpush("jobs:dlq", *letters)  # LPUSH/BRPOP order: the oldest dead letter is at the right end

    first, again = run_fault(point, aof_redis, slow_link, "jobs:dlq", lambda: raw.llen("jobs") - BYSTANDERS, tmp_path)

    raw = fresh() if point.victim == "broker" else raw
    landed = Counter(raw.lrange("jobs", 0, -1))
    assert raw.exists("jobs:dlq") == 0
    assert all(landed[b"live-%d" % i] == 1 for i in range(BYSTANDERS))
    lost = sum(1 for letter in letters if landed[letter] == 0)
    duplicates = sum(landed[letter] - 1 for letter in letters if landed[letter] > 1)
    assert sum(landed.values()) == TOTAL + BYSTANDERS
    assert list(reversed(raw.lrange("jobs", 0, -1)))[BYSTANDERS:] == letters  # oldest first, as they failed
    reported = record(point, TOTAL, first, again, lost, duplicates)
    assert (lost, duplicates, reported) == (0, 0, 0), point


@pytest.mark.parametrize("seed", SEEDS)
def test_over_delivered_stream_entries_requeue_killed_at_a_seeded_point(
    seed: int, aof_redis: AofRedis, slow_link: FaultyProxy, fresh: Callable[[], redis.Redis], tmp_path: Path
) -> None:
    point = FaultPoint.draw("redis", "stream group", seed, victims=("mqtui", "broker"), most=MOST)
    raw = fresh()
    pipe = raw.pipeline(transaction=False)
    for index in range(TOTAL):
        pipe.xadd("events", {"data": job(index), "source": "checkout"})
    dead_ids = pipe.execute()
    raw.xgroup_create("events", "billing", "0")
    raw.xreadgroup("billing", "worker-1", {"events": ">"}, count=TOTAL)
    # Four more workers crash holding them and the next one claims them: five deliveries each, the
    # adapter's max_deliveries, so every one of them is a dead letter of `events@billing`.
    for claimer in range(2, 6):
        for start in range(0, TOTAL, 500):
            raw.xclaim("events", "billing", f"worker-{claimer}", 0, dead_ids[start : start + 500])
    live = [raw.xadd("events", {"data": b"live-%d" % i}) for i in range(BYSTANDERS)]
    raw.xreadgroup("billing", "worker-6", {"events": ">"}, count=BYSTANDERS)  # delivered once: not dead

    def moved() -> int:
        return TOTAL + BYSTANDERS - int(raw.xpending("events", "billing")["pending"])

    first, again = run_fault(point, aof_redis, slow_link, "events@billing", moved, tmp_path)

    raw = fresh() if point.victim == "broker" else raw
    entries = raw.xrange("events")
    landed = Counter(fields[b"data"] for _, fields in entries)
    lost = sum(1 for index in range(TOTAL) if landed[job(index)] == 0)
    duplicates = sum(landed[job(index)] - 1 for index in range(TOTAL) if landed[job(index)] > 1)
    pending = raw.xpending_range("events", "billing", "-", "+", TOTAL + BYSTANDERS)
    assert [p["message_id"] for p in pending] == live  # only the live ones are still pending
    assert raw.xrange("events", "-", dead_ids[-1]) == []  # each original replaced by its copy
    assert len(entries) == TOTAL + BYSTANDERS
    reported = record(point, TOTAL, first, again, lost, duplicates)
    assert (lost, duplicates, reported) == (0, 0, 0), point
