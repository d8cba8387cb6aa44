"""Fixtures of the job-framework tests: a Redis database of their own, emptied for every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from mqtui.demo.localbrokers import LocalRedis
from tests.redis.support import emptied_database, plain_client

#: The job-framework tests' database on the shared server (tests/redis uses 12).
JOBS_DB = 14


@pytest.fixture
def redis_url(redis_server: LocalRedis) -> str:
    return emptied_database(redis_server, JOBS_DB)


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    yield from plain_client(redis_url)
