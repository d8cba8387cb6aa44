"""Consumer backlog across brokers, worst first: lag, time lag, its recent history, rate, and time to drain."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label

from mqtui.figures import age, count, duration, elapsed, rate
from mqtui.jsonl import time_lag as row_time_lag
from mqtui.model import Capability, DetailSection
from mqtui.services.alerts import Alert
from mqtui.services.snapshot import PART_LAG, BrokerSnapshot, GroupLag, LagState
from mqtui.ui.cells import (
    colour,
    flag_text,
    lag_rate,
    lag_variable,
    plain_text,
    sparkline,
    stale_brokers,
    stale_notes,
    trend_text,
)
from mqtui.ui.keys import Command, bindings
from mqtui.ui.messages import GroupOpened, ResetRequested
from mqtui.ui.panes.filtered import FILTER_CLASS, FilteredTablePane, Rows, TableView
from mqtui.ui.widgets.rowcells import RIGHT, Cells
from mqtui.ui.widgets.table import SyncTable

COLUMNS = [
    ("Broker", "broker"), ("Group", "group"), ("Destination", "destination"), ("Lag", "lag"),
    ("Time lag", "time_lag"), ("History", "history"), ("ETA / state", "eta"), ("Rate", "rate"), ("Out/s", "consume"),
    ("Pts", "partitions"), ("Cons", "consumers"),
]  # fmt: skip
#: The names give way on a narrow terminal (cut with "…"; enter shows them whole), the numbers never:
#: with the Time lag column every number still fits at 100 columns (tests/console/test_narrow.py).
FLEXIBLE = {"broker": 7, "group": 8, "destination": 8}
#: How each column's cells are aligned: the numbers to the right.
JUSTIFY = (None, None, None, RIGHT, RIGHT, None, None, RIGHT, RIGHT, RIGHT, RIGHT)
#: Below this width the sparkline shows fewer polls, leaving the names more room.
WIDE = 120

#: Stalled first (page someone), then growing, then by lag.
_URGENCY = {LagState.STALLED: 0, LagState.GROWING: 1, LagState.DRAINING: 2, LagState.UNKNOWN: 3, LagState.OK: 4}


#: How `s` orders the rows: (label, what the info line says). Every order puts a DLQ's own backlog last.
SORTS = [("urgency", "urgency"), ("time lag", "time lag ↓"), ("lag", "lag ↓")]


def rank(
    groups: list[GroupLag],
    dlqs: Collection[tuple[str, str]] = (),
    now: datetime | None = None,
    by: str = "urgency",
    stale: Collection[str] = (),
) -> list[GroupLag]:
    """Worst first; a DLQ's own backlog (nobody consumes it by design) is never paging material. A lag
    that is a lower bound ranks by its bound, before an exact lag of the same number (it may be more).

    By urgency (the default): stalled, growing, draining, unknown, ok; within one, by lag, then by time
    lag. By "time lag": the oldest waiting message first; rows whose time lag is unknown after every
    known one but before those where nothing waits, by lag among themselves. By "lag": the lag, then
    the time lag. A row of a broker in `stale` (down: its trend is from before) ranks as unknown."""

    def urgency(group: GroupLag) -> int:
        unknown = (group.broker, group.destination) in dlqs or group.broker in stale
        return _URGENCY[LagState.UNKNOWN if unknown else group.trend.state]

    def waited(group: GroupLag) -> tuple[int, float]:
        """Oldest first: a known time lag by its size, then an unknown one (messages wait, since when the
        broker cannot say), then nothing waiting."""
        seconds = None if now is None else group.time_lag(now)
        if seconds is None:
            return (1, 0.0)
        return (0, -seconds) if seconds > 0 else (2, 0.0)

    def dead(group: GroupLag) -> bool:
        return (group.broker, group.destination) in dlqs

    def key(g: GroupLag) -> tuple[object, ...]:
        lag = (-(g.lag or 0), not g.lag_at_least)
        names = (g.broker, g.group, g.destination)
        if by == "time lag":
            return (dead(g), waited(g), *lag, *names)
        if by == "lag":
            return (dead(g), *lag, waited(g), *names)
        return (urgency(g), *lag, waited(g), *names)

    return sorted(groups, key=key)


def lag_text(lag: int | None, at_least: bool) -> str:
    """A lag, "≥1,234" where it is a lower bound (the adapter stopped counting: `BacklogRow.lag_at_least`)."""
    return ("≥" if at_least and lag is not None else "") + count(lag)


def eta_text(group: GroupLag) -> str:
    """The ETA or state (`trend_text`). The ETA drains the lag as counted at the consume rate, so for a
    lower bound it is a lower bound too: "≥5m" rather than "~5m"."""
    trend = group.trend
    if group.lag_at_least and trend.state is LagState.DRAINING and trend.eta is not None:
        return f"≥{duration(trend.eta)}"
    return trend_text(trend, group.consumers)


def pseudo_group(name: str) -> bool:
    """Whether a backlog row's group is a stand-in: adapters name the backlog of a queue or list that
    has no consumer groups after what reads it, in parentheses ("(consumers)", "(list)", "(rq)")."""
    return name.startswith("(") and name.endswith(")")


def time_lag_text(seconds: float | None) -> str:
    """A time lag cell: "1m 30s" (`elapsed`); "0s" when nothing waits; "-" when messages wait and the
    broker cannot say since when (the drill-in says why)."""
    return elapsed(seconds)


def partition_section(group: GroupLag, now: datetime) -> DetailSection:
    rows: tuple[tuple[str, ...], ...] = tuple(
        (
            "-" if r.partition is None else str(r.partition), "none" if r.committed is None else str(r.committed),
            "-" if r.end is None else str(r.end), lag_text(r.lag, r.lag_at_least),
            time_lag_text(row_time_lag(r, now)), count(r.in_flight), count(r.consumers),
            r.state or "", age(r.last_activity, now),
        )
        for r in group.rows
    )  # fmt: skip
    # Titled with its destination and its time: below it, the group's own details cover every
    # destination it reads and are read afresh, so their totals and offsets differ from these.
    columns: tuple[str, ...] = (
        "partition", "committed", "end", "lag", "time lag", "in-flight", "consumers", "state", "active",
    )  # fmt: skip
    if any(r.time_lag_unknown for r in group.rows):  # why a time lag is "-", last: it can be long
        columns += ("time lag unknown",)
        rows = tuple((*row, r.time_lag_unknown or "") for row, r in zip(rows, group.rows, strict=True))
    return DetailSection(f"Partitions of {group.destination} at the last poll", columns, rows)


@dataclass(frozen=True)
class LagView(TableView):
    """What the Lag rows are built from (`FilteredTablePane.view`)."""

    spark_width: int


class LagPane(FilteredTablePane):
    TITLE = "Lag"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("lag.group", "enter", "group", "Group", "Drill into the group: partitions, members, assignments"),
        Command("lag.filter", "slash", "filter", "Filter", "Filter backlog rows by group, destination or broker",
                priority=True),
        Command("lag.sort", "s", "sort", "Sort", "Sort by urgency, time lag or lag"),
        Command("lag.reset", "o", "reset", "Reset offsets", "Move the selected group's committed offsets",
                writes=Capability.RESET_OFFSETS),
    ]  # fmt: skip
    BINDINGS: ClassVar = bindings(KEY_COMMANDS)
    DEFAULT_CSS = """
    LagPane #lag-info { height: 1; width: 100%; color: $text-muted; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label(id="lag-info")
        yield Input(placeholder="filter: words in group, destination or broker", id="lag-filter", classes=FILTER_CLASS)
        yield SyncTable(COLUMNS, flexible=FLEXIBLE, id="lag-table")

    @property
    def table(self) -> SyncTable:
        return self.query_one("#lag-table", SyncTable)

    def main_widget(self) -> Widget:
        return self.table

    def selected(self) -> GroupLag | None:
        return self.table.selected()

    def target_broker(self) -> BrokerSnapshot | None:
        group = self.selected()
        return None if group is None else self.snapshots.get(group.broker)

    def refusal(self, action: str) -> str | None:
        if action in ("group", "reset") and self.selected() is None:
            return "select a consumer group first"
        return super().refusal(action)

    @property
    def info_label(self) -> Label:
        return self.query_one("#lag-info", Label)

    def view(self) -> LagView:
        return LagView(**self.view_fields(), spark_width=12 if self.size.width >= WIDE else 6)

    def records(self, view: LagView) -> int:
        return sum(len(s.lag) for s in view.snapshots)

    def build(self, view: LagView) -> tuple[Rows, str, None]:
        snapshots = view.snapshots
        groups = [g for s in snapshots for g in s.lag]
        words = view.filter_text.lower().split()
        if words:
            groups = [g for g in groups if all(w in f"{g.broker} {g.group} {g.destination}".lower() for w in words)]
        variables = view.variables
        dlqs = {(q.broker, q.name) for s in snapshots for q in s.dlqs}
        rows: Rows = []
        counts = dict.fromkeys(LagState, 0)
        spark_width = view.spark_width
        now = view.now
        by, sort_label = SORTS[view.sort_index]
        stale = stale_brokers(snapshots, PART_LAG)
        muted = colour(variables, "muted")
        mark = colour(variables, "lag-critical", bold=True)
        state_styles = {
            state: colour(variables, lag_variable(state), bold=state is LagState.STALLED) for state in LagState
        }

        def make(group: GroupLag, dead_letters: bool, old: bool, waited: str, alerts: tuple[Alert, ...],
                 spark_width: int) -> Cells:  # fmt: skip
            trend = group.trend
            state = LagState.UNKNOWN if dead_letters else trend.state
            texts = (
                flag_text(plain_text(group.broker, 20), alerts), plain_text(group.group, 28),
                plain_text(group.destination, 28), lag_text(group.lag, group.lag_at_least), waited,
                sparkline(trend.history, spark_width),
                "dead letters" if dead_letters else "-" if old else eta_text(group),
                "-" if old else lag_rate(trend), rate(None if old else trend.consume_rate),
                str(group.partitions) if group.partitions else "-", count(group.consumers),
            )  # fmt: skip
            if old:
                styles: tuple[Style | None, ...] = (muted,) * len(texts)
            else:
                style = state_styles[state]
                styles = (None, None, None, style, style, style, style, None, None, None, None)
            return Cells(texts, JUSTIFY, styles, mark if alerts else None)

        for group in rank(groups, dlqs, now, by, stale):
            trend = group.trend
            dead_letters = (group.broker, group.destination) in dlqs
            old = group.broker in stale  # left from an earlier poll (down, or lag read failed): no trend is current
            if not dead_letters and not old:
                counts[trend.state] += 1
            waited = time_lag_text(group.time_lag(now))
            alerts = view.alerts.on_row(*group.key)

            signature = (group, dead_letters, old, waited, alerts, spark_width)
            rows.append((group.key, self.cells(group.key, signature, make), group))
        self.forget_cells_but(len(groups))
        parts = [f"{len(rows):,} consumer groups"]
        parts += [f"{counts[state]} {state.value}" for state in (LagState.STALLED, LagState.GROWING) if counts[state]]
        if view.sort_index:
            parts.append(f"sorted by {sort_label}")
        if view.filter_text:
            parts.append(f"filter: {view.filter_text}")
        parts += stale_notes(snapshots, {g.broker for g in groups}, now, PART_LAG)
        return rows, " · ".join(parts), None

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.update_bindings()

    @on(DataTable.RowSelected)
    def _chosen(self) -> None:
        self.action_group()

    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)

    def action_group(self) -> None:
        group = self.selected()
        if group is not None:
            self.post_message(GroupOpened(group))

    def action_reset(self) -> None:
        group = self.selected()
        if group is not None:
            self.post_message(ResetRequested(group))
