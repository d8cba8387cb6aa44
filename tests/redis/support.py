"""Helpers for the Redis tests (and the job-framework tests on Redis): a database of their own on the
shared server, a plain client on it, collecting a tail (waiting is tests.support's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence

import redis

from mqtui.demo.localbrokers import LocalRedis
from mqtui.model import Message


def emptied_database(server: LocalRedis, db: int) -> str:
    """A URL to database `db` of the shared server, emptied now (each suite owns its numbers)."""
    url = f"redis://127.0.0.1:{server.port}/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


def plain_client(url: str) -> Iterator[redis.Redis]:
    """A plain synchronous client on `url` for a fixture to yield from, closed after the test."""
    client = redis.Redis.from_url(url)
    yield client
    client.close()


async def collect(tail: AsyncIterator[Sequence[Message]], count: int, timeout: float = 15.0) -> list[Message]:
    """The first `count` messages of a tail (fails after `timeout` seconds), then closes the tail."""
    messages: list[Message] = []

    async def run() -> None:
        async for batch in tail:
            messages.extend(batch)
            if len(messages) >= count:
                return

    try:
        await asyncio.wait_for(run(), timeout)
    finally:
        await tail.aclose()  # type: ignore[attr-defined]
    return messages


async def drain(tail: AsyncIterator[Sequence[Message]]) -> list[Message]:
    """Every message of a tail that ends by itself (stop_at_end)."""
    return [message async for batch in tail for message in batch]
