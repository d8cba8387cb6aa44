"""A stream's consumer groups as a poll reads them: XINFO GROUPS rows, and each group's consumers and
oldest waiting entry for every stream of a snapshot in one pipeline.

Apart from `discovery.Collector`, which reads every key's numbers: this is the part that knows what a
group's position means (the first entry after it, remembered while only appends happen).
"""

from __future__ import annotations

from functools import cmp_to_key
from typing import TYPE_CHECKING, Any

from mqtui.brokers.redis.client import text
from mqtui.brokers.redis.snapshot import ConsumerInfo, GroupInfo, Snapshot, StreamInfo
from mqtui.brokers.redis.streams import compare_ids, next_after

if TYPE_CHECKING:
    from redis.asyncio import Redis


def group_info(raw: dict[str, Any]) -> GroupInfo:
    """One group of XINFO GROUPS; entries-read and lag are None where Redis (before 7) does not say them."""

    def number(key: str) -> int | None:
        value = raw.get(key)
        return None if value is None else int(value)

    return GroupInfo(
        name=text(raw.get("name")),
        consumers=int(raw.get("consumers") or 0),
        pending=int(raw.get("pending") or 0),
        last_delivered=text(raw.get("last-delivered-id")) or "0-0",
        entries_read=number("entries-read"),
        lag=number("lag"),
    )


async def read_consumers(
    client: Redis,
    snap: Snapshot,
    stream_keys: dict[str, bytes],
    known_next: dict[tuple[str, str], tuple[tuple[str, int, int | None], str]],
) -> dict[tuple[str, str], tuple[tuple[str, int, int | None], str]]:
    """Each group's consumers, and for a group with entries waiting the id of the oldest: the first entry
    after its last-delivered id and its oldest pending entry (XPENDING's summary), in one pipeline.

    The first entry after a group's position is remembered with the position, the stream's length and its
    entries-added counter: while the group did not move and entries were only appended it stays the same,
    so a stopped group costs one XRANGE once. Returns what to remember for the next poll."""
    groups = [(s, g) for s in snap.streams.values() for g in s.groups]
    remembered: dict[tuple[str, str], tuple[tuple[str, int, int | None], str]] = {}
    oldest: dict[int, list[str]] = {}
    pipe = client.pipeline(transaction=False)
    reads: list[tuple[str, StreamInfo, GroupInfo]] = []
    for stream, group in groups:
        key = stream_keys[stream.name]
        if group.consumers:
            pipe.xinfo_consumers(key, group.name)
            reads.append(("consumers", stream, group))
        if group.lag:
            first = _still_next(known_next.get((stream.name, group.name)), stream, group)
            if first is None:
                pipe.xrange(key, next_after(group.last_delivered), "+", count=1)
                reads.append(("next", stream, group))
            else:
                remembered[stream.name, group.name] = ((group.last_delivered, stream.length, stream.entries_added),
                                                       first)  # fmt: skip
                oldest.setdefault(id(group), []).append(first)
        if group.pending:
            pipe.xpending(key, group.name)
            reads.append(("pending", stream, group))
    answers = await pipe.execute(raise_on_error=False) if reads else []
    for (kind, stream, group), answer in zip(reads, answers, strict=True):
        if isinstance(answer, Exception):
            continue
        if kind == "consumers":
            group.members = [
                ConsumerInfo(
                    name=text(c.get("name")),
                    pending=int(c.get("pending") or 0),
                    idle_ms=None if c.get("idle") is None else int(c["idle"]),
                    inactive_ms=None if c.get("inactive") is None else int(c["inactive"]),
                )
                for c in answer
            ]
        elif kind == "next" and answer:
            first = text(answer[0][0])
            remembered[stream.name, group.name] = ((group.last_delivered, stream.length, stream.entries_added), first)
            oldest.setdefault(id(group), []).append(first)
        elif kind == "pending" and isinstance(answer, dict) and answer.get("min"):
            oldest.setdefault(id(group), []).append(text(answer["min"]))
    for _, group in groups:
        found = oldest.get(id(group))
        if found:
            group.oldest_waiting = min(found, key=cmp_to_key(compare_ids))
    return remembered


def _still_next(
    known: tuple[tuple[str, int, int | None], str] | None, stream: StreamInfo, group: GroupInfo
) -> str | None:
    """The remembered first entry after the group's position while it still is (only appends since)."""
    if known is None:
        return None
    (position, length, added), first = known
    if position != group.last_delivered or added is None or stream.entries_added is None:
        return None
    appended = stream.entries_added - added
    return first if appended >= 0 and stream.length - length == appended else None
