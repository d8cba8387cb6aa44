"""Driving the console in tests: open it on a real profile, read what it shows, wait for a state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import DataTable, Label, Static

from mqtui.services.backend import LiveBackend
from mqtui.ui.app import MqtuiApp
from mqtui.ui.screens.console import ConsoleScreen
from tests.support import until


def console_screen(app: App[Any]) -> ConsoleScreen:
    """The console screen of a running app, whatever dialog is open over it."""
    return next(screen for screen in app.screen_stack if isinstance(screen, ConsoleScreen))


class Console:
    """A running console: the app, its pilot, and every notification it showed."""

    def __init__(self, app: MqtuiApp, pilot: Pilot[Any], notes: list[str]) -> None:
        self.app = app
        self.pilot = pilot
        self.notes = notes

    @property
    def screen(self) -> ConsoleScreen:
        """The console screen (panes, snapshots, workflows), whatever dialog is open over it."""
        return console_screen(self.app)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.settle()

    async def settle(self) -> None:
        """Until every widget has handled its messages and the screen is laid out again.

        Cheaper than `pilot.pause()`, which then also waits for the whole process (the backend's thread
        included) to sit idle; what the screen shows is the same.
        """
        await self.pilot.pause(0)

    async def type(self, text: str) -> None:
        await self.pilot.press(*(("space" if ch == " " else ch) for ch in text))

    def rows(self, selector: str) -> list[list[str]]:
        return self.rows_of(self.app.screen.query_one(selector, DataTable))

    @staticmethod
    def rows_of(table: DataTable[Any]) -> list[list[str]]:
        return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]

    def text(self, selector: str) -> str:
        widget = self.app.screen.query_one(selector)
        if isinstance(widget, Label | Static):
            return str(widget.content)
        return str(widget.render())

    async def wait(self, predicate: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
        return await until(predicate, timeout=timeout, what=what)

    async def wait_rows(
        self, selector: str, predicate: Callable[[list[list[str]]], bool], what: str, timeout: float = 20.0
    ) -> list[list[str]]:
        def check() -> tuple[list[list[str]]] | None:
            try:
                rows = self.rows(selector)
            except Exception:
                return None
            return (rows,) if predicate(rows) else None  # a tuple: an empty table is an answer too

        return (await self.wait(check, what, timeout))[0]

    async def pick(self, selector: str, column: int, value: str, what: str, timeout: float = 20.0) -> None:
        """Wait for the row whose `column` reads `value` and put the cursor on it.

        A shared broker holds other tests' destinations too, so a row is found by its name, not its place.
        """
        rows = await self.wait_rows(selector, lambda r: any(row[column] == value for row in r), what, timeout)
        index = next(i for i, row in enumerate(rows) if row[column] == value)
        self.app.screen.query_one(selector, DataTable).move_cursor(row=index)
        await self.settle()

    async def open_only_dlq(self, entries: int, what: str) -> list[list[str]]:
        """Show the Dead letters pane, wait for its one DLQ, open it and wait for its `entries` rows."""
        await self.press("4")
        await self.wait_rows("#dlq-table", lambda r: len(r) == 1, "the DLQ")
        await self.press("enter")
        return await self.wait_rows("#entries-table", lambda r: len(r) == entries, what)

    async def wait_screen(self, name: str, what: str | None = None) -> None:
        await self.wait(lambda: type(self.app.screen).__name__ == name, what or f"{name} on top")

    async def wait_note(self, fragment: str) -> str:
        return await self.wait(lambda: next((n for n in self.notes if fragment in n), None), f"note {fragment!r}")


@contextlib.asynccontextmanager
async def console(
    config: Path | None, profile: str, *, size: tuple[int, int] = (120, 36), tail_capacity: int = 10_000
) -> AsyncIterator[Console]:
    backend = LiveBackend.open(config, profile)
    app = MqtuiApp(backend, tail_capacity=tail_capacity)
    app.animation_level = "none"  # a pane switch would wait 0.3 s for the tab underline to glide
    notes: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(str(message.notification.message))

    try:
        async with app.run_test(size=size, message_hook=hook) as pilot:
            yield Console(app, pilot, notes)
    finally:
        app.backend.stop()
        backend.stop()
