"""A pane whose table is narrowed by words typed into a filter field that `/` opens."""

from __future__ import annotations

from textual import on
from textual.reactive import var
from textual.widgets import Input

from mqtui.ui.panes.base import Pane
from mqtui.ui.widgets.table import SyncTable

#: The class a subclass gives its filter field; the field is hidden until `/` is pressed.
FILTER_CLASS = "pane-filter"


class FilteredTablePane(Pane):
    """Destinations and Lag filter the same way: typing redraws at once, enter keeps the filter and
    returns to the table, escape clears it. Subclasses compose an `Input` with class `pane-filter`,
    read `filter_text` in `redraw`, and name their table in `table`."""

    DEFAULT_CSS = """
    FilteredTablePane .pane-filter { display: none; }
    FilteredTablePane.-filtering .pane-filter { display: block; }
    """

    filter_text: var[str] = var("", init=False)
    """The words typed into the filter field; the table shows only the rows holding every one."""

    def watch_filter_text(self) -> None:
        self.redraw()

    @property
    def table(self) -> SyncTable:
        raise NotImplementedError

    @property
    def filter_field(self) -> Input:
        return self.query_one(f".{FILTER_CLASS}", Input)

    def action_filter(self) -> None:
        self.add_class("-filtering")
        field = self.filter_field
        field.value = self.filter_text
        field.focus()

    @on(Input.Changed, f".{FILTER_CLASS}")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()

    @on(Input.Submitted, f".{FILTER_CLASS}")
    def _filter_done(self) -> None:
        if not self.filter_text:
            self.remove_class("-filtering")
        self.table.focus()

    def key_escape(self) -> None:
        if self.has_class("-filtering"):
            self.filter_text = ""
            self.filter_field.value = ""
            self.remove_class("-filtering")
            self.table.focus()
