"""RabbitMQ queues and exchanges as destinations, queue details, and a backlog row per queue.

Everything here reads the management API (`Management`): a poll's destinations and backlog share one
listing of /api/queues. `ls --all` adds exchanges and the server-named `amq.*` queues.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from mqtui.brokers.rabbitmq import dramatiq
from mqtui.brokers.rabbitmq.amqp import text
from mqtui.brokers.rabbitmq.management import Management, QueueListing
from mqtui.brokers.rabbitmq.topology import DlqInfo
from mqtui.errors import NotFound
from mqtui.model import BacklogRow, Destination, DestinationKind, Detail, DetailSection

CONSUMERS_GROUP = "(consumers)"
#: Why a queue with messages ready has no time lag.
NO_HEAD_TIMESTAMP = (
    "RabbitMQ reports no head message timestamp for this queue"
    " (messages without a timestamp property, or a quorum queue)"
)
STREAM_NO_TIME_LAG = "RabbitMQ does not report a stream's reader offsets"
DEFAULT_EXCHANGE_NAME = "(AMQP default)"

#: Queue arguments worth a column, with the label they get in `Destination.extra`.
SHOWN_ARGUMENTS = {
    "x-dead-letter-exchange": "dlx",
    "x-dead-letter-routing-key": "dl-routing-key",
    "x-message-ttl": "ttl-ms",
    "x-max-length": "max-length",
    "x-max-length-bytes": "max-length-bytes",
    "x-overflow": "overflow",
    "x-delivery-limit": "delivery-limit",
    "x-expires": "expires-ms",
    "x-single-active-consumer": "single-active-consumer",
}
EXCHANGE_COLUMNS = (
    "name",
    "vhost",
    "type",
    "internal",
    "durable",
    "message_stats.publish_in_details.rate",
    "message_stats.publish_out_details.rate",
)
CONSUMER_COLUMNS = "queue,consumer_tag,prefetch_count,ack_required,channel_details.name"


async def destinations(
    mgmt: Management, listing: QueueListing, dlqs: Mapping[tuple[str, str], DlqInfo], *, include_internal: bool
) -> list[Destination]:
    """Every queue of the listing (and with `include_internal` the `amq.*` ones and every exchange)."""
    found = []
    for row in listing.rows:
        vhost, name = text(row.get("vhost")), text(row.get("name"))
        if name.startswith("amq.") and not include_internal:
            continue
        found.append(_destination(mgmt, row, dlqs.get((vhost, name))))
    found = dramatiq.mark_queues(found)
    if include_internal:
        found.extend(await _exchanges(mgmt))
    return sorted(found, key=lambda d: (d.kind != DestinationKind.EXCHANGE, d.name))


def _destination(mgmt: Management, row: Mapping[str, Any], dlq: DlqInfo | None) -> Destination:
    vhost, name = text(row.get("vhost")), text(row.get("name"))
    queue_type = text(row.get("type")) or "classic"
    stats = row.get("message_stats") or {}
    extra = {"type": queue_type, "vhost": vhost, "state": text(row.get("state"))}
    extra["ready"] = str(number(row.get("messages_ready")))
    arguments = row.get("arguments") or {}
    policy = row.get("effective_policy_definition") or {}
    for argument, label in SHOWN_ARGUMENTS.items():
        value = arguments.get(argument, policy.get(argument.removeprefix("x-")))
        if value is not None:
            extra[label] = _show(value)
    if row.get("policy"):
        extra["policy"] = text(row.get("policy"))
    ack_rate = _rate(stats, "ack_details")
    if ack_rate is not None:
        extra["ack/s"] = f"{ack_rate:g}"
    if dlq is not None:
        extra["dlq-of"] = ", ".join(sorted(dlq.origins)) or "-"
    return Destination(
        broker=mgmt.name,
        name=mgmt.display(vhost, name),
        kind=DestinationKind.STREAM if queue_type == "stream" else DestinationKind.QUEUE,
        depth=number(row.get("messages")),
        in_flight=number(row.get("messages_unacknowledged")),
        consumers=number(row.get("consumers")),
        rate_in=_rate(stats, "publish_details"),
        rate_out=_rate(stats, "deliver_get_details"),
        is_dlq=dlq is not None,
        internal=name.startswith("amq."),
        last_activity=_last_activity(row, queue_type),
        extra=extra,
    )


async def _exchanges(mgmt: Management) -> list[Destination]:
    found = []
    for row in await mgmt.listing("/api/exchanges", EXCHANGE_COLUMNS):
        vhost, name = text(row.get("vhost")), text(row.get("name"))
        stats = row.get("message_stats") or {}
        found.append(
            Destination(
                broker=mgmt.name,
                name=mgmt.display(vhost, name or DEFAULT_EXCHANGE_NAME),
                kind=DestinationKind.EXCHANGE,
                rate_in=_rate(stats, "publish_in_details"),
                rate_out=_rate(stats, "publish_out_details"),
                internal=not name or name.startswith("amq.") or bool(row.get("internal")),
                extra={"type": text(row.get("type")), "vhost": vhost},
            )
        )
    return found


async def describe_queue(mgmt: Management, destination: str) -> Detail:
    """A queue's counts, rates, arguments, bindings and consumers."""
    ref = mgmt.naming.parse(destination)
    row, bindings = await asyncio.gather(mgmt.queue(ref), mgmt.queue_bindings(ref))
    stats = row.get("message_stats") or {}
    summary = [
        ("vhost", ref.vhost),
        ("type", text(row.get("type")) or "classic"),
        ("state", text(row.get("state"))),
        ("durable", _show(row.get("durable"))),
        ("auto delete", _show(row.get("auto_delete"))),
        ("exclusive", _show(row.get("exclusive"))),
        ("messages", str(number(row.get("messages")))),
        ("ready", str(number(row.get("messages_ready")))),
        ("unacked", str(number(row.get("messages_unacknowledged")))),
        ("consumers", str(number(row.get("consumers")))),
        ("policy", text(row.get("policy")) or "-"),
        ("node", text(row.get("node")) or "-"),
    ]
    for label, key in (
        ("publish/s", "publish_details"),
        ("deliver/s", "deliver_get_details"),
        ("ack/s", "ack_details"),
    ):
        rate = _rate(stats, key)
        summary.append((label, "-" if rate is None else f"{rate:g}"))
    arguments = row.get("arguments") or {}
    sections = [
        DetailSection("Arguments", ("ARGUMENT", "VALUE"), tuple((text(k), _show(v)) for k, v in arguments.items())),
        DetailSection(
            "Bindings",
            ("EXCHANGE", "ROUTING KEY", "ARGUMENTS"),
            tuple(
                (
                    text(b.get("source")) or DEFAULT_EXCHANGE_NAME,
                    text(b.get("routing_key")),
                    _show(b.get("arguments") or {}),
                )
                for b in bindings
            ),
        ),
        DetailSection(
            "Consumers",
            ("TAG", "CHANNEL", "PREFETCH", "ACK", "EXCLUSIVE", "ACTIVE"),
            tuple(
                (
                    text(c.get("consumer_tag")),
                    text((c.get("channel_details") or {}).get("name")),
                    _prefetch(c.get("prefetch_count")),
                    "manual" if c.get("ack_required") else "auto",
                    _show(c.get("exclusive")),
                    _show(c.get("active", True)),
                )
                for c in row.get("consumer_details") or ()
            ),
        ),
    ]
    return Detail(mgmt.name, mgmt.display(ref.vhost, ref.name), tuple(summary), tuple(sections))


