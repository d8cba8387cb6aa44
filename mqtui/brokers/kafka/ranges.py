"""A range of a Kafka topic for a search: every partition at once, by assignment, never committed.

The plan turns `--from`/`--to` into start and end offsets per partition from the watermarks: an offset
below what a partition still holds is named as deleted by retention. A start time is looked up with
ListOffsets-by-time and checked while reading (`not_before`), as tails do. An end time is looked up too,
but tansu answers offset 0 for every time, so where the answer does not lie after the start the read
goes on to the high watermark and stops each partition at its first record stamped at or after the end
(`until`): a count is then an upper bound, and the search says how many it really found.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncGenerator, Sequence
from datetime import datetime
from typing import Any

from confluent_kafka.admin import OffsetSpec

from mqtui.brokers.kafka.client import KafkaClients
from mqtui.brokers.kafka.tail import PartitionReader, Reads, kind_offsets, stream_batches
from mqtui.errors import UsageError
from mqtui.model import Message, RangePart, RangePlan, StartPosition


async def plan_range(clients: KafkaClients, topic: str, start: StartPosition, end: StartPosition | None) -> RangePlan:
    partitions = await clients.partitions(topic)
    tps = [(topic, p) for p in partitions]
    lows, highs = await clients.bounds(topic, tps)
    starts = await kind_offsets(clients, tps, start, lows, highs)
    ends, until = await _ends(clients, tps, end, highs)
    parts = []
    for p in partitions:
        first, stop = starts[p], max(starts[p], ends[p])
        missing = None
        if start.kind == "offset" and isinstance(start.offset, int) and start.offset < lows[p] and start.offset < stop:
            missing = f"offsets {start.offset:,}..{lows[p] - 1:,} (deleted by retention)"
        elif start.kind == "time" and lows[p] > 0 and first == lows[p]:
            missing = f"offsets before {lows[p]:,} (deleted by retention; they may have been in the range)"
        holds = stop > first
        since = start.time if start.kind == "time" else None
        parts.append(
            RangePart(
                p,
                first if holds else None,
                stop - 1 if holds else None,
                stop - first,
                since=since,
                until=until,
                missing=missing,
            )
        )
    return RangePlan(topic, tuple(parts))


async def _ends(
    clients: KafkaClients, tps: list[tuple[str, int]], end: StartPosition | None, highs: dict[int, int]
) -> tuple[dict[int, int], datetime | None]:
    """Exclusive end offsets, and the time each partition stops at when the end is a time."""
    if end is None or end.kind == "end":
        return dict(highs), None
    if end.kind == "beginning":
        return {p: 0 for p in highs}, None
    if end.kind == "offset":
        if not isinstance(end.offset, int):
            raise UsageError(f"a Kafka offset is a number, not {end.offset!r}")
        last = end.offset
        return {p: min(last + 1, highs[p]) for p in highs}, None
    assert end.time is not None
    millis = int(end.time.timestamp() * 1000)
    found = await clients.offsets(tps, OffsetSpec.for_timestamp(millis), "find offsets by time")
    ends = {}
    for topic, p in tps:
        offset = found.get((topic, p))
        # An answer of 0 (tansu, for any time) or none: read to the watermark and stop by timestamp.
        ends[p] = offset if offset is not None and 0 < offset <= highs[p] else highs[p]
    return ends, end.time


class RangeReader(PartitionReader):
    """A bounded `PartitionReader` that also finishes each partition at its first record stamped at or
    after `until` (epoch ms), like ListOffsets-by-time would, without trusting the broker's answer."""

    def __init__(self, *args: Any, until: int | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.until = until

    def _bounded(self, raw: list[Any], ends: dict[int, int], pending: set[int]) -> tuple[list[Any], set[int]]:
        kept, finished = super()._bounded(raw, ends, pending)
        until = self.until
        if until is None:
            return kept, finished
        timed: list[Any] = []
        stopped: set[int] = set()
        for record in kept:
            partition = record.partition()
            if partition in stopped:
                continue
            if record.timestamp()[1] >= until:
                stopped.add(partition)
                continue
            timed.append(record)
        return timed, finished | stopped


async def read_range(reads: Reads, plan: RangePlan) -> AsyncGenerator[Sequence[Message], None]:
    """Every planned partition read at once by one assigned consumer, in batches."""
    starts = {p.part or 0: int(p.start) for p in plan.parts if p.start is not None and p.end is not None}
    ends = {p.part or 0: int(p.end) + 1 for p in plan.parts if p.start is not None and p.end is not None}
    if not starts:
        return
    first = plan.parts[0]
    reader = RangeReader(
        reads.settings(), reads.name, plan.destination, starts, ends, until=_millis(first.until),
        not_before=_millis(first.since), idle_timeout=reads.config.timeout,
    )  # fmt: skip
    stop = threading.Event()
    batches = stream_batches(reader, stop)
    try:
        async for batch in batches:
            yield batch
    finally:
        stop.set()
        await batches.aclose()


def _millis(moment: datetime | None) -> int | None:
    return int(moment.timestamp() * 1000) if moment is not None else None
