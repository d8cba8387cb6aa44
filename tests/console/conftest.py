"""Console fixtures: a Redis database of our own and profile files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from mqtui.demo.localbrokers import LocalRedis
from tests.helpers import write_config

#: Databases 4 and 5 of the shared Redis belong to the console tests.
CONSOLE_DB = 5


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
