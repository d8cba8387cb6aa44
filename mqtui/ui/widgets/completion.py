"""A one-line input whose Tab completes a name from a known list, the way a shell does.

Destination names are long and alike (`orders`, `orders.DLQ`, `orders-eu.v2`), and the operator
usually remembers only how one begins. Tab first extends the text to what every matching name shares,
then steps through the matches once; the matches are announced so the dialog can list them. Tab moves
on to the next field when there is nothing left to complete: an empty field, a name typed or filled in
whole (a form opened on `orders` must not turn it into `orders.DLQ` for an operator tabbing to the
body), or every match shown. So it never eats a keystroke for nothing and never traps the focus.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input

from mqtui.ui.cells import plain
from mqtui.ui.keys import Command, bindings

SHOWN_CANDIDATES = 8
"""Matches listed at once; a longer list shows a window around the current one."""


def matches(names: Sequence[str], text: str) -> list[str]:
    """Names that start with `text`: exactly as typed, or ignoring case when nothing matches that way."""
    exact = [name for name in names if name.startswith(text)]
    if exact:
        return exact
    folded = text.casefold()
    return [name for name in names if name.casefold().startswith(folded)]


def common_prefix(names: Sequence[str]) -> str:
    """What every name begins with, ignoring case, in the first name's spelling."""
    if not names:
        return ""
    first = names[0]
    length = min(len(name) for name in names)
    for index in range(length):
        if any(name[index].casefold() != first[index].casefold() for name in names):
            return first[:index]
    return first[:length]


class CompletingInput(Input):
    """An Input with shell-style Tab completion over `names`; posts `Candidates` as it completes."""

    KEYS_TITLE = "Destination field (tail, publish)"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("input.complete", "tab", "complete", "Complete", "Complete the name, then step through the matches",
                show=False),
    ]  # fmt: skip
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    class Candidates(Message):
        """The matches of the text as Tab left it (empty: nothing to list), and which one is shown."""

        def __init__(self, field: CompletingInput, names: tuple[str, ...], current: int | None, note: str) -> None:
            super().__init__()
            self.field = field
            self.names = names
            self.current = current
            self.note = note

        @property
        def control(self) -> CompletingInput:
            return self.field

    def __init__(self, value: str = "", *, names: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self.names: list[str] = []
        self._cycle: list[str] = []
        self._index = 0
        self._steps = 0
        self._extended_to: str | None = None
        """The text Tab last extended the field to: a Tab on it steps through the matches."""
        self.set_names(names)

    def set_names(self, names: Iterable[str]) -> None:
        """The names Tab completes from (and the inline suggestion shows), sorted and deduplicated."""
        self.names = sorted(set(names))
        self._cycle = []
        self.suggester = SuggestFromList(self.names, case_sensitive=True)
        self._announce((), None, "")

    def action_complete(self) -> None:
        value = self.value
        extended, self._extended_to = self._extended_to == value, None
        if self._cycle and value == self._cycle[self._index] and self._steps < len(self._cycle):
            self._index = (self._index + 1) % len(self._cycle)
            self._steps += 1
            self._show(self._cycle[self._index])
            self._announce(tuple(self._cycle), self._index, "")
            return
        cycled, self._cycle = bool(self._cycle) and value == self._cycle[self._index], []
        found = matches(self.names, value) if value else []
        if not value or cycled or not found or (value in found and (not extended or len(found) == 1)):
            note = "" if found or not value else f"no known name starts with {value!r}"
            self._announce((), None, note)
            self.app.action_focus_next()
            return
        prefix = common_prefix(found)
        if len(prefix) > len(value):
            self._show(prefix)
            self._extended_to = prefix
            self._announce(tuple(found) if len(found) > 1 else (), None, "")
            return
        # Nothing more in common: step through the matches once, starting after the one shown.
        self._cycle = found
        self._index = (found.index(value) + 1) % len(found) if value in found else 0
        self._steps = 1
        self._show(found[self._index])
        self._announce(tuple(found), self._index, "")

    def _show(self, text: str) -> None:
        self.value = text
        self.cursor_position = len(text)

    def _announce(self, names: tuple[str, ...], current: int | None, note: str) -> None:
        if self.is_attached:
            self.post_message(self.Candidates(self, names, current, note))


def candidates_text(names: Sequence[str], current: int | None, note: str = "") -> Text:
    """One line listing the matches (a window around the current one), the current one highlighted."""
    if not names:
        return Text(note)
    start = 0
    if current is not None and current >= SHOWN_CANDIDATES:
        start = current - SHOWN_CANDIDATES + 1
    window = names[start : start + SHOWN_CANDIDATES]
    line = Text(f"{len(names)} matches: " if len(names) > 1 else "")
    if start:
        line.append(f"… {start} before · ")
    for offset, name in enumerate(window):
        if offset:
            line.append(" · ")
        shown = plain(name, 60)
        if start + offset == current:
            shown.stylize("reverse")
        line.append_text(shown)
    rest = len(names) - start - len(window)
    if rest > 0:
        line.append(f" · … {rest} more")
    line.append("  (tab: next)" if current is not None else "  (tab: cycle)")
    return line
