"""NATS streams, subjects and consumers as the broker-neutral records: destinations, details, backlog.

* Destinations are streams (depth = messages; subjects, bytes, first/last sequence and time,
  retention, storage and replicas in `extra`) from the paged STREAM.LIST API, plus core subjects that
  have subscribers from `/subsz?subs=1` when `monitor_url` is set. KV and object-store buckets are
  internal.
* Backlog: one row per consumer (`group` = consumer name): lag = num_pending, in_flight =
  num_ack_pending, committed = ack floor stream sequence, end = the stream's last sequence. mqtui's own
  tail consumers are left out. `describe_group("NAME")` or `("STREAM/NAME")` has every counter.
  A consumer with messages waiting says when the oldest was stored (`oldest_waiting_at`): the stream's
  message at its ack floor + 1, read with STREAM.MSG.GET in one pipelined window per poll.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mqtui.brokers.nats import dlq as dlqs
from mqtui.brokers.nats import monitor as monitoring
from mqtui.brokers.nats import records
from mqtui.brokers.nats.connection import JetStreamApiError
from mqtui.brokers.nats.jetstream import JetStream
from mqtui.brokers.nats.pipeline import Pipeline, api_answer
from mqtui.errors import BrokerUnavailable, NotFound, UsageError
from mqtui.model import BacklogRow, Destination, Detail


async def destinations(
    js: JetStream,
    monitor: monitoring.Monitor | None,
    rules: Sequence[str],
    dlq_stream: str | None,
    *,
    include_internal: bool,
) -> list[Destination]:
    with js.errors("list streams"):
        streams = await js.streams()
    facts = {s.name: s for s in (dlqs.StreamFacts.of(info) for info in streams)}
    result = []
    for info in streams:
        stream = facts[info["config"]["name"]]
        is_dlq = dlqs.is_dlq_stream(stream, facts, rules, dlq_stream)
        destination = records.stream_destination(js.name, info, is_dlq=is_dlq)
        if include_internal or not destination.internal:
            result.append(destination)
    if monitor is not None:
        with contextlib.suppress(BrokerUnavailable):  # the monitor only adds subjects; streams still count
            subs = await monitor.subscriptions()
            result.extend(monitoring.subject_destinations(js.name, subs, include_internal))
    return result


async def describe(js: JetStream, monitor: monitoring.Monitor | None, destination: str) -> Detail:
    """A stream's state and consumers, or which streams store a subject and who subscribes to it."""
    with js.errors(f"describe {destination}"):
        info = await js.find_stream(destination)
        if info is not None:
            consumers = await js.consumers(destination)
            return Detail(
                broker=js.name,
                name=destination,
                summary=records.stream_summary(info),
                sections=(records.consumers_section(consumers),),
            )
        streams = await js.streams_storing(destination)
    sections = []
    matching: list[dict[str, Any]] = []
    if monitor is not None:
        subs = await monitor.subscriptions()
        matching = [s for s in subs if dlqs.subjects_overlap(str(s.get("subject") or ""), destination)]
        sections.append(monitoring.subscriptions_section(matching, include_internal=True))
    if not streams and not matching:
        raise NotFound(f"{js.name}: no stream named {destination}, none stores it and nobody subscribes to it")
    summary = (
        ("kind", "core subject"),
        ("stored by", ", ".join(streams) or "no stream (core only)"),
    )
    return Detail(broker=js.name, name=destination, summary=summary, sections=tuple(sections))


def _split_group(group: str | None) -> tuple[str | None, str | None]:
    """`STREAM/CONSUMER` -> (stream, consumer); a bare consumer name -> (None, name)."""
    if group and "/" in group:
        stream, _, consumer = group.partition("/")
        return stream, consumer
    return None, group


async def backlog(js: JetStream, group: str | None) -> list[BacklogRow]:
    stream, consumer = _split_group(group)
    with js.errors("list consumers"):
        infos, last_seqs = await js.consumer_infos(stream)
        infos = [
            info
            for info in infos
            if not str(info.get("name", "")).startswith(records.TAIL_CONSUMER_PREFIX)
            and (consumer is None or info.get("name") == consumer)
        ]
        waiting = await _oldest_waiting(js, infos)
    return [
        records.backlog_row(js.name, info, last_seqs.get(str(info.get("stream_name"))), oldest_waiting_at=at)
        for info, at in zip(infos, waiting, strict=True)
    ]


async def _oldest_waiting(js: JetStream, infos: Sequence[dict[str, Any]]) -> list[datetime | None]:
    """When each consumer's oldest unconsumed message was stored: the first message at or after its ack
    floor + 1 that its filter takes, read with STREAM.MSG.GET (`next_by_subj`, so deleted sequences are
    skipped) in pipelined windows; None for a consumer with nothing waiting or whose message is gone."""
    wanted = [(index, records.next_waiting(info)) for index, info in enumerate(infos)]
    requests = [(index, ask) for index, ask in wanted if ask is not None]
    found: list[datetime | None] = [None] * len(infos)
    if not requests:
        return found
    nc = js.conn()
    async with Pipeline(nc) as pipeline:
        for begin in range(0, len(requests), dlqs.READ_WINDOW):
            window = requests[begin : begin + dlqs.READ_WINDOW]
            replies = await pipeline.window(
                [pipeline.api_request(f"STREAM.MSG.GET.{name}", body) for _, (name, body) in window], js.timeout
            )
            for (index, _), reply in zip(window, replies, strict=True):
                with contextlib.suppress(JetStreamApiError, TimeoutError):
                    found[index] = records.parse_time((api_answer(reply).get("message") or {}).get("time"))
    return found


async def describe_group(js: JetStream, group: str) -> Detail:
    stream, consumer = _split_group(group)
    with js.errors(f"describe consumer {group}"):
        infos, _ = await js.consumer_infos(stream)
    found = [info for info in infos if info.get("name") == consumer]
    if not found:
        raise NotFound(f"{js.name}: no consumer named {group}")
    if len(found) > 1:
        where = ", ".join(f"{i.get('stream_name')}/{consumer}" for i in found)
        raise UsageError(f"{js.name}: consumer {consumer} exists on several streams; name one of: {where}")
    return Detail(broker=js.name, name=group, summary=records.consumer_summary(found[0]))
