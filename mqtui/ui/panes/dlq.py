"""Dead letters: every DLQ with counts and age, its entries, and replay / requeue / delete.

An action applies to the selected entries, or, with none selected, to the whole DLQ; either way a
preview says how many go where before anything is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import DataTable, Label

from mqtui.figures import age, count
from mqtui.model import Capability, DeadLetter, DeadLetterQueue
from mqtui.services.snapshot import BrokerSnapshot
from mqtui.ui.cells import ago, colour, error_text, number, plain
from mqtui.ui.keys import Command, bindings
from mqtui.ui.panes.base import Pane
from mqtui.ui.widgets.table import SyncTable

DLQ_COLUMNS = [("Broker", "broker"), ("DLQ", "name"), ("Origin", "origin"), ("Count", "count"),
               ("Oldest", "oldest"), ("Found by", "detected_by")]  # fmt: skip
ENTRY_COLUMNS = [("✓", "mark"), ("ID", "id"), ("Origin", "origin"), ("Reason", "reason"), ("Tries", "attempts"),
                 ("First", "first"), ("Last", "last"), ("Value", "value")]  # fmt: skip
ENTRY_LIMIT = 500


def oldest_cell(dlq: DeadLetterQueue, now: datetime) -> Text:
    """The oldest dead letter's age; "unknown" where the broker cannot tell without reading the entries
    (RabbitMQ: a read is a delivery), "-" only for an empty DLQ."""
    if dlq.oldest is not None:
        return ago(dlq.oldest, now)
    return Text("-" if dlq.count == 0 else "unknown", justify="right")


class DeadLettersPane(Pane):
    TITLE = "Dead letters"
    COMMANDS: ClassVar[list[Command]] = [
        Command("dlq.open", "enter", "open", "Open", "Open the DLQ's entries, or the selected entry"),
        Command("dlq.select", "space", "select", "Select", "Select or unselect the entry"),
        Command("dlq.select_all", "a", "select_all", "All", "Select every entry shown, or none"),
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
    BINDINGS: ClassVar = bindings(COMMANDS)
    DEFAULT_CSS = """
    DeadLettersPane #dlq-info, DeadLettersPane #entries-info { height: 1; width: 100%; color: $text-muted; padding: 0 1; }
    DeadLettersPane #entries-info { background: $panel; }
    DeadLettersPane #dlq-table { height: auto; max-height: 40%; min-height: 3; }
    DeadLettersPane #entries-table { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.open_dlq: DeadLetterQueue | None = None
        self.entries: list[DeadLetter] = []
        self.marked: set[str] = set()
        self.loading = False
        self.error: str | None = None
        self.read_at: datetime | None = None

    def compose(self) -> ComposeResult:
        yield Label(id="dlq-info")
        yield SyncTable(DLQ_COLUMNS, flexible={"broker": 8, "name": 12, "origin": 8, "detected_by": 8}, id="dlq-table")
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

    def focus_main(self) -> None:
        (self.table if self.open_dlq is not None and self.entries else self.queues).focus()

    def entry(self) -> DeadLetter | None:
        return self.table.selected()

    def acting_on(self) -> DeadLetterQueue | None:
        """The DLQ an action applies to: the open one when its entries have focus, else the highlighted."""
        if self.open_dlq is not None and (self.table.has_focus or not self.queues.has_focus):
            return self.open_dlq
        return self.queues.selected()

    def target_broker(self) -> BrokerSnapshot | None:
        dlq = self.acting_on()
        return None if dlq is None else self.mqtui.snapshots.get(dlq.broker)

    def refusal(self, action: str) -> str | None:
        if action in ("replay", "delete", "move") and self.acting_on() is None:
            return "select a dead-letter queue first"
        if action == "delete" and not self._chosen_ids():
            return "select the dead letters to delete first (space, or a for all shown)"
        if action in ("select", "select_all", "duplicate") and not self.entries:
            return "open a dead-letter queue first (enter)"
        if action == "reload" and self.open_dlq is None:
            return "open a dead-letter queue first (enter)"
        return super().refusal(action)

    # -- drawing -----------------------------------------------------------------------------------
    def redraw(self, *, rebuild: bool = False) -> None:
        snapshots = self.mqtui.visible_snapshots()
        queues = sorted((q for s in snapshots for q in s.dlqs), key=lambda q: (-(q.count or 0), q.broker, q.name))
        now = self.mqtui.backend.now()
        alert = colour(self.app.theme_variables, "lag-critical", bold=True)
        rows = []
        for q in queues:
            count_text = Text(count(q.count), justify="right", style=alert if q.count else "")
            cells = [plain(q.broker, 30), plain(q.name, 80), plain(q.origin, 80), count_text, oldest_cell(q, now),
                     plain(q.detected_by, 40)]  # fmt: skip
            rows.append(((q.broker, q.name), cells, q))
        self.queues.sync(rows, rebuild=rebuild)
        total = sum(q.count or 0 for q in queues)
        self.query_one("#dlq-info", Label).update(f"{len(queues):,} dead-letter queues · {total:,} dead letters")
        if rebuild:
            self._draw_entries(rebuild=True)
        elif self.open_dlq is not None:
            self._draw_entries_info()
        self.update_bindings()

    def _draw_entries(self, *, rebuild: bool = False) -> None:
        now = self.mqtui.backend.now()
        rows = []
        for letter in self.entries:
            mark = Text("✓", style="bold") if letter.id in self.marked else Text(" ")
            value = ("(gone) " if letter.gone else "") + plain(letter.message.value, 80).plain
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
        dlq = self.open_dlq
        if dlq is None:
            info.update("enter on a DLQ shows its entries")
        elif self.loading:
            info.update(Text.assemble(plain(dlq.broker, 30), " / ", plain(dlq.name, 60), " · loading…"))
        elif self.error:
            info.update(Text.assemble(plain(dlq.broker, 30), " / ", plain(dlq.name, 60), " · ", Text(self.error)))
        else:
            verb = self._verb()
            more = f" (first {ENTRY_LIMIT})" if len(self.entries) >= ENTRY_LIMIT else ""
            info.update(
                Text.assemble(
                    plain(dlq.broker, 30), " / ", plain(dlq.name, 60),
                    f" · {len(self.entries):,} entries{more} read {age(self.read_at, self.mqtui.backend.now())} ago",
                    f" (l: again) · {len(self.marked):,} selected",
                    f" · r: {verb} {'the selected' if self.marked else 'all in the DLQ'}",
                )
            )  # fmt: skip
        self.update_bindings()

    def _verb(self) -> str:
        dlq = self.acting_on()
        snapshot = self.mqtui.snapshots.get(dlq.broker) if dlq else None
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
            self.mqtui.ask_read_dlq(dlq, lambda: self.load(dlq))

    def load(self, dlq: DeadLetterQueue) -> None:
        if self.open_dlq is None or (self.open_dlq.broker, self.open_dlq.name) != (dlq.broker, dlq.name):
            self.marked.clear()
        self.open_dlq = dlq
        self.loading = True
        self.error = None
        self._draw_entries()
        self.run_worker(self._load(dlq), exclusive=True, group="dlq-entries", exit_on_error=False)

    async def _load(self, dlq: DeadLetterQueue) -> None:
        try:
            entries = await self.mqtui.backend.dead_letters(dlq.broker, dlq.name, limit=ENTRY_LIMIT)
        except Exception as exc:
            self.entries = []
            self.error = error_text(exc)
        else:
            self.entries = entries
            self.read_at = self.mqtui.backend.now()
            self.marked &= {e.id for e in entries}
        self.loading = False
        self._draw_entries()
        if self.entries:
            self.table.focus()

    def action_reload(self) -> None:
        dlq = self.open_dlq
        if dlq is not None:
            self.mqtui.ask_read_dlq(dlq, lambda: self.load(dlq))

    def _show_entry(self) -> None:
        letter = self.entry()
        if letter is not None:
            self.mqtui.show_message(letter.message, letter=letter)

    def action_select(self) -> None:
        letter = self.entry()
        if letter is None:
            return
        self.marked.symmetric_difference_update({letter.id})
        self._draw_entries()
        self.table.action_cursor_down()

    def action_select_all(self) -> None:
        ids = {e.id for e in self.entries}
        self.marked = set() if ids and ids <= self.marked else ids
        self._draw_entries()

    def _chosen_ids(self) -> list[str] | None:
        """Selected entries of the open DLQ; None means the whole DLQ."""
        dlq, opened = self.acting_on(), self.open_dlq
        if dlq is None or opened is None or (dlq.broker, dlq.name) != (opened.broker, opened.name):
            return None
        if not self.marked:
            return None
        return [e.id for e in self.entries if e.id in self.marked]

    def action_replay(self) -> None:
        dlq = self.acting_on()
        if dlq is not None:
            self.mqtui.ask_replay(dlq, self._chosen_ids(), self._verb(), done=self._after_action)

    def action_delete(self) -> None:
        dlq = self.acting_on()
        ids = self._chosen_ids()
        if dlq is not None and ids:
            self.mqtui.ask_delete(dlq, ids, done=self._after_action)

    def action_move(self) -> None:
        dlq = self.acting_on()
        if dlq is not None:
            self.mqtui.ask_move(dlq, done=self._after_action)

    def action_duplicate(self) -> None:
        letter = self.entry()
        if letter is not None:
            self.mqtui.ask_publish_copy(letter.message)

    def _after_action(self) -> None:
        self.marked.clear()
        self.mqtui.backend.refresh()
        if self.open_dlq is not None and self.open_dlq.read_hazard is None:
            self.load(self.open_dlq)
        elif self.open_dlq is not None:  # reading again would cost each message a delivery: only on request
            self.entries = []
            self.error = "done; l reads the entries again"
            self._draw_entries()
