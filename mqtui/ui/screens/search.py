"""Search one destination: an expression, a range and a limit; matches as they are found, a progress bar,
a stop key, and at the end the exact coverage line (what was scanned, what was not and why).

The dialog is given `run`, which searches on the backend's loop and reports through a thread-safe
`Found` callback; it never reaches for the backend. Enter on a match opens it (`open_message`), and the
matches can be written to JSON Lines in the shape of `tail --json`, the way the Tail pane exports.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, ProgressBar

from mqtui.errors import UsageError
from mqtui.model import Message, StartPosition
from mqtui.ui.cells import error_text, plain
from mqtui.ui.exporting import ask_and_export, default_path
from mqtui.ui.keys import Command, bindings
from mqtui.ui.payloads import key_line, payload_line
from mqtui.ui.screens.common import Dialog

DEFAULT_LIMIT = 100
RESULT_ROWS = 1000
"""Matches kept and listed: a search's `limit` is capped here (the CLI has no such cap)."""
PROGRESS_INTERVAL = 0.05
KEY_WIDTH = 20
FIXED_COLUMNS = (("Part", 4), ("Position", 16), ("Time", 19), ("Key", KEY_WIDTH))
"""The result columns before the value, which gets the rest of the dialog's width."""


@dataclass(frozen=True)
class SearchAsk:
    """What the dialog asks `run` to search: the expression as typed, the range, the limit of matches."""

    where: str
    start: StartPosition
    end: StartPosition | None
    limit: int


Found = Callable[[int, int | None, Sequence[Message]], None]
"""(scanned so far, total to scan or None, new matches): called from the backend's thread."""
Run = Callable[[SearchAsk, Found, threading.Event], Awaitable[str]]
"""Searches, reporting through `Found`, until the range ends, the limit is reached or the event is set
(the stop key); answers the coverage line, which says which of these ended it."""
OpenMessage = Callable[[Message], object]


def match_cells(message: Message) -> list[Text]:
    """One match's row: where it is, when, its key and the start of its value, all terminal-safe."""
    part = "" if message.partition is None else str(message.partition)
    stamp = f"{message.timestamp:%Y-%m-%d %H:%M:%S}" if message.timestamp is not None else ""
    key = key_line(message, KEY_WIDTH) if message.key is not None else ""
    return [plain(part, 6), plain(str(message.position), 30), Text(stamp), Text(key), Text(payload_line(message, 300))]


