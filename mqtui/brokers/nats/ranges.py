"""A range of a JetStream stream (or of a subject a stream stores) for a search, by sequence or time.

Read as tails read history: an ordered ephemeral consumer of mqtui's own from the start sequence or
time (a work-queue stream by STREAM.MSG.GET, so nothing is taken), up to the stream's last sequence when
the range was planned, so messages published while the search reads are not followed. `--to` a
sequence is inclusive, a time exclusive (the read stops at the first message stamped at or after it).
A start sequence below the stream's first one is named as removed by the stream's limits. A core
subject that no stream stores holds nothing to search: NotFound.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from mqtui.brokers.nats.jetstream import JetStream
from mqtui.brokers.nats.tail import start_sequence, stream_tail, workqueue_tail
from mqtui.brokers.rangecut import before_end
from mqtui.errors import NotFound
from mqtui.model import Message, RangePart, RangePlan, StartPosition


async def _resolve(js: JetStream, destination: str) -> tuple[dict[str, Any], str | None]:
    """The stream's info and the subject filter (None: the whole stream)."""
    info = await js.find_stream(destination)
    if info is not None:
        return info, None
    streams = await js.streams_storing(destination)
    if not streams:
        raise NotFound(f"{js.name}: no stream {destination!r} and no stream stores that subject")
    return await js.stream(streams[0]), destination


async def plan_range(js: JetStream, destination: str, start: StartPosition, end: StartPosition | None) -> RangePlan:
    with js.errors(f"search {destination}"):
        info, subject = await _resolve(js, destination)
    state = info.get("state") or {}
    first_seq, last_seq = int(state.get("first_seq") or 0), int(state.get("last_seq") or 0)
    held = int(state.get("messages") or 0)
    low = first_seq
    missing = None
    if start.kind == "offset":
        asked = start_sequence(js.name, start)
        low = max(asked, first_seq)
        if asked < first_seq and held:
            missing = f"sequences {asked:,}..{first_seq - 1:,} (removed by the stream's limits)"
    elif start.kind == "end":
        low = last_seq + 1
    high = last_seq
    if end is not None and end.kind == "offset":
        high = min(last_seq, start_sequence(js.name, end))
    elif end is not None and end.kind == "beginning":
        high = 0
    since = start.time if start.kind == "time" else None
    until = end.time if end is not None and end.kind == "time" else None
    if not held or low > high:
        return RangePlan(destination, (RangePart(None, None, None, 0),), part_name="stream")
    whole = subject is None and low == first_seq and high == last_seq
    count = held if whole else (high - low + 1 if subject is None else None)
    part = RangePart(None, low, high, count, since=since, until=until, missing=missing)
    return RangePlan(destination, (part,), part_name="stream")


async def read_range(js: JetStream, plan: RangePlan) -> AsyncGenerator[Sequence[Message], None]:
    part = plan.parts[0]
    if part.start is None or part.end is None:
        return
    first, last = int(part.start), int(part.end)
    with js.errors(f"search {plan.destination}"):
        info, subject = await _resolve(js, plan.destination)
        config = info.get("config") or {}
        stream = str(config.get("name"))
        start = StartPosition("time", time=part.since) if part.since else StartPosition("offset", offset=first)
        reader: AsyncGenerator[Sequence[Message], None]
        if config.get("retention") == "workqueue":
            reader = workqueue_tail(
                js.conn(), js.name, stream, first_seq=first, last_seq=last, filter_subject=subject, start=start,
                stop_at_end=True, timeout=js.timeout,
            )  # fmt: skip
        else:
            reader = stream_tail(
                js.conn(), js.name, stream, last_seq=last, filter_subject=subject, start=start, stop_at_end=True,
                timeout=js.timeout,
            )  # fmt: skip
        until = part.until

        def stamped_past(message: Message) -> bool:
            return until is not None and message.timestamp is not None and message.timestamp >= until

        try:
            async for batch in reader:
                kept, ended = before_end([m for m in batch if first <= int(m.position) <= last], stamped_past)
                if kept:
                    yield kept
                if ended or (batch and int(batch[-1].position) >= last):
                    return
        finally:
            await reader.aclose()
