"""Dead letters: every DLQ with counts and age, its entries, and replay / requeue / delete.

An action applies to the selected entries, or, with none selected, to the whole DLQ; either way a
preview says how many go where before anything is sent. The pane asks the console screen to read a
DLQ's entries and to act on them (`mqtui.ui.messages`); the screen hands back what it read (`Listing`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import DataTable, Label

from mqtui.figures import age, count
from mqtui.model import Capability, DeadLetter, DeadLetterQueue
from mqtui.services.snapshot import PART_DLQS, BrokerSnapshot
from mqtui.ui.cells import ago, colour, dimmed, number, plain, stale_brokers, stale_notes
from mqtui.ui.keys import Command, bindings
from mqtui.ui.messages import (
    DeadLettersRequested,
    DeleteRequested,
    DuplicateRequested,
    MessageOpened,
    MoveRequested,
    ReplayRequested,
    WhereRequested,
)
from mqtui.ui.panes.base import Pane
from mqtui.ui.panes.retries import RETRY_COLUMNS, RETRY_FLEXIBLE, retry_rows, retry_summary
from mqtui.ui.payloads import payload_line
from mqtui.ui.widgets.table import SyncTable

DLQ_COLUMNS = [("Broker", "broker"), ("DLQ", "name"), ("Origin", "origin"), ("Count", "count"),
               ("Oldest", "oldest"), ("Found by", "detected_by")]  # fmt: skip
ENTRY_COLUMNS = [("✓", "mark"), ("ID", "id"), ("Origin", "origin"), ("Reason", "reason"), ("Tries", "attempts"),
                 ("First", "first"), ("Last", "last"), ("Value", "value")]  # fmt: skip
ENTRY_LIMIT = 500


@dataclass(frozen=True)
class Listing:
    """What the entries table shows: the open DLQ's entries as last read, or why there are none."""

    dlq: DeadLetterQueue | None = None
    entries: tuple[DeadLetter, ...] = ()
    loading: bool = False
    error: str | None = None
    read_at: datetime | None = None


def oldest_cell(dlq: DeadLetterQueue, now: datetime) -> Text:
    """The oldest dead letter's age; "unknown" where the broker cannot tell without reading the entries
    (RabbitMQ: a read is a delivery), "-" only for an empty DLQ."""
    if dlq.oldest is not None:
        return ago(dlq.oldest, now)
    return Text("-" if dlq.count == 0 else "unknown", justify="right")


