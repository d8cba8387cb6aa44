"""RabbitMQ retry queues: messages parked in a queue nobody consumes until their TTL runs out, when the
broker dead-letters them back to the queue they came from (the "TTL + dead-letter" retry pattern).

A queue is taken for one when it has a dead-letter exchange (argument or policy), no consumers, and
either a queue TTL (`x-message-ttl`) or a name saying retry / delay / wait (its messages then carry
their own `expiration`); but not when what it dead-letters lands in a DLQ: that is a queue whose expired
messages die (a main queue with a TTL, its consumers down), not one that retries them. Everything comes from the poll's one queue listing: the queues are never read,
because a get + requeue would count as a delivery and could reorder them.

What can be told from the listing alone:
- due later: every message in the queue. RabbitMQ dead-letters a message as its TTL runs out at the
  head, so with a queue TTL nothing stays past due (due now is 0); with per-message expirations a
  message behind a longer-lived head waits past its own, which only a read could tell.
- next due: the head message's `timestamp` property (`head_message_timestamp`) plus the queue TTL,
  exact when the retry was published into this queue with a timestamp. A message dead-lettered into it
  keeps the timestamp of its first publish while its TTL counts from its arrival here; when that sum is
  already past, the arrival time is not reported anywhere, and the next due time is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from mqtui.brokers.rabbitmq.amqp import text
from mqtui.brokers.rabbitmq.dlq import DeadLetters
from mqtui.brokers.rabbitmq.management import Management
from mqtui.brokers.rabbitmq.queues import head_timestamp, number
from mqtui.brokers.rabbitmq.topology import RETRY_NAME
from mqtui.model import RetrySchedule

CONVENTION = "ttl + dead-letter"
NO_TIMESTAMP = "RabbitMQ reports no head message timestamp (messages without a timestamp property)"
DEAD_LETTERED_IN = "the head message was dead-lettered in; RabbitMQ does not report when it arrived"
PER_MESSAGE = "messages expire one by one (per-message expiration); only a read, a delivery, could tell"


def _setting(row: Mapping[str, Any], argument: str) -> Any:
    """A queue argument, else the same key of its effective policy (`x-message-ttl` / `message-ttl`)."""
    arguments = row.get("arguments") or {}
    policy = row.get("effective_policy_definition") or {}
    value = arguments.get(argument)
    return value if value is not None else policy.get(argument.removeprefix("x-"))


def retry_queue(row: Mapping[str, Any], now: datetime, broker: str, display: str) -> RetrySchedule | None:
    """The retry schedule of one queue of the listing, or None when it is not a retry queue."""
    dlx = _setting(row, "x-dead-letter-exchange")
    ttl = _setting(row, "x-message-ttl")
    ttl_ms = ttl if isinstance(ttl, int) and not isinstance(ttl, bool) and ttl >= 0 else None
    name = text(row.get("name"))
    if dlx is None or number(row.get("consumers")) or text(row.get("type")) == "stream":
        return None
    if ttl_ms is None and not RETRY_NAME.search(name):
        return None
    routing_key = _setting(row, "x-dead-letter-routing-key")
    origin = text(routing_key) if routing_key else (text(dlx) or None)
    waiting = number(row.get("messages"))
    if ttl_ms is None:
        return RetrySchedule(broker, display, CONVENTION, origin, due_now=None, due_later=None,
                             unknown_reason=PER_MESSAGE if waiting else None)  # fmt: skip
    next_due: datetime | None = None
    reason: str | None = None
    if waiting:
        head = head_timestamp(row.get("head_message_timestamp"))
        if head is None:
            reason = NO_TIMESTAMP
        elif (due := head + timedelta(milliseconds=ttl_ms)) > now:
            next_due = due
        else:
            reason = DEAD_LETTERED_IN
    return RetrySchedule(broker, display, CONVENTION, origin, due_now=0, due_later=waiting, next_due_at=next_due,
                         unknown_reason=reason)  # fmt: skip


async def schedules(mgmt: Management, dead: DeadLetters, now: datetime | None = None) -> list[RetrySchedule]:
    """Every retry queue of the poll's queue listing (whose dead-letter map `dead` works out once)."""
    listing = await mgmt.queue_listing()
    dying = {origin for info in (await dead.of_listing(listing)).values() for origin in info.origins}
    moment = now or datetime.now(UTC)
    found = []
    for row in listing.rows:
        display = mgmt.display(text(row.get("vhost")), text(row.get("name")))
        if display in dying:
            continue  # its expired messages go to a DLQ: they die, they are not retried
        schedule = retry_queue(row, moment, mgmt.name, display)
        if schedule is not None:
            found.append(schedule)
    return sorted(found, key=lambda s: s.destination)
