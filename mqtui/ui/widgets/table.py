"""A DataTable that follows keyed rows across polls without losing the operator's place.

Each poll hands over the full list of rows; cells that changed are updated in place when the rows are
the same and in the same order (the common case), and the table is rebuilt only when rows appear,
vanish or reorder. Either way the cursor stays on the row it was on, found again by key (and in view);
when that row is gone it stays at the same height rather than jumping to the top.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class SyncTable(DataTable[Text]):
    """Rows are (key, cells); `sync` makes the table show exactly those, keeping the cursor's row."""

    DEFAULT_CSS = """
    SyncTable { height: 1fr; }
    """

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._spec = list(columns)
        self._order: list[str] = []
        self._row_data: dict[str, object] = {}

    def on_mount(self) -> None:
        for label, key in self._spec:
            self.add_column(label, key=key)

    @staticmethod
    def row_id(key: Hashable) -> str:
        return repr(key)

    def sync(self, rows: Sequence[tuple[Hashable, Sequence[Text], object]], *, rebuild: bool = False) -> None:
        """Show exactly `rows` (key, cells, data); `data` is what `selected()` returns for a row.

        `rebuild` redraws every cell (after a theme change, when only colours differ).
        """
        if rebuild:
            self._order = []
        unique: dict[str, tuple[Sequence[Text], object]] = {}
        for key, cells, data in rows:
            unique.setdefault(self.row_id(key), (cells, data))
        ids = list(unique)
        column_keys = [key for _label, key in self._spec]
        current = self.selected_id()
        with self.app.batch_update():
            if ids == self._order:
                for row_id, (cells, _data) in unique.items():
                    for column_key, cell, previous in zip(column_keys, cells, self.get_row(row_id), strict=True):
                        if cell != previous:
                            self.update_cell(row_id, column_key, cell, update_width=True)
            else:
                scroll_y, index = self.scroll_y, self.cursor_row
                self.clear()
                for row_id, (cells, _data) in unique.items():
                    self.add_row(*cells, key=row_id)
                self._order = ids
                if current is not None and current in unique:
                    index = self.get_row_index(current)
                elif current is not None and ids:  # the row is gone: stay where it was, not at the top
                    index = min(index, len(ids) - 1)
                self.scroll_to(y=scroll_y, animate=False, immediate=True)
                if ids:
                    self.move_cursor(row=index, animate=False)  # and scrolled into view if it moved away
        self._row_data = {row_id: data for row_id, (_cells, data) in unique.items()}

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

    def data_for(self, row_key: RowKey) -> Any:
        return self._row_data.get(row_key.value or "")
