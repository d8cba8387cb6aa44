"""Offset reset for a stopped consumer group: where to, which topic, confirm, then the new positions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Checkbox, DataTable, Input, Label

from mqtui.figures import count
from mqtui.model import BacklogRow, StartPosition
from mqtui.ui.cells import error_text, plain
from mqtui.ui.keys import Command, bindings
from mqtui.ui.screens.common import Dialog

Reset = Callable[[StartPosition, str | None], Awaitable[list[BacklogRow]]]
"""Moves the group's offsets to a position, on one topic or (None) every one; returns the new positions."""


class ResetOffsetsScreen(Dialog[bool]):
    """Closes with True when offsets were moved; `reset` moves them."""

    DEFAULT_CSS = """
    ResetOffsetsScreen #result { height: auto; max-height: 16; }
    ResetOffsetsScreen Input { width: 40; }
    """
    KEYS_TITLE = "Offset reset"
    KEY_COMMANDS: ClassVar[list[Command]] = [Command("reset.cancel", "escape", "close", "Cancel", "Close the form")]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(self, broker: str, group: str, destination: str | None, *, reset: Reset) -> None:
        super().__init__(Text.assemble("Reset offsets of ", plain(group, 60), " on ", plain(broker, 40)))
        self.broker = broker
        self.group = group
        self.destination = destination
        self.reset = reset
        self.done = False
        self.confirming = False

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            yield Label(
                "The group must have no active members. Reset to: earliest, latest, an offset, or an ISO 8601 time."
            )
            yield Input(
                "earliest", placeholder="earliest | latest | OFFSET | 2024-05-01T12:00:00Z", id="target", compact=True
            )
            if self.destination:
                yield Checkbox(Text.assemble("only topic ", plain(self.destination, 60)), value=True, id="only-topic")
            yield Label(id="preview")
            result: DataTable[Text] = DataTable(cursor_type="row", id="result")
            result.add_columns("destination", "partition", "committed", "end", "lag")
            yield result
            with Horizontal(classes="buttons"):
                yield Button(f"Cancel ({self.key('reset.cancel')})", id="cancel", compact=True)
                yield Button("Reset…", id="reset", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#target", Input).focus()

    def _target(self) -> StartPosition | None:
        try:
            return StartPosition.parse(self.query_one("#target", Input).value or "")
        except ValueError as exc:
            self._say(str(exc), error=True)
            return None

    def _topic(self) -> str | None:
        if not self.destination:
            return None
        return self.destination if self.query_one("#only-topic", Checkbox).value else None

    def _say(self, text: str, *, error: bool = False) -> None:
        preview = self.query_one("#preview", Label)
        preview.update(Text(text))
        preview.set_class(error, "error")

    @on(Input.Changed, "#target")
    def _changed(self) -> None:
        self.confirming = False
        self.query_one("#reset", Button).label = "Reset…"

    @on(Input.Submitted, "#target")
    @on(Button.Pressed, "#reset")
    def _reset(self) -> None:
        if self.done:
            self.dismiss(True)
            return
        target = self._target()
        if target is None:
            return
        scope = f" on {self._topic()}" if self._topic() else " on every topic"
        if not self.confirming:
            self.confirming = True
            self._say(f"reset group {self.group}{scope} to {target}? press Reset again to confirm")
            self.query_one("#reset", Button).label = "Confirm reset"
            self.query_one("#reset", Button).focus()
            return
        self.run_worker(self._run(target), exclusive=True, exit_on_error=False)

    async def _run(self, target: StartPosition) -> None:
        self._say("resetting…")
        try:
            rows = await self.reset(target, self._topic())
        except Exception as exc:
            self.confirming = False
            self.query_one("#reset", Button).label = "Reset…"
            self._say(error_text(exc), error=True)
            return
        table = self.query_one("#result", DataTable)
        for row in rows:
            table.add_row(
                plain(row.destination, 80), Text("-" if row.partition is None else str(row.partition)),
                plain(row.committed, 40), plain(row.end, 40), Text(count(row.lag)),
            )  # fmt: skip
        self.done = True
        self._say(f"reset {len(rows):,} partition(s) of {self.group} to {target}")
        self.query_one("#reset", Button).label = "Done"
        self.query_one("#cancel", Button).display = False

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        self.dismiss(self.done)
