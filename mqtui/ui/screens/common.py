"""Small dialogs: confirm, ask for one line, show details, list keys, switch profile."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import ClassVar, Generic, TypeVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, DataTable, Footer, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from mqtui.model import Detail, DetailSection
from mqtui.ui.cells import error_text, plain
from mqtui.ui.keys import Command, bindings

ResultT = TypeVar("ResultT")
"""What a dialog hands back when it closes (`await app.push_screen_wait(dialog)`)."""


class Dialog(ModalScreen[ResultT], Generic[ResultT]):
    """A centred box with a title and a footer of its own keys; escape closes it (with None).

    Each dialog lists its keys as `KEY_COMMANDS`, like the panes: they have binding ids the config's
    `[keys]` can remap, `?` lists them under `KEYS_TITLE`, and `key()` names the key now bound to one
    (for a button's label). The console screen's footer would show the pane's keys, which a modal
    dialog does not answer, so each dialog has its own footer over it.
    """

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > #box {
        width: 90%; max-width: 110; height: auto; max-height: 90%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    Dialog #title { text-style: bold; color: $accent; width: 100%; margin-bottom: 1; }
    Dialog .buttons { height: auto; align-horizontal: right; margin-top: 1; }
    Dialog .buttons Button { margin-left: 2; }
    Dialog #box > Label { width: 100%; }
    Dialog Checkbox { border: none; padding: 0; height: 1; margin: 1 0 0 0; }
    Dialog .error { color: $error; }
    Dialog .muted { color: $text-muted; }
    """
    KEYS_TITLE: ClassVar[str] = "Any dialog"
    KEY_COMMANDS: ClassVar[list[Command]] = [Command("dialog.close", "escape", "close", "Close", "Close the dialog")]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(self, title: str | Text) -> None:
        super().__init__()
        self.dialog_title = title if isinstance(title, Text) else Text(title)

    @on(events.Mount)
    def _add_footer(self) -> None:
        self.mount(Footer(compact=True))

    def key(self, command_id: str, owner: type | None = None) -> str:
        """The key bound now (after the user's remapping) to a command of this dialog, or of `owner`
        (a widget class in it), for a label."""
        for cls in (owner or type(self)).__mro__:
            for command in getattr(cls, "KEY_COMMANDS", ()):
                if command.id == command_id:
                    key_for = getattr(self.app, "key_for", None)
                    return key_for(command) if callable(key_for) else command.key.split(",")[0]
        raise KeyError(command_id)

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(Dialog[bool]):
    """Yes or no for a write action; with `expect`, the operator must type it (production profiles)."""

    KEYS_TITLE = "Confirmation"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("confirm.cancel", "escape,n", "close", "Cancel", "Cancel the action: nothing changes"),
        Command("confirm.yes", "y", "confirm", "Yes", "Go ahead with the action"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    def __init__(self, title: str | Text, body: Text, *, confirm: str = "Yes", expect: str | None = None) -> None:
        super().__init__(title)
        self.body = body
        self.confirm_label = confirm
        self.expect = expect

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            yield Static(self.body, id="body")
            if self.expect is not None:
                yield Label(Text.assemble("Type ", Text(self.expect, style="bold"), " to confirm:"))
                yield Input(id="expect", compact=True)
            with Horizontal(classes="buttons"):
                yield Button(f"Cancel ({self.key('confirm.cancel')})", id="cancel", compact=True)
                yield Button(
                    f"{self.confirm_label} ({self.key('confirm.yes')})",
                    id="confirm",
                    variant="error",
                    disabled=self.expect is not None,
                    compact=True,
                )

    def on_mount(self) -> None:
        if self.expect is not None:
            self.query_one("#expect", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#expect")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.expect

    @on(Input.Submitted, "#expect")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == self.expect:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        if self.expect is None or self.query_one("#expect", Input).value == self.expect:
            self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        self.dismiss(False)


class PromptScreen(Dialog[str | None]):
    """One line of input (a filter, a file name); enter submits the text, escape cancels with None."""

    def __init__(self, title: str, *, value: str = "", placeholder: str = "", hint: str = "") -> None:
        super().__init__(title)
        self.value = value
        self.placeholder = placeholder
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt", compact=True)
            if self.hint:
                yield Label(self.hint, classes="muted")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


def detail_table(section: DetailSection) -> DataTable[Text]:
    table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, classes="section")
    width = max((len(row) for row in section.rows), default=0)
    columns = list(section.columns) + [""] * max(0, width - len(section.columns))
    for column in columns:
        table.add_column(plain(column, 40))
    for row in section.rows:
        cells = [plain(cell, 200) for cell in row] + [Text("")] * (len(columns) - len(row))
        table.add_row(*cells)
    return table


class DetailScreen(Dialog[None]):
    """Any `Detail` (destination or group), drawn generically: a summary, then one table per section.

    Tables wider than the dialog (a NATS consumer's eleven columns at 100 columns) pan sideways with
    left/right together, so the hidden columns are one key away without first tabbing into a table.
    """

    KEYS_TITLE = "Details"
    KEY_COMMANDS: ClassVar[list[Command]] = [
        Command("detail.left", "left", "pan(-8)", "Left", "Show the tables' columns further left", show=False),
        Command("detail.right", "right", "pan(8)", "Right", "Show the tables' columns further right", show=False),
    ]
    BINDINGS: ClassVar[list[BindingType]] = bindings(KEY_COMMANDS)

    DEFAULT_CSS = """
    DetailScreen > #box { height: 90%; }
    DetailScreen #content { height: 1fr; }
    DetailScreen .section-title { text-style: bold; margin-top: 1; color: $primary; }
    DetailScreen DataTable.section { height: auto; max-height: 20; }
    /* min-height: a table without a header, measured before its rows are, would stay 0 lines high */
    DetailScreen #summary { height: auto; min-height: 1; }
    """

    def __init__(
        self,
        title: str | Text,
        load: Callable[[], Awaitable[Detail]] | None = None,
        *,
        detail: Detail | None = None,
        before: Sequence[DetailSection] = (),
        loaded_title: str = "",
    ) -> None:
        """`before`: sections known already, drawn at once; `loaded_title` heads what `load` brings below
        them, so its summary is not read as theirs."""
        super().__init__(title)
        self.load = load
        self.detail = detail
        self.before = list(before)
        self.loaded_title = loaded_title

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            with VerticalScroll(id="content"):
                yield Label("loading…" if self.load else "", id="state", classes="muted")

    def action_pan(self, columns: int) -> None:
        for table in self.query("DataTable.section"):
            table.scroll_to(x=table.scroll_x + columns, animate=False)

    async def on_mount(self) -> None:
        await self._show(self.before, self.detail)
        if self.load is not None:
            self.run_worker(self._load(), exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        try:
            assert self.load is not None
            detail = await self.load()
        except Exception as exc:
            state = self.query_one("#state", Label)
            state.update(Text(error_text(exc)))
            state.add_class("error")
            return
        with contextlib.suppress(NoMatches):
            self.query_one("#state", Label).display = False
        await self._show((), detail, heading=self.loaded_title)

    async def _show(self, sections: Iterable[DetailSection], detail: Detail | None, heading: str = "") -> None:
        try:
            content = self.query_one("#content", VerticalScroll)
        except NoMatches:  # closed (or the console quitting) before the answer came
            return
        widgets: list[Widget] = [Label(plain(heading, 100), classes="section-title")] if heading else []
        if detail is not None and detail.summary:
            summary: DataTable[Text] = DataTable(show_header=False, cursor_type="none", id="summary")
            summary.add_columns("key", "value")
            for key, value in detail.summary:
                summary.add_row(plain(key, 60), plain(value, 200))
            widgets.append(summary)
        for section in [*sections, *(detail.sections if detail else ())]:
            widgets.append(Label(plain(section.title, 100), classes="section-title"))
            widgets.append(detail_table(section))
        if widgets:
            await content.mount_all(widgets)


KeyGroup = tuple[str, Sequence[tuple[str, str, str]]]
"""(where: "Tail", "Publish form"…, [(key, what it does, binding id)])."""


class KeysScreen(Dialog[None]):
    """Every key of the console after any remapping: global ones, each pane's, then each dialog's.

    Grouped under a title row rather than by a "where" column, and the description column is sized to
    what is left and wraps, so the binding ids (what `[keys]` needs) fit at 100 columns too.
    """

    DEFAULT_CSS = """
    KeysScreen > #box { height: 90%; }
    KeysScreen DataTable { height: 1fr; }
    """

    def __init__(self, groups: Sequence[KeyGroup]) -> None:
        super().__init__("Keys")
        self.groups = groups

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
            rows = [row for _where, group in self.groups for row in group]
            key_width = max([len("Key"), *(len(key) for key, _help, _id in rows)])
            id_width = max([len("Binding id"), *(len(binding_id) for _key, _help, binding_id in rows)])
            # The box: 90% of the screen up to 110, less its border and padding, the scrollbar, 3 paddings.
            box = min(self.app.size.width * 9 // 10, 110) - 4
            help_width = max(20, box - 2 - key_width - id_width - 6)
            table.add_column("Key", width=key_width)
            table.add_column("Command", width=help_width)
            table.add_column("Binding id", width=id_width)
            for where, group in self.groups:
                table.add_row(Text(""), Text(where, style="bold underline"), Text(""))
                for key, help_text, binding_id in group:
                    table.add_row(Text(key, style="bold"), Text(help_text), Text(binding_id), height=None)
            yield table
            yield Label(Text('remap with [keys] in the config, e.g. "tail.pause" = "p"'), classes="muted")


class ProfilesScreen(Dialog[str | None]):
    """Pick another profile of the config; the console switches without restarting."""

    DEFAULT_CSS = """
    ProfilesScreen OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, names: Sequence[str], current: str) -> None:
        super().__init__("Switch profile")
        self.names = list(names)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Label(self.dialog_title, id="title")
            options = [
                Option(Text.assemble(plain(name, 60), " (current)" if name == self.current else ""), id=name)
                for name in self.names
            ]
            yield OptionList(*options, id="profiles")
            yield Label(f"enter: switch · {self.key('dialog.close')}: stay", classes="muted")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        if self.current in self.names:
            option_list.highlighted = self.names.index(self.current)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
