"""Choose dead letters by an expression: how many of those read match, and which, before any is chosen.

The dead letters are the ones the Dead letters pane has read (its first `ENTRY_LIMIT`), judged as they
are typed (a few hundred documents, a few milliseconds); enter closes with their ids, and the pane's
replay and delete keys then act on exactly those, through their own preview and confirmation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Label

from mqtui.errors import UsageError
from mqtui.model import DeadLetter
from mqtui.ui.cells import plain
from mqtui.ui.choosing import LetterChoice, choose_letters
from mqtui.ui.keys import Command, bindings
from mqtui.ui.payloads import payload_line
from mqtui.ui.screens.common import Dialog

PREVIEW_ROWS = 200


@dataclass(frozen=True)
class LetterSelection:
    """What the dialog chose: the ids of the matching dead letters, and the expression that chose them."""

    expression: str
    ids: frozenset[str]


class WhereScreen(Dialog[LetterSelection | None]):
    """An expression field, the count of the dead letters it matches and a preview of them."""

    DEFAULT_CSS = """
    WhereScreen > #box { height: 80%; }
    WhereScreen #where-preview { height: 1fr; }
    """
    KEYS_TITLE = "Select by expression"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("where.cancel", "escape", "close", "Cancel", "Close without changing the selection"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(
        self, title: str | Text, letters: Sequence[DeadLetter], filters: Mapping[str, str], *, more: bool = False
    ) -> None:
        """`more`: the DLQ holds more dead letters than were read, and only those read are judged."""
        super().__init__(title)
        self.letters = list(letters)
        self.filters = filters
        self.more = more
        self.choice: LetterChoice | None = None
        self.text = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            yield Input(placeholder='.reason | test("timeout")  ·  .value.amount > 1000  ·  @saved  ·  words',
                        id="where", compact=True)  # fmt: skip
            yield Label(self._scope(), id="where-state", classes="muted")
            preview: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="where-preview")
            preview.add_columns("ID", "Reason", "Value")
            yield preview
            yield Label("enter: select these · the replay and delete keys then act on them · escape: cancel",
                        classes="muted")  # fmt: skip

    def _scope(self) -> str:
        read = f"{len(self.letters):,} dead letters read"
        return read + (" (the DLQ holds more: only those read are judged)" if self.more else "")

    @on(Input.Changed, "#where")
    def _typed(self, event: Input.Changed) -> None:
        state = self.query_one("#where-state", Label)
        preview = self.query_one("#where-preview", DataTable)
        self.text = event.value.strip()
        self.choice = None
        preview.clear()
        state.set_class(False, "error")
        if not self.text:
            state.update(self._scope())
            return
        try:
            choice = choose_letters(self.letters, self.text, self.filters)
        except UsageError as exc:
            state.update(plain(str(exc), 300))
            state.set_class(True, "error")
            return
        self.choice = choice
        line = f"{len(choice.matched):,} of {self._scope()} match"
        if choice.errors:
            line += f" · {choice.errors}"
        state.update(plain(line, 400))
        for letter in choice.matched[:PREVIEW_ROWS]:
            preview.add_row(plain(letter.id, 40), plain(letter.reason, 60), Text(payload_line(letter.message, 120)))
        if len(choice.matched) > PREVIEW_ROWS:
            preview.add_row(Text("…"), Text(f"{len(choice.matched) - PREVIEW_ROWS:,} more"), Text(""))

    @on(Input.Submitted, "#where")
    def _submitted(self) -> None:
        choice = self.choice
        if choice is None:
            return  # empty or not valid: the line under the field says why
        if not choice.matched:
            self.notify("nothing matches: the selection is unchanged", severity="warning")
            return
        self.dismiss(LetterSelection(self.text, frozenset(letter.id for letter in choice.matched)))
