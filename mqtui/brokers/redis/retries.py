"""Retry schedules kept in Redis sorted sets: members are jobs, scores are the times they are due.

Recognised by name (the scanner keeps these sorted sets, `scan._interesting`):
- RQ's scheduled-job registry `rq:scheduled:<queue>` (`enqueue_in`/`enqueue_at`, and the retries of a job
  with `Retry(interval=...)`), scored in epoch seconds;
- Sidekiq's `schedule` and `retry` sets, scored in epoch seconds as floats (under a redis-namespace
  prefix, `myapp:retry`, they are taken as the general case below: the name cannot tell them apart);
- any other sorted set named for retries or delays (`orders:retry`, `jobs:delayed`, `mail-scheduled`),
  when its lowest score is an epoch time: seconds or milliseconds, told by its size
  (`mqtui.brokers.retries.from_epoch`).

Counting costs two pipelined rounds for all of them together, whatever their size: ZCARD and the lowest
score first (to learn the unit), then ZCOUNT up to now and the first score after now. Nothing is read
or removed from the sets themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mqtui.brokers.redis.client import text
from mqtui.brokers.retries import from_epoch
from mqtui.model import RetrySchedule

if TYPE_CHECKING:
    from redis.asyncio import Redis

RQ_SCHEDULED_PREFIX = "rq:scheduled:"
SIDEKIQ_SETS = ("schedule", "retry")
#: RQ's other sorted sets and Celery's unacked index: scored by expiry or start time, never by a due time;
#: BullMQ's (`bull:<queue>:delayed` scores are due time x 4096 + a counter; its row counts them).
NOT_SCHEDULES = ("rq:", "unacked_index", "bull:")
_NAMED = re.compile(r"(?i)^(?P<origin>.+?)[:._-](?:retry|retries|retrying|delay|delayed|scheduled?)$")
_WORDS = re.compile(r"(?i)retr(?:y|ies)|delay|schedul")
NOT_TIMES = "its scores are not epoch times"


@dataclass(frozen=True, slots=True)
class Schedule:
    """A sorted set recognised as a schedule: by which convention, and where its jobs go."""

    convention: str
    origin: str | None
    known: bool
    """A library's own key (RQ, Sidekiq): shown even when its scores do not look like times."""


def recognise(name: str) -> Schedule | None:
    """The convention a sorted set's name follows, or None when it is not named as a schedule."""
    if name.startswith(RQ_SCHEDULED_PREFIX) and len(name) > len(RQ_SCHEDULED_PREFIX):
        return Schedule("rq scheduled", name[len(RQ_SCHEDULED_PREFIX) :], known=True)
    if name.startswith(NOT_SCHEDULES):
        return None
    if name in SIDEKIQ_SETS:
        return Schedule("sidekiq", None, known=True)
    if not _WORDS.search(name):
        return None
    named = _NAMED.match(name)
    return Schedule("sorted-set schedule", named.group("origin") if named else None, known=False)


async def schedules(
    client: Redis, broker: str, zsets: dict[str, bytes], now: datetime | None = None
) -> list[RetrySchedule]:
    """Due counts of every sorted set in `zsets` (name shown -> key) that `recognise` takes."""
    found = {name: (key, kind) for name, key in sorted(zsets.items()) if (kind := recognise(name)) is not None}
    if not found:
        return []
    moment = now or datetime.now(UTC)
    pipe = client.pipeline(transaction=False)
    for key, _kind in found.values():
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
    first = await pipe.execute()
    sizes: dict[str, tuple[int, float | None]] = {}
    for index, name in enumerate(found):
        lowest = first[2 * index + 1]
        sizes[name] = (int(first[2 * index]), float(lowest[0][1]) if lowest else None)
    # Each set's "now" in its own unit: milliseconds where its lowest score is one.
    cutoffs: dict[str, float] = {}
    for name, (size, lowest) in sizes.items():
        if size and lowest is not None and from_epoch(lowest) is not None:
            cutoffs[name] = moment.timestamp() * (1000 if lowest >= 1e11 else 1)
    pipe = client.pipeline(transaction=False)
    for name, cutoff in cutoffs.items():
        key = found[name][0]
        pipe.zcount(key, "-inf", cutoff)
        pipe.zrangebyscore(key, f"({cutoff}", "+inf", start=0, num=1, withscores=True)
    second = await pipe.execute() if cutoffs else []
    answers = dict(zip(cutoffs, zip(second[0::2], second[1::2], strict=True), strict=True))
    result = []
    for name, (_key, kind) in found.items():
        size, lowest = sizes[name]
        if name not in answers:
            if size and not kind.known:
                continue  # named like a schedule, scored like something else: not one
            result.append(RetrySchedule(broker, name, kind.convention, kind.origin, due_now=0 if not size else None,
                                        due_later=0 if not size else None,
                                        unknown_reason=NOT_TIMES if size else None))  # fmt: skip
            continue
        due, after = answers[name]
        due_now = int(due)
        result.append(
            RetrySchedule(
                broker=broker,
                destination=name,
                convention=kind.convention,
                origin=kind.origin,
                due_now=due_now,
                due_later=size - due_now,
                next_due_at=from_epoch(float(after[0][1])) if after else None,
                overdue_since=from_epoch(lowest) if due_now and lowest is not None else None,
            )
        )
    return result


def is_schedule(key: bytes) -> bool:
    """Whether the scanner should keep this sorted set (its name follows a schedule convention)."""
    return recognise(text(key)) is not None