async def backlog(mgmt: Management, group: str | None) -> list[BacklogRow]:
    """One row per queue: lag = ready, in flight = unacked, members = its consumers with prefetch; the
    oldest waiting message's time is the queue's `head_message_timestamp` where RabbitMQ reports it.

    `group` names a queue. Every row's group is "(consumers)", so a row keeps its identity while
    consumers come and go; queues without consumers are listed too (they are the worst lag).
    """
    if group is not None:
        try:
            row = await mgmt.queue(mgmt.naming.parse(group))
        except NotFound:
            return []
        return [_backlog_row(mgmt, row, row.get("consumer_details") or [])]
    listing, consumers = await asyncio.gather(
        mgmt.queue_listing(), mgmt.get("/api/consumers", {"columns": CONSUMER_COLUMNS})
    )
    by_queue: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for consumer in consumers or ():
        queue = consumer.get("queue") or {}
        by_queue.setdefault((text(queue.get("vhost")), text(queue.get("name"))), []).append(consumer)
    return [
        _backlog_row(mgmt, row, by_queue.get((text(row.get("vhost")), text(row.get("name"))), []))
        for row in listing.rows
        if not text(row.get("name")).startswith("amq.")
    ]


def _backlog_row(mgmt: Management, row: Mapping[str, Any], consumers: Iterable[Mapping[str, Any]]) -> BacklogRow:
    vhost, name = text(row.get("vhost")), text(row.get("name"))
    queue_type = text(row.get("type")) or "classic"
    count = number(row.get("consumers"))
    members = tuple(
        f"{text(c.get('consumer_tag'))} prefetch={_prefetch(c.get('prefetch_count'))} "
        f"{'manual' if c.get('ack_required') else 'auto'}-ack"
        for c in consumers
    )
    lag: int | None
    oldest: datetime | None = None
    unknown: str | None = None
    if queue_type == "stream":
        lag, state = None, "stream (reader offsets not reported)"
        unknown = STREAM_NO_TIME_LAG if number(row.get("messages")) else None
    else:
        lag, state = number(row.get("messages_ready")), "consuming" if count else "no consumers"
        if lag:
            oldest = head_timestamp(row.get("head_message_timestamp"))
            unknown = NO_HEAD_TIMESTAMP if oldest is None else None
    return BacklogRow(
        broker=mgmt.name,
        destination=mgmt.display(vhost, name),
        group=CONSUMERS_GROUP,
        end=number(row.get("messages")),
        lag=lag,
        in_flight=number(row.get("messages_unacknowledged")),
        consumers=count,
        state=state,
        last_activity=_last_activity(row, queue_type),
        members=members,
        oldest_waiting_at=oldest,
        time_lag_unknown=unknown,
    )


def head_timestamp(value: object) -> datetime | None:
    """`head_message_timestamp`: the AMQP timestamp property (seconds) of the queue's first ready
    message, reported for classic queues whose head message carries one."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def number(value: object) -> int:
    """A count from the management API; 0 where it is absent (no statistics sampled yet)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _rate(stats: Mapping[str, Any], key: str) -> float | None:
    details = stats.get(key)
    if not isinstance(details, Mapping):
        return None
    rate = details.get("rate")
    return float(rate) if isinstance(rate, int | float) and not isinstance(rate, bool) else None


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _prefetch(value: object) -> str:
    return "unlimited" if not value else str(value)


def _last_activity(row: Mapping[str, Any], queue_type: str) -> datetime | None:
    """`idle_since` when the queue is idle; RabbitMQ leaves it out while the queue is busy."""
    idle = row.get("idle_since")
    if isinstance(idle, str) and idle:
        try:
            moment = datetime.fromisoformat(idle.replace(" ", "T"))
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if queue_type == "stream":
        return None
    return datetime.now(UTC)
