"""A DataTable that follows keyed rows across polls without losing the operator's place, at any size.

Each poll hands over the full list of rows. What changed is worked out from plain data
(`tablediff.diff`, which a pane may run in a worker thread) and applied here in one step: the changed
rows' cells when the rows are the same and in the same order (the common case), or every row at once
when rows appear, vanish or reorder. Either way the cursor stays on the row it was on, found again by
key (and in view); when that row is gone it stays at the same height rather than jumping to the top.
A change that alters nothing on screen costs no repaint.

Rows are loaded into the DataTable's own row store in one assignment rather than by `add_row`,
`update_cell` and `remove_row`: those measure every new cell on the next idle, re-measure a whole
column when one cell narrows and re-index every row per removal, which at 10,000 rows held the UI for
seconds per poll. The widths they would measure come with the change (`Shown.content`). This leans on
DataTable internals (`_data`, `rows`, `_row_locations`, `_update_count`); Textual is pinned
by the lock, and tests/console/test_scale.py checks the rows shown against the rows given.

Columns named `flexible` give way when the rows would be wider than the table: the widest of them are
narrowed (down to their minimum, cells cut with "…") until every column fits, so at 100 columns the
numbers on the right are seen without scrolling sideways, and the names are cut instead. Columns named
in `give_first` (a dead letter's value, shown whole in its detail) go down to their minimum before the
others give anything.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.widgets import DataTable
from textual.widgets.data_table import Row, RowKey

from mqtui.ui.widgets.tablediff import Change, Layout, Shown, diff, fit
from mqtui.ui.widgets.tablediff import row_id as _row_id


class SyncTable(DataTable[Text]):
    """Rows are (key, cells); `sync` makes the table show exactly those, keeping the cursor's row."""

    DEFAULT_CSS = """
    SyncTable { height: 1fr; }
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        flexible: dict[str, int] | None = None,
        give_first: Sequence[str] = (),
        **kwargs: Any,
    ) -> None:
        """`flexible`: column key -> the narrowest that column may be made to fit the table's width."""
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._spec = list(columns)
        keys = [key for _label, key in self._spec]
        self._flexible = {keys.index(key): minimum for key, minimum in (flexible or {}).items()}
        self._give_first = frozenset(keys.index(key) for key in give_first)
        self._shown = Shown(widths=(None,) * len(self._spec))
        self._row_data: dict[str, object] = {}
        self._last_rows: Sequence[tuple[Hashable, Sequence[Text], object]] = ()

    def on_mount(self) -> None:
        for label, key in self._spec:
            self.add_column(label, key=key)

    def on_resize(self) -> None:
        """Cut the names anew when the room for them changed. Not while hidden (no room at all), and not
        when a pane shown again finds the room it had: at 10,000 rows that would be a redraw per switch."""
        shown = self._shown
        if not self._flexible or not self._last_rows or self.size.width <= 0:
            return
        if fit(self.layout_now(), list(shown.natural), len(shown.ids)) != shown.widths:
            self.sync(self._last_rows)

    @property
    def shown(self) -> Shown:
        """What the table shows now: a worker diffs new rows against it (`tablediff.diff`)."""
        return self._shown

    def layout_now(self) -> Layout:
        """The columns and the room they have, read on the UI thread for a diff made elsewhere."""
        return Layout(
            labels=tuple(label for label, _key in self._spec),
            keys=tuple(key for _label, key in self._spec),
            flexible=self._flexible,
            give_first=self._give_first,
            width=self.size.width,
            height=self.size.height,
            padding=self.cell_padding,
        )

    @staticmethod
    def row_id(key: Hashable) -> str:
        return _row_id(key)

    def sync(self, rows: Sequence[tuple[Hashable, Sequence[Text], object]], *, rebuild: bool = False) -> None:
        """Show exactly `rows` (key, cells, data); `data` is what `selected()` returns for a row.

        `rebuild` redraws every cell (after a theme change, when only colours differ).
        """
        self._last_rows = rows
        self.apply(diff(self._shown, rows, self.layout_now(), rebuild=rebuild))

    def apply(self, change: Change, rows: Sequence[tuple[Hashable, Sequence[Text], object]] | None = None) -> None:
        """Show `change.shown`. A change worked out against another state than the one shown (another was
        applied since) is worked out again here from `rows`, or from those of the change."""
        if rows is not None:
            self._last_rows = rows
        if change.base is not self._shown:
            rebuild = change.rebuild and change.base.widths == change.shown.widths
            rows_again = [(key, cells, change.data[key]) for key, cells in change.shown.cells.items()]
            change = diff(self._shown, rows if rows is not None else rows_again, self.layout_now(), rebuild=rebuild)
        self._row_data = dict(change.data)
        if change.nothing:
            self._shown = change.shown
            return
        shown = change.shown
        current = self.selected_id()
        if change.rebuild:
            for column, width in zip(self.ordered_columns, shown.widths, strict=True):
                column.auto_width = width is None
                column.width = width or 0
        for column, content in zip(self.ordered_columns, shown.content, strict=True):
            column.content_width = content
        if change.moved or change.rebuild:
            self._data = dict(shown.store)  # type: ignore[arg-type]  # rows are never changed in place
            self.rows = {key: Row(key, 1) for key in shown.store}
            self._row_locations = TwoWayDict({key: index for index, key in enumerate(shown.store)})
        else:
            for ident in change.changed:
                key = RowKey(ident)
                self._data[key] = shown.store[key]  # type: ignore[assignment]
        self._shown = shown
        self._new_rows.clear()
        self._updated_cells.clear()
        # A new update count is a new key for every cache of rows, cells and lines. Not `_clear_caches()`:
        # a cleared LRUCache leaves its ring of links, holding the old rows' cells, to the cycle collector,
        # and at 10,000 rows a poll then left ~100 MB of garbage behind.
        self._update_count += 1
        self._require_update_dimensions = True
        self.refresh(layout=change.moved or change.rebuild)
        if change.moved or change.rebuild:
            self._keep_cursor(current, shown.ids)

    def _keep_cursor(self, current: str | None, ids: Sequence[str]) -> None:
        """The cursor back on its row, found by key; at the same height when the row is gone."""
        if not ids:
            self.cursor_coordinate = self.cursor_coordinate  # clamped: the table is empty
            return
        index = self.cursor_row
        if current is not None and current in self._shown.cells:
            index = self.get_row_index(current)
        index = max(0, min(index, len(ids) - 1))
        self.move_cursor(row=index, animate=False)  # and scrolled into view if it moved away
        if ids[index] != current:
            self._highlight_cursor()  # another row under the cursor: say so, as a move would

    def selected_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key: RowKey = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return key.value

    def selected(self) -> Any:
        row_id = self.selected_id()
        return None if row_id is None else self._row_data.get(row_id)
