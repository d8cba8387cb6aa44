"""CLI commands that read: `ls`, `describe`, `group`, `lag`, `tail` and `peek`.

Commands over several brokers ask them all at once through the gateway's fan-out and report a broker
that fails on stderr while the others still answer (exit 1 at the end). `peek` is a write where the
broker's peek has side effects (RabbitMQ marks messages redelivered): refused in a readonly profile
and confirmed, unless the adapter's peek only reads (Redis).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from mqtui import jsonl
from mqtui.commands.decoding import decode_messages, decoder_from_args
from mqtui.commands.output import (
    Output,
    confirm,
    parse_start,
    print_detail,
    print_messages,
    warn,
    warn_failures,
)
from mqtui.errors import MqtuiError, NotFound, UsageError
from mqtui.figures import age, count, elapsed, format_table, rate
from mqtui.jobcounts import job_counts
from mqtui.model import BacklogRow, Capability, Destination, Detail, Message, StartPosition
from mqtui.services.decoding import Decoder
from mqtui.services.gateway import Adapter, Gateway

SERVER_VIEW = "$server"
"""The name `describe` takes for the server view of a broker that has one (Capability.SERVER_VIEW)."""


async def cmd_ls(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    fan_out = await gateway.each(lambda a: a.destinations(include_internal=args.all), args.broker, notices=warn)
    failures = warn_failures(fan_out)
    destinations = [d for batch in fan_out.answers for d in batch]
    if out.as_json:
        out.records(jsonl.destination_record(d) for d in destinations)
    else:
        rows = [
            (d.broker, d.name, d.kind.value, count(d.depth), count(d.in_flight), count(d.consumers),
             count(d.partitions), _replicas(d), rate(d.rate_in), rate(d.rate_out), _marker(d))
            for d in destinations
        ]  # fmt: skip
        out.text(format_table(
            ("BROKER", "NAME", "KIND", "DEPTH", "IN-FLIGHT", "CONSUMERS", "PARTS", "REPL", "IN", "OUT", ""),
            rows, numeric=(3, 4, 5, 6, 7, 8, 9),
        ))  # fmt: skip
    return 1 if failures else 0


def _marker(destination: Destination) -> str:
    """DLQ, or the job framework a row is a queue of with the counts its dashboard shows beside depth
    (`bull:emails` is a Redis list, but a BullMQ queue with 5 failed jobs is what the on-call engineer
    looks for): "bullmq delayed 3 · failed 5"."""
    if destination.is_dlq:
        return "DLQ"
    jobs = job_counts(destination)
    return f"{jobs.framework} {jobs.summary()}".strip() if jobs else ""


def _replicas(destination: Destination) -> str:
    """Copies kept of each message: a topic under-replicated at 1 is worth seeing next to its depth."""
    return destination.extra.get("replication") or destination.extra.get("replicas") or "-"


async def describe(adapter: Adapter, name: str) -> Detail:
    """A destination's details, or the server view for `$server` where the broker has one."""
    if name == SERVER_VIEW and adapter.can(Capability.SERVER_VIEW):
        return await adapter.describe_server()
    return await adapter.describe(name)


async def cmd_describe(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    print_detail(await gateway.call(args.broker, lambda a: describe(a, args.destination)), out)
    return 0


async def cmd_group(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    """A consumer group's details; a broker without consumer groups (RabbitMQ) refuses, exit 2."""
    detail = await gateway.call(args.broker, lambda a: a.describe_group(args.group), needs=Capability.GROUPS)
    print_detail(detail, out)
    return 0


def sort_backlog(rows: list[BacklogRow]) -> list[BacklogRow]:
    return sorted(rows, key=lambda r: (-(r.lag or 0), r.broker, r.destination, r.group, r.partition or 0))


async def cmd_lag(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    fan_out = await gateway.each(lambda a: a.backlog(group=args.group), args.broker, notices=warn)
    failures = warn_failures(fan_out)
    rows = sort_backlog([row for batch in fan_out.answers for row in batch])
    now = datetime.now(UTC)
    if out.as_json:
        out.records(jsonl.backlog_record(r, now) for r in rows)
    else:
        table = [
            (r.broker, r.destination, r.group, "-" if r.partition is None else r.partition,
             "none" if r.committed is None else r.committed, "-" if r.end is None else r.end,
             ("≥" if r.lag_at_least else "") + count(r.lag), elapsed(jsonl.time_lag(r, now)),
             count(r.in_flight), count(r.consumers), r.state or "", age(r.last_activity, now))
            for r in rows
        ]  # fmt: skip
        out.text(format_table(
            ("BROKER", "DESTINATION", "GROUP", "PART", "COMMITTED", "END", "LAG", "TIME LAG", "IN-FLIGHT",
             "CONSUMERS", "STATE", "ACTIVE"),
            table, numeric=(3, 4, 5, 6, 7, 8, 9),
        ))  # fmt: skip
    return 1 if failures else 0


async def cmd_tail(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    start = parse_start(args.start, "--from")

    async def follow(adapter: Adapter) -> int:
        if await waits_for_missing(adapter, args.destination, start):
            missing = f"no such destination {args.destination!r} on broker {args.broker}"
            if args.end:
                raise UsageError(f"{missing}: nothing to read to its end")
            warn(f"{missing} (waiting for it to appear)")
        stream = adapter.tail(args.destination, start=start, stop_at_end=args.end)
        await print_tail(stream, args.limit, out, decoder)
        return 0

    decoder = decoder_from_args(gateway, args.broker, args)
    out.raw = args.raw

    return await gateway.call(args.broker, follow)


async def print_tail(
    stream: AsyncIterator[Sequence[Message]], limit: int | None, out: Output, decoder: Decoder | None = None
) -> None:
    """Print a tail's batches as they come, up to `limit` messages, decoded, and close the tail."""
    remaining = limit
    try:
        async for batch in stream:
            if remaining is not None:
                batch = batch[:remaining]
                remaining -= len(batch)
            if batch:
                print_messages(await decode_messages(decoder, batch) if decoder else batch, out)
            if remaining == 0:
                break
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
        if decoder is not None:
            decoder.close()


async def waits_for_missing(adapter: Adapter, destination: str, start: StartPosition) -> bool:
    """Whether a tail would wait in silence for a destination that does not exist (yet).

    Redis tails a missing key as an empty list (an idle queue has no key) and NATS tails a subject no
    stream stores as core traffic from the end: both are right to wait, but an on-call engineer who
    mistyped the name must be told. Kafka and RabbitMQ tails (and NATS ones from a position) end with
    NotFound by themselves. The adapter's `describe` answers NotFound for the same names its tail waits on.
    """
    if not (adapter.kind == "redis" or (adapter.kind == "nats" and start.kind == "end")):
        return False
    try:
        await adapter.describe(destination)
    except NotFound:
        return True
    except MqtuiError:
        return False  # could not tell; the tail itself reports what is wrong
    return False


async def cmd_peek(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    if gateway.writes(args.broker, Capability.PEEK):  # asked before any connection
        gateway.check(args.broker, Capability.PEEK)
        confirm(f"peek at {args.limit} messages in {args.destination} (they will be marked redelivered)?", args.yes)
    decoder = decoder_from_args(gateway, args.broker, args)
    out.raw = args.raw
    messages = await gateway.call(
        args.broker, lambda a: a.peek(args.destination, limit=args.limit), writes=Capability.PEEK
    )
    try:
        print_messages(await decode_messages(decoder, messages), out)
    finally:
        decoder.close()
    return 0
