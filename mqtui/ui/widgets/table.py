"""A DataTable that follows keyed rows across polls without losing the operator's place.

Each poll hands over the full list of rows; cells that changed are updated in place when the rows are
the same and in the same order (the common case), and the table is rebuilt only when rows appear,
vanish or reorder. Either way the cursor stays on the row it was on, found again by key (and in view);
when that row is gone it stays at the same height rather than jumping to the top.

Columns named `flexible` give way when the rows would be wider than the table: the widest of them are
narrowed (down to their minimum, cells cut with "…") until every column fits, so at 100 columns the
numbers on the right are seen without scrolling sideways, and the names are cut instead. Columns named
in `give_first` (a dead letter's value, shown whole in its detail) go down to their minimum before the
others give anything.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


def _water_fill(widths: list[int], flexible: dict[int, int], room: int) -> list[int]:
    """`widths` with the widest `flexible` columns (index -> minimum) narrowed, to fit `room` if they can."""
    if not flexible:
        return widths

    def fitted(cap: int) -> list[int]:
        return [min(width, max(cap, flexible[i])) if i in flexible else width for i, width in enumerate(widths)]

    cap = max(widths[index] for index in flexible)
    while cap > 1 and sum(fitted(cap)) > room:
        cap -= 1
    return fitted(cap)


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
        self._flexible = dict(flexible or {})
        self._give_first = set(give_first)
        self._widths: list[int | None] = [None] * len(self._spec)
        self._order: list[str] = []
        self._row_data: dict[str, object] = {}
        self._last_rows: Sequence[tuple[Hashable, Sequence[Text], object]] = ()

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for (label, key), width in zip(self._spec, self._widths, strict=True):
            self.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        if self._flexible and self._last_rows:
            self.sync(self._last_rows)

    def _fit(self, rows: Sequence[tuple[Hashable, Sequence[Text], object]]) -> list[int | None]:
        """Widths for the flexible columns that make every column fit (None: as wide as its cells)."""
        room = self.size.width - 2 * self.cell_padding * len(self._spec)
        if len(rows) + 1 > self.size.height:
            room -= 2  # the vertical scrollbar
        if not self._flexible or self.size.width <= 0:
            return [None] * len(self._spec)
        natural = [cell_len(label) for label, _key in self._spec]
        for _key, cells, _data in rows:
            natural = [max(width, cell_len(cell.plain)) for width, cell in zip(natural, cells, strict=True)]
        keys = [key for _label, key in self._spec]
        first = {
            i: self._flexible[key] for i, key in enumerate(keys) if key in self._flexible and key in self._give_first
        }
        rest = {i: self._flexible[key] for i, key in enumerate(keys) if key in self._flexible and i not in first}
        widths = _water_fill(natural, first, room)
        if sum(widths) > room:
            widths = _water_fill(widths, rest, room)
        return [width if width < natural[i] else None for i, width in enumerate(widths)]

    @staticmethod
    def _cut(cells: Sequence[Text], widths: Sequence[int | None]) -> list[Text]:
        result = []
        for cell, width in zip(cells, widths, strict=True):
            if width is not None and cell_len(cell.plain) > width:
                cell = cell.copy()
                cell.truncate(width, overflow="ellipsis")
            result.append(cell)
        return result

    @staticmethod
    def row_id(key: Hashable) -> str:
        return repr(key)

    def sync(self, rows: Sequence[tuple[Hashable, Sequence[Text], object]], *, rebuild: bool = False) -> None:
        """Show exactly `rows` (key, cells, data); `data` is what `selected()` returns for a row.

        `rebuild` redraws every cell (after a theme change, when only colours differ).
        """
        self._last_rows = rows
        widths = self._fit(rows)
        if widths != self._widths:
            self._widths = widths
            rebuild = True
        if rebuild:
            self._order = []
        unique: dict[str, tuple[Sequence[Text], object]] = {}
        for key, cells, data in rows:
            unique.setdefault(self.row_id(key), (self._cut(cells, widths), data))
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
                self.clear(columns=rebuild)
                if rebuild:
                    self._add_columns()
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
