"""Due times of parked retries, as the common conventions write them, and the counts made of them.

Every broker's retry module reads its own storage (Kafka records, Redis sorted sets, RabbitMQ queue
listings) and hands the due times it found here, so "due now", "due later" and "next due" mean the
same everywhere:

- an epoch number is seconds or milliseconds, told by its size (RQ and Sidekiq score in seconds, many
  hand-rolled schedules in milliseconds);
- Spring Kafka's `retry_topic-backoff-timestamp` header is the due time in epoch milliseconds, as the
  big-endian two's-complement bytes of `BigInteger.toByteArray()` (spring-kafka 2.7.x wrote it as
  decimal text, and the first releases as an ISO date-time: both are still read);
- the seed's retry envelope is a JSON object `{"type": "retry", "retry_at": ...}` whose `retry_at` is an
  ISO 8601 time or an epoch number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

SPRING_BACKOFF_HEADER = "retry_topic-backoff-timestamp"
ENVELOPE_TYPE = "retry"
ENVELOPE_FIELD = "retry_at"

_MILLIS_FROM = 10**11
"""Epoch numbers from here on are milliseconds: 1e11 seconds is the year 5138, 1e11 ms is 1973."""
_EARLIEST = 10**8
"""Smaller epoch numbers (before 1973 in seconds) are not due times: a score that counts something else."""
_LATEST = 10**14
"""Larger ones (after the year 5138 in milliseconds) are not due times either (microseconds, ids)."""
_MAX_ENVELOPE = 64 * 1024
"""Values longer than this are not parsed as envelopes (a retry envelope is a small JSON object)."""


def from_epoch(value: float) -> datetime | None:
    """An epoch number in seconds or milliseconds (told by its size); None when it cannot be a due time."""
    if not _EARLIEST <= value < _LATEST:
        return None
    seconds = value / 1000 if value >= _MILLIS_FROM else value
    return datetime.fromtimestamp(seconds, tz=UTC)


def from_text(text: str) -> datetime | None:
    """An ISO 8601 time (naive ones are UTC) or an epoch number written as text."""
    text = text.strip()
    try:
        return from_epoch(float(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def spring_due(value: bytes | str | None) -> datetime | None:
    """Spring Kafka's backoff header: BigInteger bytes of epoch ms, or (older releases) text."""
    if value is None:
        return None
    if isinstance(value, str):
        return from_text(value)
    if len(value) >= 10 and value.isascii() and value.strip().replace(b".", b"").isdigit():
        return from_text(value.decode("ascii"))  # 2.7.x: decimal text (no 6-8 byte number is all digits)
    if 0 < len(value) <= 8:
        return from_epoch(int.from_bytes(value, "big", signed=True))
    try:
        return from_text(value.decode("ascii"))  # the first releases: an ISO date-time
    except UnicodeDecodeError:
        return None


def envelope_due(value: bytes | None) -> datetime | None:
    """`retry_at` of a JSON retry envelope (`{"type": "retry", "retry_at": ...}`); None for other values."""
    if not value or len(value) > _MAX_ENVELOPE or value.lstrip()[:1] != b"{":
        return None
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or document.get("type") != ENVELOPE_TYPE:
        return None
    due = document.get(ENVELOPE_FIELD)
    if isinstance(due, bool):
        return None
    if isinstance(due, int | float):
        return from_epoch(due)
    return from_text(due) if isinstance(due, str) else None


@dataclass(frozen=True, slots=True)
class DueCounts:
    """What a set of due times comes to at one moment."""

    due_now: int
    due_later: int
    next_due_at: datetime | None
    overdue_since: datetime | None


def count_due(times: Iterable[datetime], now: datetime) -> DueCounts:
    """Split due times at `now`: how many are due, how many not yet, the next one and the oldest past due."""
    due_now = due_later = 0
    next_due: datetime | None = None
    overdue: datetime | None = None
    for moment in times:
        if moment <= now:
            due_now += 1
            overdue = moment if overdue is None else min(overdue, moment)
        else:
            due_later += 1
            next_due = moment if next_due is None else min(next_due, moment)
    return DueCounts(due_now, due_later, next_due, overdue)