class DeadLettersPane(Pane):
    TITLE = "Dead letters"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("dlq.open", "enter", "open", "Open", "Open the DLQ's entries, or the selected entry"),
        Command("dlq.select", "space", "select", "Select", "Select or unselect the entry"),
        Command("dlq.select_all", "a", "select_all", "All", "Select every entry shown, or none"),
        Command("dlq.where", "w", "where", "Where…",
                "Select the entries an expression matches (jq, @saved or words), with a count and a preview",
                show=False),
        Command("dlq.replay", "r", "replay", "Replay", "Replay / requeue the selected entries (or all)",
                writes=Capability.REPLAY),
        Command("dlq.delete", "d", "delete", "Delete", "Delete the selected dead letters",
                writes=Capability.DELETE_DEAD_LETTER),
        Command("dlq.duplicate", "D", "duplicate", "Duplicate", "Publish a copy of the selected entry",
                writes=Capability.PUBLISH, show=False),
        Command("dlq.move", "M", "move", "Move all", "Move the whole DLQ to a queue inside the broker (RabbitMQ shovel)",
                writes=Capability.MOVE_QUEUE, show=False),
        Command("dlq.reload", "l", "reload", "Reload", "Read the open DLQ's entries again", show=False),
    ]  # fmt: skip
    BINDINGS: ClassVar = bindings(KEY_COMMANDS)
    DEFAULT_CSS = """
    DeadLettersPane #dlq-info, DeadLettersPane #entries-info { height: 1; width: 100%; color: $text-muted; padding: 0 1; }
    DeadLettersPane #entries-info { background: $panel; }
    DeadLettersPane #dlq-table { height: auto; max-height: 40%; min-height: 3; }
    DeadLettersPane #retry-info { height: 1; width: 100%; color: $text-muted; padding: 0 1; background: $panel; }
    DeadLettersPane #retry-table { height: auto; max-height: 25%; min-height: 3; }
    DeadLettersPane .no-retries { display: none; }
    DeadLettersPane #entries-table { height: 1fr; }
    """

    listing: var[Listing] = var(Listing, init=False)
    """The open DLQ and its entries as the console screen last read them."""
    marked: var[frozenset[str]] = var(frozenset, init=False)
    """Ids of the selected entries of the open DLQ."""
    chosen_by: var[str] = var("", init=False)
    """The expression that made the selection (`w`), said on the entries line until it changes."""

    def compose(self) -> ComposeResult:
        yield Label(id="dlq-info")
        yield SyncTable(DLQ_COLUMNS, flexible={"broker": 8, "name": 12, "origin": 8, "detected_by": 8}, id="dlq-table")
        # Parked retries (retry topics, TTL queues, sorted-set schedules): shown only where a broker has any.
        yield Label(id="retry-info", classes="no-retries")
        yield SyncTable(
            RETRY_COLUMNS,
            flexible=RETRY_FLEXIBLE,
            give_first=("note", "origin"),
            id="retry-table",
            classes="no-retries",
        )
        yield Label("enter on a DLQ shows its entries", id="entries-info")
        # The reason is what a dead-letter list is read for; the value is whole in the entry's detail, the
        # origin mostly the DLQ's own (in the table above).
        yield SyncTable(
            ENTRY_COLUMNS,
            flexible={"id": 8, "origin": 8, "reason": 10, "value": 10},
            give_first=("value", "origin"),
            id="entries-table",
        )

    @property
    def queues(self) -> SyncTable:
        return self.query_one("#dlq-table", SyncTable)

    @property
    def table(self) -> SyncTable:
        return self.query_one("#entries-table", SyncTable)

    @property
    def open_dlq(self) -> DeadLetterQueue | None:
        return self.listing.dlq

    def main_widget(self) -> Widget:
        return self.table if self.open_dlq is not None and self.listing.entries else self.queues

    def entry(self) -> DeadLetter | None:
        return self.table.selected()

    def acting_on(self) -> DeadLetterQueue | None:
        """The DLQ an action applies to: the open one when its entries have focus, else the highlighted."""
        if self.open_dlq is not None and (self.table.has_focus or not self.queues.has_focus):
            return self.open_dlq
        return self.queues.selected()

    def target_broker(self) -> BrokerSnapshot | None:
        dlq = self.acting_on()
        return None if dlq is None else self.snapshots.get(dlq.broker)

    def refusal(self, action: str) -> str | None:
        if action in ("replay", "delete", "move") and self.acting_on() is None:
            return "select a dead-letter queue first"
        if action == "delete" and not self._chosen_ids():
            return "select the dead letters to delete first (space, or a for all shown)"
        if action in ("select", "select_all", "duplicate", "where") and not self.listing.entries:
            return "open a dead-letter queue first (enter)"
        if action == "reload" and self.open_dlq is None:
            return "open a dead-letter queue first (enter)"
        return super().refusal(action)

    # -- what the console screen read --------------------------------------------------------------
    def reading(self, dlq: DeadLetterQueue) -> None:
        """The entries of `dlq` are being read: say so (the selection stays if it is the open DLQ)."""
        if not _same(self.open_dlq, dlq):
            self.marked = frozenset()
        self.listing = replace(self.listing, dlq=dlq, loading=True, error=None)

    def read(self, dlq: DeadLetterQueue, entries: list[DeadLetter], at: datetime) -> None:
        """The entries of `dlq` as read at `at`: shown, and the table focused if there are any."""
        self.marked &= {e.id for e in entries}
        self.listing = Listing(dlq, tuple(entries), read_at=at)
        if entries:
            self.table.focus()

    def unread(self, dlq: DeadLetterQueue, error: str) -> None:
        """Reading the entries of `dlq` failed: say why instead of listing any."""
        self.listing = replace(self.listing, dlq=dlq, entries=(), loading=False, error=error)

    def actioned(self) -> None:
        """The open DLQ was acted on (replayed, deleted, moved): read it again where reading is harmless."""
        self.marked = frozenset()
        dlq = self.open_dlq
        if dlq is not None and dlq.read_hazard is None:
            self.post_message(DeadLettersRequested(dlq))
        elif dlq is not None:  # reading again would cost each message a delivery: only on request
            self.listing = replace(self.listing, entries=(), error="done; l reads the entries again")

    # -- drawing -----------------------------------------------------------------------------------
    def watch_listing(self) -> None:
        self._draw_entries()

    def watch_marked(self) -> None:
        self.chosen_by = ""
        self._draw_entries()

    def redraw(self, *, rebuild: bool = False) -> None:
        snapshots = self.visible_snapshots()
        queues = sorted((q for s in snapshots for q in s.dlqs), key=lambda q: (-(q.count or 0), q.broker, q.name))
        now = self.clock()
        alert = colour(self.app.theme_variables, "lag-critical", bold=True)
        stale = stale_brokers(snapshots, PART_DLQS)
        muted = colour(self.app.theme_variables, "muted")
        rows = []
        for q in queues:
            count_text = Text(count(q.count), justify="right", style=alert if q.count else "")
            cells = [plain(q.broker, 30), plain(q.name, 80), plain(q.origin, 80), count_text, oldest_cell(q, now),
                     plain(q.detected_by, 40)]  # fmt: skip
            if q.broker in stale:  # counted before the broker went down
                cells = dimmed(cells, muted)
            cells = self.flagged(cells, self.alerts.on_row(q.broker, q.name))
            rows.append(((q.broker, q.name), cells, q))
        self.queues.sync(rows, rebuild=rebuild)
        total = sum(q.count or 0 for q in queues)
        parts = [f"{len(queues):,} dead-letter queues · {total:,} dead letters"]
        parts += stale_notes(snapshots, {q.broker for q in queues}, now, PART_DLQS)
        self.query_one("#dlq-info", Label).update(plain(" · ".join(parts), None))
        self._draw_retries(snapshots, now, rebuild=rebuild)
        if rebuild:
            self._draw_entries(rebuild=True)
        elif self.open_dlq is not None:
            self._draw_entries_info()
        self.update_bindings()

    def _draw_retries(self, snapshots: list[BrokerSnapshot], now: datetime, *, rebuild: bool) -> None:
        """The Retries table and its line, hidden while no broker reports a retry schedule."""
        alert = colour(self.app.theme_variables, "lag-critical", bold=True)
        rows = retry_rows(snapshots, now, alert, colour(self.app.theme_variables, "muted"))
        info, table = self.query_one("#retry-info", Label), self.query_one("#retry-table", SyncTable)
        for widget in (info, table):
            widget.set_class(not rows, "no-retries")
        if rows or table.row_count:
            table.sync(rows, rebuild=rebuild)
        info.update(plain(retry_summary(snapshots), None))

    def _draw_entries(self, *, rebuild: bool = False) -> None:
        now = self.clock()
        rows = []
        for letter in self.listing.entries:
            mark = Text("✓", style="bold") if letter.id in self.marked else Text(" ")
            value = ("(gone) " if letter.gone else "") + payload_line(letter.message, 200)
            cells = [
                mark, plain(letter.id, 32), plain(letter.origin, 32), plain(letter.reason, 40),
                number(letter.attempts), ago(letter.first_failure, now), ago(letter.last_failure, now), Text(value),
            ]  # fmt: skip
            rows.append((letter.id, cells, letter))
        self.table.sync(rows, rebuild=rebuild)
        self._draw_entries_info()

    def _draw_entries_info(self) -> None:
        """The open DLQ's line: redrawn every poll too, so the age of what is listed keeps counting."""
        info = self.query_one("#entries-info", Label)
        listing = self.listing
        dlq = listing.dlq
        if dlq is None:
            info.update("enter on a DLQ shows its entries")
        elif listing.loading:
            info.update(Text.assemble(plain(dlq.broker, 30), " / ", plain(dlq.name, 60), " · loading…"))
        elif listing.error:
            info.update(Text.assemble(plain(dlq.broker, 30), " / ", plain(dlq.name, 60), " · ", Text(listing.error)))
        else:
            verb = self._verb()
            entries = len(listing.entries)
            more = f" (first {ENTRY_LIMIT})" if entries >= ENTRY_LIMIT else ""
            info.update(
                Text.assemble(
                    plain(dlq.broker, 30), " / ", plain(dlq.name, 60),
                    f" · {entries:,} entries{more} read {age(listing.read_at, self.clock())} ago",
                    f" (l: again) · {len(self.marked):,} selected",
                    plain(f" where {self.chosen_by}", 80) if self.chosen_by else "",
                    f" · r: {verb} {'the selected' if self.marked else 'all in the DLQ'}",
                )
            )  # fmt: skip
        self.update_bindings()

    def _verb(self) -> str:
        dlq = self.acting_on()
        snapshot = self.snapshots.get(dlq.broker) if dlq else None
        return snapshot.replay_verb if snapshot else "replay"

    @on(DataTable.RowHighlighted)
    def _moved(self) -> None:
        self.update_bindings()

    @on(DataTable.RowSelected, "#dlq-table")
    def _open_selected(self) -> None:
        self.action_open()

    @on(DataTable.RowSelected, "#entries-table")
    def _entry_selected(self) -> None:
        self._show_entry()

    # -- actions -----------------------------------------------------------------------------------
    def action_open(self) -> None:
        if self.table.has_focus:
            self._show_entry()
            return
        dlq = self.queues.selected()
        if dlq is not None:
            self.post_message(DeadLettersRequested(dlq))

    def action_reload(self) -> None:
        dlq = self.open_dlq
        if dlq is not None:
            self.post_message(DeadLettersRequested(dlq))

    def _show_entry(self) -> None:
        letter = self.entry()
        if letter is not None:
            self.post_message(MessageOpened(letter.message, letter))

    def action_select(self) -> None:
        letter = self.entry()
        if letter is None:
            return
        self.marked ^= {letter.id}
        self.table.action_cursor_down()

    def action_where(self) -> None:
        dlq = self.open_dlq
        if dlq is not None and self.listing.entries:
            self.post_message(WhereRequested(dlq))

    def select_where(self, ids: frozenset[str], expression: str) -> None:
        """Select exactly the entries an expression chose (`w`); the entries line names the expression."""
        self.marked = ids & {e.id for e in self.listing.entries}
        self.chosen_by = expression
        self._draw_entries_info()
        self.table.focus()

    def action_select_all(self) -> None:
        ids = frozenset(e.id for e in self.listing.entries)
        self.marked = frozenset() if ids and ids <= self.marked else ids

    def _chosen_ids(self) -> list[str] | None:
        """Selected entries of the open DLQ; None means the whole DLQ."""
        dlq, opened = self.acting_on(), self.open_dlq
        if dlq is None or opened is None or not _same(dlq, opened):
            return None
        if not self.marked:
            return None
        return [e.id for e in self.listing.entries if e.id in self.marked]

    def action_replay(self) -> None:
        dlq = self.acting_on()
        if dlq is not None:
            self.post_message(ReplayRequested(dlq, self._chosen_ids(), self._verb()))

    def action_delete(self) -> None:
        dlq = self.acting_on()
        ids = self._chosen_ids()
        if dlq is not None and ids:
            self.post_message(DeleteRequested(dlq, ids))

    def action_move(self) -> None:
        dlq = self.acting_on()
        if dlq is not None:
            self.post_message(MoveRequested(dlq))

    def action_duplicate(self) -> None:
        letter = self.entry()
        if letter is not None:
            self.post_message(DuplicateRequested(letter.message))


def _same(one: DeadLetterQueue | None, other: DeadLetterQueue | None) -> bool:
    """Whether two DLQ rows are the same DLQ (its counts change from poll to poll)."""
    if one is None or other is None:
        return one is other
    return (one.broker, one.name) == (other.broker, other.name)
