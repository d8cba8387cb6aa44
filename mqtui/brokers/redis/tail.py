"""Tails that consume nothing: XRANGE/XREAD for streams, LRANGE polling for lists, (P)SUBSCRIBE for channels.

Streams: history with XRANGE, then XREAD BLOCK from the last id seen. No consumer group is joined or
created, so every group's entries-read, pending list and last-delivered id stay as they were.

Lists have no positions and no history of what left them. A list tail reads the list with LRANGE and
then polls the newest end, remembering the newest few elements it has seen: what lies in front of them
is new. Limits, by nature of lists: an element pushed and popped between two polls is never seen (a
queue consumed as fast as it fills cannot be observed without MONITOR or keyspace notifications of
the values, which Redis does not offer); pushes of a value equal to the newest elements already seen
are taken for them. Positions count from the consuming end (0 = next to be consumed) at read time.
The LPUSH/BRPOP convention is assumed (newest at the left); RQ queues (RPUSH/LPOP) are read mirrored.

`peek_list` and `peek_stream` read what a list or stream holds, oldest first, in one call each.

Channels hold nothing: a channel tail only sees what is published while it listens, so `--end` ends
it at once and `--from` has no meaning. A name with glob characters is a PSUBSCRIBE pattern.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mqtui.brokers.redis.client import as_bytes, text
from mqtui.brokers.redis.streams import next_after, start_id, stream_message, xrange, xread
from mqtui.errors import NotPossible
from mqtui.model import Message, StartPosition

if TYPE_CHECKING:
    from redis.asyncio import Redis

BATCH = 1000
#: How many of the newest elements a list tail remembers to recognise what it has already shown.
ANCHOR = 8
LIST_POLL_SECONDS = 0.25
LIST_WINDOW_MIN = 16


def is_pattern(name: str) -> bool:
    return any(char in name for char in "*?[")


async def tail_stream(
    client: Redis,
    broker: str,
    name: str,
    key: bytes,
    start: StartPosition,
    *,
    stop_at_end: bool,
    block_ms: int,
) -> AsyncGenerator[list[Message], None]:
    info = await client.xinfo_stream(key)
    end_id = text(info.get("last-generated-id")) or "0-0"
    cursor = end_id
    if start.kind != "end":
        low = start_id(start)
        high = end_id if stop_at_end else "+"
        while True:
            entries = await xrange(client, key, low, high, count=BATCH)
            if entries:
                cursor = text(entries[-1][0])
                yield [stream_message(broker, name, entry) for entry in entries]
            if len(entries) < BATCH:
                break
            low = next_after(entries[-1][0])
    if stop_at_end:
        return
    while True:
        answer = await xread(client, key, cursor, count=BATCH, block=block_ms)
        for _, entries in answer:
            if entries:
                cursor = text(entries[-1][0])
                yield [stream_message(broker, name, entry) for entry in entries]


class _ListView:
    """A list read from its newest or its oldest end, whichever side the convention puts where."""

    def __init__(self, client: Redis, key: bytes, newest_at_right: bool) -> None:
        self.client = client
        self.key = key
        self.newest_at_right = newest_at_right

    async def newest(self, count: int) -> tuple[int, list[bytes]]:
        """(length, up to `count` newest elements, newest first), read atomically."""
        pipe = self.client.pipeline(transaction=True)
        pipe.llen(self.key)
        if self.newest_at_right:
            pipe.lrange(self.key, -count, -1)
        else:
            pipe.lrange(self.key, 0, count - 1)
        length, window = await pipe.execute()
        return int(length), list(reversed(window)) if self.newest_at_right else list(window)

    async def oldest(self, position: int, count: int) -> list[bytes]:
        """Elements at positions [position, position + count), oldest first."""
        if self.newest_at_right:
            return as_bytes(await self.client.lrange(self.key, position, position + count - 1))
        chunk = as_bytes(await self.client.lrange(self.key, -(position + count), -(position + 1)))
        return list(reversed(chunk))


def new_elements(window: list[bytes], anchor: list[bytes]) -> list[bytes]:
    """The elements of `window` (newest first) in front of the remembered `anchor` (newest first).

    The anchor's oldest elements may have been consumed since, so a match of its newest part at the
    end of the window counts too. No match at all: everything in the window is new.
    """
    if not anchor:
        return window
    for index in range(len(window)):
        size = min(len(anchor), len(window) - index)
        if window[index : index + size] == anchor[:size]:
            return window[:index]
    return window


async def tail_list(
    client: Redis,
    broker: str,
    name: str,
    key: bytes,
    start: StartPosition,
    *,
    stop_at_end: bool,
    newest_at_right: bool,
) -> AsyncGenerator[list[Message], None]:
    if start.kind == "time" or (start.kind == "offset" and not isinstance(start.offset, int)):
        raise NotPossible(f"{broker}: a Redis list has no times or ids; tail {name} from beginning, end or an index")
    view = _ListView(client, key, newest_at_right)
    width = LIST_WINDOW_MIN
    length, window = await view.newest(width)
    anchor = window[:ANCHOR]
    if start.kind != "end":
        position = int(start.offset or 0) if start.kind == "offset" else 0
        while position < length:
            chunk = await view.oldest(position, min(BATCH, length - position))
            if not chunk:
                break
            yield [_list_message(broker, name, position + i, value) for i, value in enumerate(chunk)]
            position += len(chunk)
    if stop_at_end:
        return
    while True:
        await asyncio.sleep(LIST_POLL_SECONDS)
        length, window = await view.newest(width)
        fresh = new_elements(window, anchor)
        while len(fresh) == len(window) == width and width < BATCH:
            width = min(width * 4, BATCH)  # all new: look further back before calling anything missed
            length, window = await view.newest(width)
            fresh = new_elements(window, anchor)
        if fresh:
            yield [_list_message(broker, name, length - 1 - i, value) for i, value in reversed(list(enumerate(fresh)))]
        anchor = window[:ANCHOR]


def _list_message(broker: str, name: str, position: int, value: bytes) -> Message:
    return Message(broker, name, None, position, None, None, value)


async def peek_list(
    client: Redis, broker: str, name: str, key: bytes, limit: int, *, newest_at_right: bool
) -> list[Message]:
    """The `limit` elements next to be consumed, oldest first, by one LRANGE: the list stays as it was."""
    chunk = await _ListView(client, key, newest_at_right).oldest(0, limit)
    return [_list_message(broker, name, position, value) for position, value in enumerate(chunk)]


async def peek_stream(client: Redis, broker: str, name: str, key: bytes, limit: int) -> list[Message]:
    """The `limit` oldest entries, by one XRANGE: no group is joined, nothing is delivered or acked."""
    return [stream_message(broker, name, entry) for entry in await xrange(client, key, "-", "+", count=limit)]


async def tail_channel(
    client: Redis, broker: str, name: str, *, stop_at_end: bool
) -> AsyncGenerator[list[Message], None]:
    if stop_at_end:
        return
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    sequence = 0
    try:
        if is_pattern(name):
            await pubsub.psubscribe(name)
        else:
            await pubsub.subscribe(name)
        while True:
            first = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if first is None:
                continue
            batch = [first]
            while len(batch) < BATCH:
                more = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.0)
                if more is None:
                    break
                batch.append(more)
            now = datetime.now(UTC)
            messages = []
            for item in batch:
                sequence += 1
                data = item.get("data")
                value = data if isinstance(data, bytes) else str(data).encode()
                messages.append(Message(broker, text(item.get("channel")), None, sequence, now, None, value))
            yield messages
    finally:
        await pubsub.aclose()
