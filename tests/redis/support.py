"""Helpers for the Redis tests: collecting a tail (waiting is tests.support's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from mqtui.model import Message


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
