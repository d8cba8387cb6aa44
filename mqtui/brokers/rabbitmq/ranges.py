"""A range of a RabbitMQ queue for a search: a stream by offset or time, any other queue by peek.

A stream is read as a stream tail reads it (a consumer from an `x-stream-offset`, acks that only move
this reader's window) until the end offset asked, the first message stamped at or after an end time, or
a second without messages (a stream has no end offset the management API tells). RabbitMQ starts a
time offset at the chunk holding that time, so messages stamped (AMQP `timestamp`) before it are dropped
here; a message without a timestamp is kept as the broker placed it, and cannot end a time range. A classic or quorum
queue has no positions and no history: the only way to read what it holds is get + requeue, which
marks every message redelivered (and counts against a quorum queue's delivery limit). Its plan says
so (`hazard`), so a search of it is confirmed and refused in a readonly profile, as `peek` is, and it
reads the whole queue at once: get + requeue must hold every message unacked until the last get.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence

from pika.adapters.blocking_connection import BlockingChannel

from mqtui.brokers.rabbitmq import messages as message_jobs
from mqtui.brokers.rabbitmq.amqp import text
from mqtui.brokers.rabbitmq.management import Management
from mqtui.brokers.rabbitmq.runner import AmqpRunner
from mqtui.brokers.rangecut import before_end
from mqtui.errors import NotPossible
from mqtui.model import Message, RangePart, RangePlan, StartPosition

PEEK_HAZARD = "reading a queue by get + requeue marks every message redelivered"

Tail = Callable[[str, StartPosition], AsyncIterator[Sequence[Message]]]


async def plan_range(
    mgmt: Management, runner: AmqpRunner, destination: str, start: StartPosition, end: StartPosition | None
) -> RangePlan:
    ref = mgmt.naming.parse(destination)
    row = await mgmt.queue(ref)
    if text(row.get("type")) == "stream":
        return _plan_stream(mgmt, destination, row, start, end)
    if start.kind != "beginning" or (end is not None and end.kind != "end"):
        raise NotPossible(
            f"{mgmt.name}: {destination} is not a stream: it has no positions or times, so it is searched whole "
            "(by peek: drop --from and --to)"
        )
    ready = await runner.run(ref.vhost, lambda channel, _progress: _ready(channel, ref.name))
    part = RangePart(None, 0, ready - 1, ready) if ready else RangePart(None, None, None, 0)
    return RangePlan(destination, (part,), part_name="queue", hazard=PEEK_HAZARD)


def _ready(channel: BlockingChannel, queue: str) -> int:
    """Messages ready in `queue` now (a passive declare: exact, unlike the management API's samples)."""
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def _plan_stream(
    mgmt: Management, destination: str, row: dict, start: StartPosition, end: StartPosition | None
) -> RangePlan:
    for bound in (start, end):
        if bound is not None and bound.kind == "offset" and not isinstance(bound.offset, int):
            raise NotPossible(f"{mgmt.name}: a stream offset is a number, not {bound.offset!r}")
    held = int(row.get("messages") or 0)  # sampled by the management API: only a hint for progress
    first = int(start.offset or 0) if start.kind == "offset" else 0
    last = int(end.offset or 0) if end is not None and end.kind == "offset" else None
    whole = start.kind == "beginning" and (end is None or end.kind == "end")
    if start.kind == "end" or (last is not None and last < first):
        return RangePlan(destination, (RangePart(None, None, None, 0),), part_name="stream")
    part = RangePart(
        None, first, last if last is not None else "end", held if whole and held else None,
        since=start.time if start.kind == "time" else None,
        until=end.time if end is not None and end.kind == "time" else None,
    )  # fmt: skip
    return RangePlan(destination, (part,), part_name="stream")


async def read_range(
    mgmt: Management, runner: AmqpRunner, tail: Tail, plan: RangePlan
) -> AsyncGenerator[Sequence[Message], None]:
    part = plan.parts[0]
    if part.start is None:
        return
    if plan.hazard is not None:
        yield await message_jobs.peek(mgmt, runner, plan.destination, int(part.count or 0))
        return
    start = StartPosition("time", time=part.since) if part.since else StartPosition("offset", offset=int(part.start))
    last = part.end if isinstance(part.end, int) else None
    batches = tail(plan.destination, start)
    try:
        async for batch in batches:
            kept = [m for m in batch if part.since is None or m.timestamp is None or m.timestamp >= part.since]
            kept, ended = before_end(kept, lambda m: _past(m, last, part))
            if kept:
                yield kept
            if ended:
                return
    finally:
        await batches.aclose()  # type: ignore[attr-defined]


def _past(message: Message, last: int | None, part: RangePart) -> bool:
    """Whether `message` lies after the range: past the last offset, or stamped at or after its end."""
    if last is not None and isinstance(message.position, int) and message.position > last:
        return True
    return part.until is not None and message.timestamp is not None and message.timestamp >= part.until
