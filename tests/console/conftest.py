"""Console fixtures: a Redis database of our own, profile files, and quicker idle checks for Pilot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from textual import _wait as textual_wait

from mqtui.demo.localbrokers import LocalRedis
from tests.helpers import write_config

#: Databases 4 and 5 of the shared Redis belong to the console tests.
CONSOLE_DB = 5


@pytest.fixture(autouse=True)
def quick_idle_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot waits for "the app is idle" after every key: a 20 ms window with under 1 ms of CPU. The
    same test in 5 ms windows (under 0.25 ms) answers as truly and costs a quarter of the wall time."""
    monkeypatch.setattr(textual_wait, "SLEEP_GRANULARITY", 0.005)
    monkeypatch.setattr(textual_wait, "SLEEP_IDLE", 0.00025)


@pytest.fixture
def redis_db(redis_server: LocalRedis) -> Iterator[tuple[str, redis.Redis]]:
    """(url, client) of a database that is empty when the test starts."""
    url = f"redis://127.0.0.1:{redis_server.port}/{CONSOLE_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url, client
    client.close()


def profile_file(tmp_path: Path, brokers: list[dict[str, Any]], name: str = "ops", **options: Any) -> Path:
    profile = {"poll_interval": 0.2, **options, "brokers": brokers}
    return write_config(tmp_path / "config.toml", {name: profile})
