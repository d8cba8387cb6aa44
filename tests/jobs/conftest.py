"""Fixtures of the job-framework tests: a Redis database of their own, emptied for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from mqtui.demo.localbrokers import LocalRedis

#: The job-framework tests' database on the shared server (tests/redis uses 12).
JOBS_DB = 14


@pytest.fixture
def redis_url(redis_server: LocalRedis) -> str:
    url = f"redis://127.0.0.1:{redis_server.port}/{JOBS_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()
