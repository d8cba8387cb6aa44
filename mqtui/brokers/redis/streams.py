"""Stream entries as messages, stream ids as times, and the pending-entry list of a consumer group.

An entry becomes a Message like this (publish writes the same shape, so a round trip is lossless):
the field `data` is the value, the field `key` the key, every other field a header, in entry order.
An entry without a `data` field shows all its fields as a JSON object for its value. Entries are read
raw (the client's XRANGE/XREAD parsers are replaced) so repeated field names and their order survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import orjson

from mqtui.brokers.redis.client import text
from mqtui.model import Message, StartPosition

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.typing import KeyT, StreamIdT

Fields = list[tuple[bytes, bytes]]
Entry = tuple[bytes, Fields]

VALUE_FIELD = b"data"
KEY_FIELD = b"key"
#: XPENDING is read in pages of this size; at most PENDING_SCAN_LIMIT entries per group per call.
PENDING_PAGE = 1000
PENDING_SCAN_LIMIT = 10_000


def _entries(response: Any) -> list[Entry]:
    entries: list[Entry] = []
    for item in response or ():
        if not item:
            continue
        flat = item[1] or []
        entries.append((item[0], list(zip(flat[::2], flat[1::2], strict=True))))
    return entries


def _read_callback(response: Any, **_options: Any) -> list[tuple[bytes, list[Entry]]]:
    return [(key, _entries(entries)) for key, entries in response or ()]


def _range_callback(response: Any, **_options: Any) -> list[Entry]:
    return _entries(response)


def use_raw_entries(client: Redis) -> None:
    """Make XRANGE/XREVRANGE/XREAD answer (id, [(field, value), ...]) instead of dicts."""
    client.set_response_callback("XRANGE", _range_callback)
    client.set_response_callback("XREVRANGE", _range_callback)
    client.set_response_callback("XREAD", _read_callback)


async def xrange(client: Redis, key: bytes, start: str, end: str, *, count: int | None = None) -> list[Entry]:
    """XRANGE as `use_raw_entries` makes the client answer it (redis-py declares its own parser's type)."""
    return cast("list[Entry]", await client.xrange(key, start, end, count=count))


async def xread(client: Redis, key: bytes, after: str, *, count: int, block: int) -> list[tuple[bytes, list[Entry]]]:
    """XREAD of one stream as `use_raw_entries` makes the client answer it: [(key, entries)] once there are
    entries after `after`, [] when `block` milliseconds passed without."""
    streams: dict[KeyT, StreamIdT] = {key: after}
    return cast("list[tuple[bytes, list[Entry]]]", await client.xread(streams, count=count, block=block))


def id_time(entry_id: bytes | str | None) -> datetime | None:
    """The time in a stream id (`<millis>-<seq>`)."""
    if not entry_id:
        return None
    millis, _, _ = text(entry_id).partition("-")
    if not millis.isdigit() or int(millis) <= 0:
        return None
    try:
        return datetime.fromtimestamp(int(millis) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def start_id(start: StartPosition) -> str:
    """Inclusive XRANGE start for a tail: `-`, an id, or `<millis>-0` for a time.

    A bare integer is read as Redis reads it in XRANGE: the millisecond part of an id.
    """
    if start.kind == "beginning":
        return "-"
    if start.kind == "time" and start.time is not None:
        return f"{int(start.time.timestamp() * 1000)}-0"
    if start.kind == "offset":
        return str(start.offset)
    return "+"


def next_after(entry_id: bytes | str) -> str:
    """The exclusive start after an id (Redis 6.2+ range syntax)."""
    return f"({text(entry_id)}"


def stream_message(broker: str, stream: str, entry: Entry) -> Message:
    """One entry as a Message; on the hot path of a tail, so it avoids every call it can."""
    entry_id, fields = entry
    value: bytes | None = None
    key: bytes | None = None
    headers = []
    for name, data in fields:
        if name == VALUE_FIELD and value is None:
            value = data
        elif name == KEY_FIELD and key is None:
            key = data
        else:
            headers.append((name.decode("utf-8", "backslashreplace"), data))
    if value is None:
        value = orjson.dumps({text(name): text(data) for name, data in fields})
    position = entry_id.decode("ascii", "backslashreplace")
    try:
        timestamp: datetime | None = datetime.fromtimestamp(int(position.partition("-")[0]) / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):  # ids set by hand can be far past year 9999
        timestamp = None
    return Message(broker, stream, None, position, timestamp, key, value, tuple(headers))


def entry_fields(value: bytes, key: bytes | None, headers: Sequence[tuple[str, object]]) -> list[bytes | str]:
    """XADD arguments for an outgoing message: data, then key, then each header, in order."""
    flat: list[bytes | str] = [VALUE_FIELD, value]
    if key is not None:
        flat += [KEY_FIELD, key]
    for name, header in headers:
        flat += [name, header if isinstance(header, bytes) else str(header)]
    return flat


async def pending_page(client: Redis, key: bytes, group: str, start: str, count: int) -> list[dict[str, Any]]:
    return list(await client.xpending_range(key, group, min=start, max="+", count=count))


async def dead_pending(
    client: Redis,
    key: bytes,
    group: str,
    max_deliveries: int,
    *,
    limit: int | None = None,
    scan_limit: int | None = PENDING_SCAN_LIMIT,
    start: str = "-",
) -> tuple[list[dict[str, Any]], bool]:
    """Pending entries delivered `max_deliveries` times or more, oldest first.

    Returns (entries, complete): complete is False when `scan_limit` pending entries were examined
    before the end of the pending list, so the count is a lower bound.
    """
    found: list[dict[str, Any]] = []
    examined = 0
    while True:
        page = PENDING_PAGE if scan_limit is None else min(PENDING_PAGE, scan_limit - examined)
        if page <= 0:
            return found, False
        entries = await pending_page(client, key, group, start, page)
        examined += len(entries)
        for entry in entries:
            if int(entry["times_delivered"]) >= max_deliveries:
                found.append(entry)
                if limit is not None and len(found) >= limit:
                    return found, True
        if len(entries) < page:
            return found, True
        start = next_after(entries[-1]["message_id"])


def compare_ids(left: str, right: str) -> int:
    """-1, 0 or 1 as stream ids compare (numerically, millis then sequence)."""

    def parts(entry_id: str) -> tuple[int, int]:
        millis, _, seq = entry_id.partition("-")
        return (int(millis or 0), int(seq or 0))

    a, b = parts(left), parts(right)
    return (a > b) - (a < b)