class SearchScreen(Dialog[None]):
    """The search form over its results; escape stops a running search, then closes."""

    DEFAULT_CSS = """
    SearchScreen > #box { height: 90%; }
    SearchScreen #search-fields { height: auto; }
    SearchScreen #search-fields Input { width: 1fr; }
    SearchScreen #search-fields Label { width: auto; color: $text-muted; padding: 0 1; }
    SearchScreen #search-where { width: 3fr; }
    SearchScreen #search-limit { width: 6; }
    SearchScreen ProgressBar { width: 100%; }
    SearchScreen #search-results { height: 1fr; }
    SearchScreen #search-state { height: auto; }
    """
    KEYS_TITLE = "Search"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("search.close", "escape", "close", "Close", "Stop a running search, else close the dialog"),
        Command("search.run", "ctrl+s", "run", "Search", "Search with what the fields say (enter in a field too)",
                priority=True),
        Command("search.stop", "ctrl+x", "stop", "Stop", "Stop the search: the coverage line says how far it got",
                priority=True),
        Command("search.export", "ctrl+e", "export", "Export", "Write the matches to JSON Lines (tail --json shape)",
                priority=True),
    ]  # fmt: skip
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(
        self,
        broker: str,
        destination: str,
        *,
        run: Run,
        open_message: OpenMessage,
        where: str = "",
        hint: str = "",
    ) -> None:
        """`hint`: a line under the fields, e.g. that reading this destination marks messages redelivered."""
        super().__init__(Text.assemble("Search ", plain(broker, 40), " / ", plain(destination, 100)))
        self.broker = broker
        self.destination = destination
        self.run = run
        self.open_message = open_message
        self.where = where
        self.hint = hint
        self.matches: list[Message] = []
        self.running = False
        self.coverage = ""
        self._stop = threading.Event()
        self._generation = 0
        """Which search a late report belongs to: one from a search run before is dropped."""
        self._counted: tuple[int, int, int | None] = (0, 0, None)
        """(generation, scanned, total) of the latest report, kept even when the report itself was held
        back: a search that stops at its limit reports its final counts right after its last matches."""

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            with Horizontal(id="search-fields"):
                yield Label("where")
                yield Input(self.where, placeholder=".value.order_id == 4711, key:K, words, @saved",
                            id="search-where", compact=True)  # fmt: skip
                yield Label("from")
                yield Input("beginning", placeholder="beginning, offset, ISO time", id="search-from", compact=True)
                yield Label("to")
                yield Input("end", placeholder="end, offset, ISO time", id="search-to", compact=True)
                yield Label("limit")
                yield Input(str(DEFAULT_LIMIT), id="search-limit", compact=True)
            hint = f"{self.hint} · " if self.hint else ""
            keys = f"enter: search · {self.key('search.stop')}: stop · {self.key('search.export')}: export"
            yield Label(plain(hint + keys, 300), id="search-hint", classes="muted")
            # Hidden until a search starts: with no total yet the bar animates and shows "--%", as if busy.
            bar = ProgressBar(total=None, show_eta=False, id="search-progress")
            bar.display = False
            yield bar
            yield Label("", id="search-state")
            results: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="search-results")
            for name, width in FIXED_COLUMNS:
                results.add_column(name, width=width)
            # The box: 90% of the screen up to 110, less its border and padding, the scrollbar, cell paddings.
            box = min(self.app.size.width * 9 // 10, 110) - 4
            results.add_column("Value", width=max(20, box - 2 - sum(w for _n, w in FIXED_COLUMNS) - 2 * 5))
            yield results

    def on_mount(self) -> None:
        self.query_one("#search-where", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return True if self.running else None
        if action == "run":
            return None if self.running else True
        if action == "export":
            return True if self.matches and not self.running else None
        return True

    # -- asking ------------------------------------------------------------------------------------
    def _ask(self) -> SearchAsk:
        """The fields as a search; `UsageError` naming the field that is wrong."""
        where = self.query_one("#search-where", Input).value.strip()
        if not where:
            raise UsageError("where: give an expression (.value.id == 42), words, or @saved")
        try:
            start = StartPosition.parse(self.query_one("#search-from", Input).value or "beginning", "from")
            to_text = self.query_one("#search-to", Input).value.strip()
            end = None if to_text.lower() in ("", "end", "now", "latest") else StartPosition.parse(to_text, "to")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        limit_text = self.query_one("#search-limit", Input).value.strip() or str(DEFAULT_LIMIT)
        if not limit_text.isdigit() or not 0 < int(limit_text) <= RESULT_ROWS:
            raise UsageError(f"limit: a number of matches from 1 to {RESULT_ROWS:,}, not {limit_text!r}")
        return SearchAsk(where, start, end, int(limit_text))

    @on(Input.Submitted)
    def action_run(self) -> None:
        if self.running:
            return
        state = self.query_one("#search-state", Label)
        try:
            ask = self._ask()
        except UsageError as exc:
            state.update(plain(str(exc), 300))
            state.set_class(True, "error")
            return
        state.set_class(False, "error")
        state.update(plain(f"searching where {ask.where}…", 300))
        self.matches = []
        self.coverage = ""
        self.query_one("#search-results", DataTable).clear()
        bar = self.query_one("#search-progress", ProgressBar)
        bar.update(total=None, progress=0)
        bar.display = True
        self.running = True
        self._stop = threading.Event()
        self._generation += 1
        self.refresh_bindings()
        self._search(ask, self._stop)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def _search(self, ask: SearchAsk, stop: threading.Event) -> None:
        state = self.query_one("#search-state", Label)
        try:
            line = await self.run(ask, self._found_callback(self._generation), stop)
        except Exception as exc:
            self._finished(error_text(exc))
            state.set_class(True, "error")
            return
        self._finished(line)

    def _finished(self, line: str) -> None:
        self.running = False
        self.coverage = line
        self.query_one("#search-state", Label).update(plain(line, 500))
        bar = self.query_one("#search-progress", ProgressBar)
        generation, scanned, total = self._counted
        if generation == self._generation and total:
            bar.update(total=total, progress=min(scanned, total))
        elif bar.total is None:
            bar.update(total=1, progress=1)
        self.refresh_bindings()

    def _found_callback(self, generation: int) -> Found:
        """A thread-safe callback: matches are handed on as found, counts at most ~20 times a second.

        Called straight on this loop (not as a message): a report made before the search returned is
        then taken before its coverage line is shown, so no match can arrive after "N matched".
        """
        lock = threading.Lock()
        last = [0.0]
        pending: list[Message] = []
        loop = asyncio.get_running_loop()

        def found(scanned: int, total: int | None, matches: Sequence[Message]) -> None:
            now = time.monotonic()
            with lock:
                self._counted = (generation, scanned, total)
                pending.extend(matches)
                if not pending and now - last[0] < PROGRESS_INTERVAL and (total is None or scanned < total):
                    return
                last[0] = now
                batch = pending[:]
                pending.clear()
            with contextlib.suppress(RuntimeError):  # the console has closed
                loop.call_soon_threadsafe(self._progressed, generation, scanned, total, batch)

        return found

    def _progressed(self, generation: int, scanned: int, total: int | None, matches: list[Message]) -> None:
        if generation != self._generation or not self.running or not self.is_attached:
            return
        bar = self.query_one("#search-progress", ProgressBar)
        if total:
            bar.update(total=total, progress=min(scanned, total))
        room = RESULT_ROWS - len(self.matches)
        new = matches[: max(room, 0)]
        if new:
            self.matches.extend(new)
            table = self.query_one("#search-results", DataTable)
            for message in new:
                table.add_row(*match_cells(message))
        of = f" of {total:,}" if total else ""
        line = f"scanning: {scanned:,}{of} messages, {len(self.matches):,} matched so far"
        self.query_one("#search-state", Label).update(f"stopping… {line}" if self._stop.is_set() else line)

    # -- stopping, closing -------------------------------------------------------------------------
    def action_stop(self) -> None:
        """Ask the search to stop after the batch it is judging: it still answers its coverage line."""
        if self.running and not self._stop.is_set():
            self._stop.set()
            self.query_one("#search-state", Label).update("stopping…")

    def action_close(self) -> None:
        if self.running:
            self.action_stop()
            return
        self.dismiss(None)

    # -- the matches -------------------------------------------------------------------------------
    @on(DataTable.RowSelected, "#search-results")
    def _opened(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.matches):
            self.open_message(self.matches[event.cursor_row])

    @work(exclusive=True, group="export", exit_on_error=False)
    async def action_export(self) -> None:
        """Ask where to, then write the matches (a thread writes the file), as the Tail pane's `e` does."""
        if not self.matches or self.running:
            return
        messages = list(self.matches)
        title = f"Export the {len(messages):,} matches to JSON Lines"
        default = default_path("mqtui-search-", self.destination)
        hint = "same shape as tail --json"
        await ask_and_export(self, messages, title=title, default=default, hint=hint, noun="matches")
