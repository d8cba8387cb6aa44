"""Consumer backlog across brokers, worst first: lag, its recent history, rate, and time to drain."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label

from mqtui.figures import age, count, duration
from mqtui.model import Capability, DetailSection
from mqtui.services.snapshot import BrokerSnapshot, GroupLag, LagState
from mqtui.ui.cells import colour, lag_rate, lag_variable, number, per_second, plain, sparkline, trend_text
from mqtui.ui.keys import Command, bindings
from mqtui.ui.messages import GroupOpened, ResetRequested
from mqtui.ui.panes.filtered import FILTER_CLASS, FilteredTablePane
from mqtui.ui.widgets.table import SyncTable

COLUMNS = [
    ("Broker", "broker"), ("Group", "group"), ("Destination", "destination"), ("Lag", "lag"),
    ("History", "history"), ("ETA / state", "eta"), ("Rate", "rate"), ("Out/s", "consume"), ("Pts", "partitions"),
    ("Cons", "consumers"),
]  # fmt: skip
#: The names give way on a narrow terminal (cut with "…"; enter shows them whole), the numbers never.
FLEXIBLE = {"broker": 8, "group": 10, "destination": 10}
#: Below this width the sparkline shows fewer polls, leaving the names more room.
WIDE = 120

#: Stalled first (page someone), then growing, then by lag.
_URGENCY = {LagState.STALLED: 0, LagState.GROWING: 1, LagState.DRAINING: 2, LagState.UNKNOWN: 3, LagState.OK: 4}


def rank(groups: list[GroupLag], dlqs: Collection[tuple[str, str]] = ()) -> list[GroupLag]:
    """Worst first; a DLQ's own backlog (nobody consumes it by design) is never paging material. A lag
    that is a lower bound ranks by its bound, before an exact lag of the same number (it may be more)."""

    def urgency(group: GroupLag) -> int:
        return _URGENCY[LagState.UNKNOWN if (group.broker, group.destination) in dlqs else group.trend.state]

    return sorted(
        groups, key=lambda g: (urgency(g), -(g.lag or 0), not g.lag_at_least, g.broker, g.group, g.destination)
    )


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


def partition_section(group: GroupLag, now: datetime) -> DetailSection:
    rows = tuple(
        (
            "-" if r.partition is None else str(r.partition), "none" if r.committed is None else str(r.committed),
            "-" if r.end is None else str(r.end), lag_text(r.lag, r.lag_at_least), count(r.in_flight),
            count(r.consumers),
            r.state or "", age(r.last_activity, now),
        )
        for r in group.rows
    )  # fmt: skip
    # Titled with its destination and its time: below it, the group's own details cover every
    # destination it reads and are read afresh, so their totals and offsets differ from these.
    return DetailSection(
        f"Partitions of {group.destination} at the last poll",
        ("partition", "committed", "end", "lag", "in-flight", "consumers", "state", "active"),
        rows,
    )


class LagPane(FilteredTablePane):
    TITLE = "Lag"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("lag.group", "enter", "group", "Group", "Drill into the group: partitions, members, assignments"),
        Command("lag.filter", "slash", "filter", "Filter", "Filter backlog rows by group, destination or broker"),
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

    def redraw(self, *, rebuild: bool = False) -> None:
        snapshots = self.visible_snapshots()
        groups = [g for s in snapshots for g in s.lag]
        words = self.filter_text.lower().split()
        if words:
            groups = [g for g in groups if all(w in f"{g.broker} {g.group} {g.destination}".lower() for w in words)]
        variables = self.app.theme_variables
        dlqs = {(q.broker, q.name) for s in snapshots for q in s.dlqs}
        rows = []
        counts = dict.fromkeys(LagState, 0)
        spark_width = 12 if self.size.width >= WIDE else 8
        for group in rank(groups, dlqs):
            trend = group.trend
            dead_letters = (group.broker, group.destination) in dlqs
            if not dead_letters:
                counts[trend.state] += 1
            state = LagState.UNKNOWN if dead_letters else trend.state
            style = colour(variables, lag_variable(state), bold=state is LagState.STALLED)
            cells = [
                plain(group.broker, 20), plain(group.group, 28), plain(group.destination, 28),
                Text(lag_text(group.lag, group.lag_at_least), justify="right", style=style),
                Text(sparkline(trend.history, spark_width), style=style),
                Text("dead letters" if dead_letters else eta_text(group), style=style),
                Text(lag_rate(trend), justify="right"),
                per_second(trend.consume_rate),
                Text(str(group.partitions) if group.partitions else "-", justify="right"), number(group.consumers),
            ]  # fmt: skip
            rows.append((group.key, cells, group))
        self.table.sync(rows, rebuild=rebuild)
        parts = [f"{len(rows):,} consumer groups"]
        parts += [f"{counts[state]} {state.value}" for state in (LagState.STALLED, LagState.GROWING) if counts[state]]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        self.query_one("#lag-info", Label).update(plain(" · ".join(parts), None))
        self.update_bindings()

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.update_bindings()

    @on(DataTable.RowSelected)
    def _chosen(self) -> None:
        self.action_group()

    def action_group(self) -> None:
        group = self.selected()
        if group is not None:
            self.post_message(GroupOpened(group))

    def action_reset(self) -> None:
        group = self.selected()
        if group is not None:
            self.post_message(ResetRequested(group))
