"""A requeue interrupted by kill -9 of the broker itself (with an append-only file) loses and doubles nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis

from mqtui.demo.localbrokers import LocalRedis
from tests.helpers import run_mqtui, write_config


class DurableRedis(LocalRedis):
    """redis-server with an append-only file, so a restart after kill -9 brings the data back."""

    def _launch(self) -> None:
        binary = self.binary()
        assert binary is not None
        self._spawn([binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
                     "--appendfsync", "everysec", "--dir", str(self.workdir)])  # fmt: skip


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[DurableRedis]:
    broker = DurableRedis(tmp_path / "redis-aof", name="durable-redis")
    broker.start()
    yield broker
    broker.stop()


def test_requeue_survives_the_broker_being_killed_midway(durable_redis: DurableRedis, tmp_path: Path) -> None:
    total = 20_000
    originals = [orjson.dumps({"id": f"m{i}", "type": "t", "payload": "x" * 50}) for i in range(total)]
    raw = redis.Redis(port=durable_redis.port)
    for start in range(0, total, 2000):
        raw.lpush("jobs:dlq", *originals[start : start + 2000])
    config = write_config(tmp_path / "c.toml", {"p": {"brokers": [
        {"name": "cache", "kind": "redis", "url": durable_redis.url, "timeout": 2.0}]}})  # fmt: skip
    replay = subprocess.Popen(
        [sys.executable, "-m", "mqtui", "--config", str(config), "-p", "p", "dlq", "replay", "cache", "jobs:dlq",
         "--yes"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    while raw.llen("jobs") == 0 and replay.poll() is None:
        pass
    durable_redis.kill()
    _, err = replay.communicate(timeout=60)
    assert replay.returncode == 1
    assert len(err.strip().splitlines()) == 1 and "cache" in err and "Traceback" not in err

    durable_redis.start()  # reloads the append-only file
    raw = redis.Redis(port=durable_redis.port)
    moved, left = raw.llen("jobs"), raw.llen("jobs:dlq")
    assert 0 < moved < total and moved + left == total
    assert sorted(raw.lrange("jobs", 0, -1) + raw.lrange("jobs:dlq", 0, -1)) == sorted(originals)
    again = run_mqtui("--config", str(config), "-p", "p", "dlq", "replay", "cache", "jobs:dlq", "--yes", "--json")
    assert again.code == 0 and again.json_lines()[0]["sent"] == left
    assert list(reversed(raw.lrange("jobs", 0, -1))) == originals
    raw.close()
