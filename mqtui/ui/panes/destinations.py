"""Every topic, queue, stream, list and subject of the profile in one sortable, filterable table."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label

from mqtui.jobcounts import FRAMEWORK
from mqtui.model import Capability, Destination, DestinationKind
from mqtui.services.snapshot import PART_DESTINATIONS, BrokerSnapshot
from mqtui.ui.cells import stale_notes
from mqtui.ui.keys import Command, bindings
from mqtui.ui.messages import (
    DetailsRequested,
    PeekRequested,
    PurgeRequested,
    RequestReplyRequested,
    SearchRequested,
    TailRequested,
)
from mqtui.ui.panes.base import request_refusal
from mqtui.ui.panes.destination_cells import DestinationLook
from mqtui.ui.panes.filtered import FILTER_CLASS, FilteredTablePane, RowMemo, Rows, TableView
from mqtui.ui.widgets.rowcells import LazyCells
from mqtui.ui.widgets.table import SyncTable
from mqtui.ui.widgets.tablediff import RowSet

COLUMNS = [
    ("Broker", "broker"), ("Name", "name"), ("Kind", "kind"), ("Depth", "depth"), ("In-flight", "in_flight"),
    ("Cons", "consumers"), ("Parts", "partitions"), ("In/s", "rate_in"), ("Out/s", "rate_out"), ("", "dlq"),
]  # fmt: skip

#: Rows built between two looks at whether a key wants the interpreter (`FilteredTablePane.give_way`).
GIVE_WAY_EVERY = 256

#: Row sets kept per poll (`RowMemo.shown`): the orders and filters asked for last, and those prepared.
SHOWN_KEPT = 5

#: (label, sort key, whether biggest first); ties go by name, A to Z, either way.
SORTS = [
    ("name", lambda d: (d.broker, d.name), False),
    ("depth", lambda d: (-(d.depth or 0), d.name), True),
    ("in-flight", lambda d: (-(d.in_flight or 0), d.name), True),
    ("consumers", lambda d: (-(d.consumers or 0), d.name), True),
    ("in rate", lambda d: (-(d.rate_in or 0.0), d.name), True),
    ("out rate", lambda d: (-(d.rate_out or 0.0), d.name), True),
    ("kind", lambda d: (d.kind.value, d.name), False),
]


def filter_destinations(
    destinations: list[Destination], text: str, haystacks: dict[int, str] | None = None
) -> list[Destination]:
    """Case-insensitive: every word must appear in the broker, name or kind (the job framework a queue's
    Kind cell names counts: "bullmq" finds BullMQ's queues). `haystacks` keeps what each record is
    searched in, by record, for the next keystroke."""
    words = text.lower().split()
    if not words:
        return destinations
    kept = {} if haystacks is None else haystacks

    def haystack(d: Destination) -> str:
        found = kept.get(id(d))
        if found is None:
            found = kept[id(d)] = f"{d.broker} {d.name} {d.kind.value} {d.extra.get(FRAMEWORK, '')}".lower()
        return found

    return [d for d in destinations if all(w in haystack(d) for w in words)]


@dataclass(frozen=True)
class DestinationsView(TableView):
    """What the Destinations rows are built from (`FilteredTablePane.view`)."""

    broker_filter: str | None


class DestinationsPane(FilteredTablePane):
    TITLE = "Destinations"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("destinations.details", "enter", "details", "Details", "Partitions, configs, bindings, consumers"),
        Command("destinations.filter", "slash", "filter", "Filter", "Filter destinations by name, broker or kind",
                priority=True),
        Command("destinations.sort", "s", "sort", "Sort", "Sort by the next column (name, depth, rates…)"),
        Command("destinations.tail", "t", "tail", "Tail", "Tail the selected destination"),
        Command("destinations.search", "f", "search", "Search",
                "Search the selected destination by expression and range: progress, stop, coverage, export"),
        Command("destinations.purge", "x", "purge", "Purge", "Remove every message from the selected queue",
                writes=Capability.PURGE),
        Command("destinations.peek", "p", "peek", "Peek", "Read messages waiting in a queue (marks them redelivered)",
                writes=Capability.PEEK, show=False),
        Command("destinations.request", "r", "request", "Request", "Send a request to a subject, show the reply (NATS)",
                writes=Capability.REQUEST, show=False),
    ]  # fmt: skip
    BINDINGS: ClassVar = bindings(KEY_COMMANDS)
    DEFAULT_CSS = """
    DestinationsPane #dest-info { height: 1; width: 100%; color: $text-muted; padding: 0 1; }
    """

    sort_index: var[int] = var(1, init=False)
    """Which of SORTS the table is sorted by."""

    def compose(self) -> ComposeResult:
        yield Label(id="dest-info")
        yield Input(
            placeholder="filter: words in broker, name or kind (enter: done, escape: clear)",
            id="dest-filter",
            classes=FILTER_CLASS,
        )
        yield SyncTable(COLUMNS, flexible={"broker": 8, "name": 12}, id="dest-table")

    @property
    def table(self) -> SyncTable:
        return self.query_one("#dest-table", SyncTable)

    def main_widget(self) -> Widget:
        return self.table

    def selected(self) -> Destination | None:
        return self.table.selected()

    def target_broker(self) -> BrokerSnapshot | None:
        destination = self.selected()
        return None if destination is None else self.snapshots.get(destination.broker)

    def refusal(self, action: str) -> str | None:
        if action == "request":  # any broker that can: the form chooses, the selected row only prefills it
            return request_refusal(self.policy, self.snapshots.values())
        if action in ("details", "tail", "purge", "peek", "search") and self.selected() is None:
            return "select a destination first"
        if action == "tail":
            return self.policy.capability_refusal(Capability.TAIL, self.target_broker())
        return super().refusal(action)

    @property
    def info_label(self) -> Label:
        return self.query_one("#dest-info", Label)

    def view(self) -> DestinationsView:
        return DestinationsView(**self.view_fields(), broker_filter=self.broker_filter)

    def next_views(self, view: DestinationsView) -> tuple[DestinationsView, ...]:
        following = replace(view, sort_index=(view.sort_index + 1) % len(SORTS))  # `s` cycles the orders
        return (following, *self.earlier_filters(view))

    def records(self, view: DestinationsView) -> int:
        return sum(len(s.destinations) for s in view.snapshots)

    def build(self, view: DestinationsView) -> tuple[Rows, str, tuple[int, ...] | None]:
        snapshots = view.snapshots
        memo = self.row_memo(snapshots, (view.alerts, view.variables))
        look = memo.look_made or DestinationLook(snapshots, view.variables, view.alerts)
        memo.look_made = look
        label, _key, descending = SORTS[view.sort_index]
        kept = memo.shown.get((view.sort_index, view.filter_text))
        if kept is None:
            kept = memo.shown[(view.sort_index, view.filter_text)] = self._rows(view, memo, look)
            while len(memo.shown) > SHOWN_KEPT:  # memory stays bounded: the oldest asked for go
                del memo.shown[next(iter(memo.shown))]
        rows, (shown_count, everything_count, shown_brokers) = kept
        self.give_way()
        natural = memo.natural[view.filter_text]
        arrow = "↓" if descending else "↑"
        info = f"{shown_count:,} of {everything_count:,} · sorted by {label} {arrow}"
        if view.filter_text:
            info += f" · filter: {view.filter_text}"
        if view.broker_filter:
            info += f" · broker: {view.broker_filter}"
        for note in stale_notes(snapshots, shown_brokers, view.now, PART_DESTINATIONS):
            info += f" · {note}"
        return rows, info, natural

    def _rows(
        self, view: DestinationsView, memo: RowMemo, look: DestinationLook
    ) -> tuple[RowSet, tuple[int, int, set[str]]]:
        """The rows in the view's order and filter, made once per record per poll, and (rows shown,
        rows in all, the brokers shown); each column's widest text kept by filter in `memo.natural`."""
        everything = [d for s in view.snapshots for d in s.destinations if not d.internal]
        _label, key, _descending = SORTS[view.sort_index]
        ordered = memo.orders.get(view.sort_index)
        if ordered is None:  # each order once per poll; a filter keeps it
            ordered = memo.orders[view.sort_index] = sorted(everything, key=key)
        shown = filter_destinations(ordered, view.filter_text, memo.words)
        made = memo.rows
        try:
            rows = RowSet([made[id(d)] for d in shown])  # every row made already
        except KeyError:
            rows = RowSet()
            for place, d in enumerate(shown):
                if not place % GIVE_WAY_EVERY:
                    self.give_way()
                row = made.get(id(d))
                if row is None:
                    row_key = (d.broker, d.name, d.kind)  # Redis: a list and a channel may share a name
                    row = made[id(d)] = (row_key, LazyCells(look.cells, d), d)
                rows.append(row)
        if view.filter_text not in memo.natural:  # a sort leaves the widths as they were
            memo.natural[view.filter_text] = look.natural_widths(shown)
        return rows, (len(shown), len(everything), {d.broker for d in shown})

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.update_bindings()

    @on(DataTable.RowSelected)
    def _chosen(self) -> None:
        self.action_details()

    # -- actions -----------------------------------------------------------------------------------
    def action_details(self) -> None:
        destination = self.selected()
        if destination is not None:
            self.post_message(DetailsRequested(destination.broker, destination.name))

    def action_sort(self) -> None:
        self.sort_index = (self.sort_index + 1) % len(SORTS)

    def action_tail(self) -> None:
        destination = self.selected()
        if destination is not None:
            self.post_message(TailRequested(destination.broker, destination.name))

    def action_search(self) -> None:
        destination = self.selected()
        if destination is not None:
            self.post_message(SearchRequested(destination.broker, destination.name))

    def action_purge(self) -> None:
        destination = self.selected()
        if destination is not None:
            self.post_message(PurgeRequested(destination))

    def action_request(self) -> None:
        destination = self.selected()
        if destination is not None and destination.kind is DestinationKind.SUBJECT:
            self.post_message(RequestReplyRequested(destination.broker, destination.name))
        else:
            self.post_message(RequestReplyRequested(destination.broker if destination is not None else None, ""))

    def action_peek(self) -> None:
        destination = self.selected()
        if destination is not None:
            self.post_message(PeekRequested(destination))
