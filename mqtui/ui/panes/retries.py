"""The Retries table of the Dead letters pane: parked retries, due now and later, beside the DLQs.

A retry that keeps failing ends as a dead letter, so on call the two are read together: the DLQ counts
say what already failed for good, these rows say what is waiting for another try, and whether the
consumer that should take the due ones is keeping up ("due now" above 0 and growing "overdue").
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime

from rich.style import Style
from rich.text import Text

from mqtui.figures import MISSING, count, elapsed
from mqtui.model import RetrySchedule
from mqtui.services.snapshot import PART_RETRIES, BrokerSnapshot
from mqtui.ui.cells import dimmed, plain, stale_brokers

RETRY_COLUMNS = [("Broker", "broker"), ("Retries", "name"), ("Origin", "origin"), ("Convention", "convention"),
                 ("Due now", "due_now"), ("Due later", "due_later"), ("Next due", "next_due"),
                 ("Overdue", "overdue"), ("Note", "note")]  # fmt: skip
RETRY_FLEXIBLE = {"broker": 8, "name": 12, "origin": 8, "convention": 8, "note": 10}

Row = tuple[Hashable, Sequence[Text], object]


def tally(value: int | None, at_least: bool) -> str:
    """A count, with "+" when the adapter stopped reading at its cap (the real count is higher)."""
    return count(value) + ("+" if at_least and value is not None else "")


def until(moment: datetime, now: datetime) -> str:
    """ "in 4m 10s" to a due time; "now" once it has come (it is past when the last poll saw it ahead)."""
    seconds = (moment - now).total_seconds()
    return f"in {elapsed(seconds)}" if seconds >= 1 else "now"


def next_due_cell(schedule: RetrySchedule, now: datetime) -> Text:
    """ "in 4m 10s"; "now" once that time has come (the poll saw it ahead); "unknown" when messages wait
    and the broker cannot say; "-" when none is due later."""
    if schedule.next_due_at is not None:
        return Text(until(schedule.next_due_at, now), justify="right")
    waiting_later = schedule.due_later is None or schedule.due_later > 0
    return Text("unknown" if waiting_later and schedule.unknown_reason else MISSING, justify="right")


def retry_rows(snapshots: Sequence[BrokerSnapshot], now: datetime, alert: Style, muted: Style) -> list[Row]:
    """One row per retry schedule, those with retries due first; a down broker's rows dimmed."""
    stale = stale_brokers(snapshots, PART_RETRIES)
    schedules = sorted(
        (r for s in snapshots for r in s.retries),
        key=lambda r: (-(r.due_now or 0), -(r.due_later or 0), r.broker, r.destination),
    )
    rows: list[Row] = []
    for r in schedules:
        overdue = MISSING if r.overdue_since is None else elapsed((now - r.overdue_since).total_seconds())
        cells = [
            plain(r.broker, 30), plain(r.destination, 80), plain(r.origin, 80), plain(r.convention, 30),
            Text(tally(r.due_now, r.at_least), justify="right", style=alert if r.due_now else ""),
            Text(tally(r.due_later, r.at_least), justify="right"), next_due_cell(r, now),
            Text(overdue, justify="right", style=alert if r.overdue_since is not None else ""),
            plain(r.unknown_reason or "", 160),
        ]  # fmt: skip
        if r.broker in stale:  # counted before the broker went down
            cells = dimmed(cells, muted)
        rows.append(((r.broker, r.destination), cells, r))
    return rows


def retry_summary(snapshots: Sequence[BrokerSnapshot]) -> str:
    """ "Retries: 3 schedules · 5 due now · 120 due later" (empty when no broker has any)."""
    schedules = [r for s in snapshots for r in s.retries]
    if not schedules:
        return ""
    due_now = sum(r.due_now or 0 for r in schedules)
    due_later = sum(r.due_later or 0 for r in schedules)
    more = "+" if any(r.at_least for r in schedules) else ""
    plural = "" if len(schedules) == 1 else "s"
    return (f"Retries: {len(schedules):,} schedule{plural} · {due_now:,}{more} due now · "
            f"{due_later:,}{more} due later")  # fmt: skip
