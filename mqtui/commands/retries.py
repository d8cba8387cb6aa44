"""`mqtui dlq retries`: parked retries beside the dead letters, for the engineer on call.

It sits under `dlq` because that is where a failing consumer is looked into: `dlq ls` says what failed
for good, `dlq retries` what waits for another try (retry topics, TTL + dead-letter queues, sorted-set
schedules), how much of it is already due, and when the next one is. `--json` writes one record per
schedule with `due_now`, `due_later` and `next_due_at` (ISO 8601, UTC).
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime
from typing import Any

from mqtui import jsonl
from mqtui.commands.output import Output, warn, warn_failures
from mqtui.figures import MISSING, count, elapsed, format_table
from mqtui.model import RetrySchedule
from mqtui.services.gateway import Gateway

HEADERS = ("BROKER", "RETRIES", "ORIGIN", "CONVENTION", "DUE NOW", "DUE LATER", "NEXT DUE", "OVERDUE", "NOTE")


def retry_record(schedule: RetrySchedule) -> dict[str, Any]:
    """One `--json` record: the schedule's fields, times as ISO 8601 in UTC."""
    record = dataclasses.asdict(schedule)
    record["next_due_at"] = jsonl.iso(schedule.next_due_at)
    record["overdue_since"] = jsonl.iso(schedule.overdue_since)
    return record


def retry_line(schedule: RetrySchedule, now: datetime) -> tuple[str, ...]:
    """The table row: counts ("+" when capped), "in 4m 10s" to the next due, how long past due the oldest is."""
    more = "+" if schedule.at_least else ""
    seconds = None if schedule.next_due_at is None else (schedule.next_due_at - now).total_seconds()
    next_due = MISSING if seconds is None else f"in {elapsed(seconds)}" if seconds >= 1 else "now"
    overdue = MISSING if schedule.overdue_since is None else elapsed((now - schedule.overdue_since).total_seconds())
    due_now = count(schedule.due_now) + (more if schedule.due_now is not None else "")
    due_later = count(schedule.due_later) + (more if schedule.due_later is not None else "")
    return (schedule.broker, schedule.destination, schedule.origin or MISSING, schedule.convention, due_now,
            due_later, next_due, overdue, schedule.unknown_reason or "")  # fmt: skip


async def cmd_dlq_retries(gateway: Gateway, args: argparse.Namespace, out: Output) -> int:
    fan_out = await gateway.each(lambda a: a.retry_schedules(), args.broker, notices=warn)
    failures = warn_failures(fan_out)
    schedules = [s for batch in fan_out.answers for s in batch]
    schedules.sort(key=lambda s: (-(s.due_now or 0), s.broker, s.destination))
    if out.as_json:
        out.records(retry_record(s) for s in schedules)
    else:
        now = datetime.now(UTC)
        out.text(format_table(HEADERS, [retry_line(s, now) for s in schedules], numeric=(4, 5, 6, 7)))
    return 1 if failures else 0
