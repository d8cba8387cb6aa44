"""The details views of a Redis list, stream or consumer group, each read in one or two pipelines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import humanize

from mqtui.brokers.redis.client import text
from mqtui.brokers.redis.lag import count_after
from mqtui.figures import duration
from mqtui.model import Detail, DetailSection
from mqtui.safetext import safe_line

if TYPE_CHECKING:
    from redis.asyncio import Redis

PEEK_ROWS = 10
PENDING_ROWS = 50
GROUP_COLUMNS = ("CONSUMERS", "PENDING", "LAST DELIVERED", "ENTRIES READ", "LAG")
STREAM_FIELDS = ("length", "last-generated-id", "max-deleted-entry-id", "entries-added", "recorded-first-entry-id",
                 "groups")  # fmt: skip


def _number(value: Any) -> str:
    return "-" if value is None else str(value)


async def _count_missing_lag(client: Redis, key: bytes, groups: list[dict[str, Any]]) -> None:
    """Redis answers lag nil after a deletion past a group's position: count it (see `lag`)."""
    for info in groups:
        if info.get("lag") is None:
            lag, at_least = await count_after(client, key, text(info["last-delivered-id"]))
            info["lag"] = f"≥{lag}" if at_least else lag


def _group_cells(info: dict[str, Any]) -> tuple[str, ...]:
    return (str(info["consumers"]), str(info["pending"]), text(info["last-delivered-id"]),
            _number(info.get("entries-read")), _number(info.get("lag")))  # fmt: skip


async def describe_list(
    client: Redis, broker: str, name: str, key: bytes, *, helpers: list[str], newest_at_right: bool
) -> Detail:
    """Length, idle time, memory, the sizes of its processing and dead-letter lists, the next elements."""
    pipe = client.pipeline(transaction=False)
    pipe.object("idletime", key)
    pipe.llen(key)
    pipe.memory_usage(key)
    for helper in helpers:
        pipe.llen(helper)
    if newest_at_right:
        pipe.lrange(key, 0, PEEK_ROWS - 1)
    else:
        pipe.lrange(key, -PEEK_ROWS, -1)
    idle, length, memory, *sizes, peek = await pipe.execute(raise_on_error=False)
    summary = [("type", "list"), ("length", f"{length:,}")]
    if isinstance(idle, int):
        summary.append(("idle", duration(idle)))
    if isinstance(memory, int):
        summary.append(("memory", humanize.naturalsize(memory, binary=True)))
    for helper, size in zip(helpers, sizes, strict=True):
        if isinstance(size, int) and size:
            summary.append((helper, f"{size:,} element(s)"))
    oldest_first = list(peek) if newest_at_right else list(reversed(peek))
    rows = tuple((str(i), safe_line(value, 120)) for i, value in enumerate(oldest_first))
    return Detail(broker, name, tuple(summary), (DetailSection("Next to be consumed", ("POSITION", "VALUE"), rows),))


async def describe_stream(client: Redis, broker: str, name: str, key: bytes) -> Detail:
    """XINFO STREAM's counters, every group's position and lag, every consumer's pending and idle time."""
    pipe = client.pipeline(transaction=False)
    pipe.xinfo_stream(key)
    pipe.xinfo_groups(key)
    info, groups = await pipe.execute()
    await _count_missing_lag(client, key, groups)
    pipe = client.pipeline(transaction=False)
    for group in groups:
        pipe.xinfo_consumers(key, group["name"])
    consumers = await pipe.execute(raise_on_error=False) if groups else []
    summary = [("type", "stream")]
    summary += [(field, text(info[field])) for field in STREAM_FIELDS if info.get(field) is not None]
    group_rows = tuple((text(g["name"]), *_group_cells(g)) for g in groups)
    consumer_rows = tuple(
        (text(g["name"]), text(c["name"]), str(c["pending"]), duration(c["idle"] / 1000),
         duration(c["inactive"] / 1000) if c.get("inactive") is not None else "-")
        for g, answer in zip(groups, consumers, strict=True) if not isinstance(answer, Exception)
        for c in answer
    )  # fmt: skip
    sections = (
        DetailSection("Consumer groups", ("GROUP", *GROUP_COLUMNS), group_rows),
        DetailSection("Consumers", ("GROUP", "CONSUMER", "PENDING", "IDLE", "INACTIVE"), consumer_rows),
    )
    return Detail(broker, name, tuple(summary), sections)


async def describe_group(
    client: Redis, broker: str, title: str, group: str, streams: dict[str, bytes], max_deliveries: int
) -> Detail | None:
    """One group on each of `streams` (name -> key): position, consumers, and its oldest pending entries
    with their delivery counts and idle times (XPENDING). None when no stream has the group."""
    names = sorted(streams)
    pipe = client.pipeline(transaction=False)
    for stream in names:
        pipe.xinfo_groups(streams[stream])
        pipe.xinfo_consumers(streams[stream], group)
        pipe.xpending_range(streams[stream], group, min="-", max="+", count=PENDING_ROWS)
    answers = await pipe.execute(raise_on_error=False) if names else []
    group_rows, consumer_rows, pending_rows = [], [], []
    for index, stream in enumerate(names):
        infos, members, pending = answers[3 * index : 3 * index + 3]
        if any(isinstance(answer, Exception) for answer in (infos, members, pending)):
            continue
        infos = [info for info in infos if text(info["name"]) == group]
        await _count_missing_lag(client, streams[stream], infos)
        group_rows += [(stream, *_group_cells(info)) for info in infos]
        consumer_rows += [(stream, text(c["name"]), str(c["pending"]), duration(c["idle"] / 1000)) for c in members]
        pending_rows += [
            (stream, text(p["message_id"]), text(p["consumer"]), duration(p["time_since_delivered"] / 1000),
             str(p["times_delivered"]))
            for p in pending
        ]  # fmt: skip
    if not group_rows:
        return None
    summary = (("streams", ", ".join(row[0] for row in group_rows)), ("max deliveries", str(max_deliveries)))
    sections = (
        DetailSection("Group", ("STREAM", *GROUP_COLUMNS), tuple(group_rows)),
        DetailSection("Consumers", ("STREAM", "CONSUMER", "PENDING", "IDLE"), tuple(consumer_rows)),
        DetailSection(f"Pending entries (oldest {PENDING_ROWS})", ("STREAM", "ID", "CONSUMER", "IDLE", "DELIVERIES"),
                      tuple(pending_rows)),
    )  # fmt: skip
    return Detail(broker, title, summary, sections)
