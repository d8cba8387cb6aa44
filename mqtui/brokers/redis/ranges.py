"""A range of a Redis stream (by id: ids are times) or list (by index) for a search; nothing changes.

Streams are read with XRANGE in pages from the start id to the last entry id when the range was planned,
so entries added while the search reads are not followed. A time is the id `<millis>-0`; `--to` a time
is exclusive (`(<millis>-0`), an id inclusive. When the range starts before the first entry the stream
holds and the stream removed entries (XINFO: entries-added above length, Redis 7), the plan names them. The count of a part of a stream cannot be known without reading it, so only a whole stream has
one. Lists are read with LRANGE in pages from the consuming end (position 0 = next to be consumed, as
tails and peeks number them); a list has no times, and it shifts while consumers pop, which the plan says.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING

from mqtui.brokers.redis.client import as_bytes, text
from mqtui.brokers.redis.streams import next_after, start_id, stream_message, xrange
from mqtui.errors import NotFound, NotPossible
from mqtui.model import Message, RangePart, RangePlan, StartPosition

if TYPE_CHECKING:
    from redis.asyncio import Redis

PAGE = 1000


async def plan_range(
    client: Redis, broker: str, name: str, key: bytes, kind: str, start: StartPosition, end: StartPosition | None
) -> RangePlan:
    if kind == "stream":
        return await _plan_stream(client, name, key, start, end)
    if kind == "list":
        return await _plan_list(client, broker, name, key, start, end)
    if kind == "none":
        raise NotFound(f"{broker}: no key {name!r}")
    if kind == "channel":
        raise NotPossible(f"{broker}: {name} is a pub/sub channel, which holds no messages to search; tail it instead")
    raise NotPossible(f"{broker}: {name} is a {kind}; only lists and streams hold messages to search")


async def _plan_stream(
    client: Redis, name: str, key: bytes, start: StartPosition, end: StartPosition | None
) -> RangePlan:
    info = await client.xinfo_stream(key)
    length = int(info.get("length") or 0)
    last = info.get("last-entry")
    if not length or not last:
        return RangePlan(name, (RangePart(None, None, None, 0),), part_name="stream")
    last_id = text(last[0])
    low = start_id(start) if start.kind != "end" else next_after(last_id)
    if end is None or end.kind == "end":
        high = last_id
    elif end.kind == "beginning":
        high = "-"
    elif end.kind == "time" and end.time is not None:
        high = f"({int(end.time.timestamp() * 1000)}-0"
    else:
        high = str(end.offset)
    count = length if start.kind == "beginning" and high == last_id else None
    missing = None
    first = info.get("first-entry")
    removed = int(info.get("entries-added") or length) - length
    if start.kind in ("time", "offset") and first and removed > 0 and _id(text(first[0])) > _id(low):
        missing = f"entries before {text(first[0])} ({removed:,} trimmed or deleted from the stream)"
    return RangePlan(name, (RangePart(None, low, high, count, missing=missing),), part_name="stream")


def _id(entry_id: str) -> tuple[int, int]:
    """An id (or a bare millisecond time, or `-`) as a comparable pair."""
    if entry_id in ("-", ""):
        return (0, 0)
    millis, _, sequence = entry_id.lstrip("(").partition("-")
    try:
        return (int(millis), int(sequence or 0))
    except ValueError:
        return (0, 0)


async def _plan_list(
    client: Redis, broker: str, name: str, key: bytes, start: StartPosition, end: StartPosition | None
) -> RangePlan:
    for bound in (start, end):
        if bound is not None and (
            bound.kind == "time" or (bound.kind == "offset" and not isinstance(bound.offset, int))
        ):
            raise NotPossible(f"{broker}: a Redis list has no times or ids; search {name} by index (--from 0 --to 99)")
    length = int(await client.llen(key))
    first = int(start.offset or 0) if start.kind == "offset" else (length if start.kind == "end" else 0)
    last = length - 1
    if end is not None and end.kind == "offset":
        last = min(last, int(end.offset or 0))
    elif end is not None and end.kind == "beginning":
        last = -1
    if first > last:
        return RangePlan(name, (RangePart(None, None, None, 0),), part_name="list")
    return RangePlan(name, (RangePart(None, first, last, last - first + 1),), part_name="list")


async def read_range(
    client: Redis, broker: str, key: bytes, plan: RangePlan, *, newest_at_right: bool
) -> AsyncGenerator[Sequence[Message], None]:
    part = plan.parts[0]
    if part.start is None or part.end is None:
        return
    if isinstance(part.start, int) and isinstance(part.end, int):
        source = _read_list(client, broker, plan.destination, key, part.start, part.end, newest_at_right)
    else:
        source = _read_stream(client, broker, plan.destination, key, str(part.start), str(part.end))
    async for batch in source:
        yield batch


async def _read_stream(
    client: Redis, broker: str, name: str, key: bytes, low: str, high: str
) -> AsyncGenerator[list[Message], None]:
    while True:
        entries = await xrange(client, key, low, high, count=PAGE)
        if entries:
            yield [stream_message(broker, name, entry) for entry in entries]
        if len(entries) < PAGE:
            return
        low = next_after(entries[-1][0])


async def _read_list(
    client: Redis, broker: str, name: str, key: bytes, first: int, last: int, newest_at_right: bool
) -> AsyncGenerator[list[Message], None]:
    position = first
    while position <= last:
        count = min(PAGE, last - position + 1)
        if newest_at_right:
            chunk = as_bytes(await client.lrange(key, position, position + count - 1))
        else:  # LPUSH/BRPOP: the next to be consumed is at the right
            chunk = list(reversed(as_bytes(await client.lrange(key, -(position + count), -(position + 1)))))
        if not chunk:
            return
        yield [Message(broker, name, None, position + i, None, None, value) for i, value in enumerate(chunk)]
        position += len(chunk)
