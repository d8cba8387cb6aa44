"""A DataTable that follows keyed rows across polls without losing the operator's place, at any size.

Each poll hands over the full list of rows. What changed is worked out from plain data
(`tablediff.diff`, which a pane may run in a worker thread) and applied here in one step, whatever
the number of rows: the table keeps `tablediff.Shown` (row ids in order, each row's `Cells`) as its
rows, and a row becomes styled, cut cells only when it is drawn (`get_row_at`), so a screen of forty
rows costs forty rows of work, not 10,000. The cursor stays on the row it was on, found again by key
(and in view); when that row is gone it stays at the same height rather than jumping to the top. A
change that alters nothing on screen costs no repaint.

The DataTable keeps its rows in dicts of every row, filled one row at a time and measured cell by
cell; at 10,000 rows that held the UI for seconds per poll. Here those are views onto `Shown`
(`rowstore.py`), and rows and cells are drawn in a few steps (`celldraw.py`). This leans on DataTable
internals, so pyproject.toml holds Textual to 8.2.x; tests/console/test_scale.py checks the rows shown
against the rows given, and tests/console/test_table_cells.py the drawing against the DataTable's own.

Columns named `flexible` give way when the rows would be wider than the table: the widest of them are
narrowed (down to their minimum, cells cut with "…") until every column fits, so at 100 columns the
numbers on the right are seen without scrolling sideways, and the names are cut instead. Columns named
in `give_first` (a dead letter's value, shown whole in its detail) go down to their minimum before the
others give anything.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import Row as TableRow
from textual.widgets.data_table import RowKey

from mqtui.ui.widgets.celldraw import cell_line
from mqtui.ui.widgets.rowcells import Cells, LazyCells, MadeCells, RowCells, looks_alike
from mqtui.ui.widgets.rowstore import CellsByKey, LineRows, RowPlaces, RowsByKey, RowsInOrder
from mqtui.ui.widgets.tablediff import Change, Layout, Row, Shown, cut, diff, fit
from mqtui.ui.widgets.tablediff import row_id as _row_id

#: Rows given as (key, cells, data), the cells either `Cells` or made `Text` (small tables).
GivenRow = tuple[Hashable, RowCells | Sequence[Text], object]

#: Lines kept drawn: the screen's, for a few places of the cursor.
LINES_KEPT = 256

#: Painted rows kept (the rows in view and those near them); beyond this the keeping starts afresh.
PAINTED_KEPT = 512


class SyncTable(DataTable[Text]):
    """Rows are (key, cells, data); `sync` makes the table show exactly those, keeping the cursor's row."""

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
        self._shown = Shown(widths=(None,) * len(columns))  # read by the DataTable while it starts
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._spec = list(columns)
        keys = [key for _label, key in self._spec]
        self._flexible = {keys.index(key): minimum for key, minimum in (flexible or {}).items()}
        self._give_first = frozenset(keys.index(key) for key in give_first)
        self._row_data: Mapping[str, object] = {}
        self._last_rows: Sequence[GivenRow] = ()
        self._painted: dict[str, tuple[RowCells, tuple[int | None, ...], list[Text]]] = {}
        self._show(self._shown)
        self._data = CellsByKey(self)  # type: ignore[assignment]
        # The DataTable keeps up to 10,000 rendered cells and 1,000 lines and rows, each line a `Strip`
        # with its own caches: at 10,000 rows that was a hundred thousand objects for the collector to
        # walk. A screen needs a few dozen; rows and cells are drawn here, so those caches hold the header.
        self._line_cache = LRUCache(LINES_KEPT)
        self._row_render_cache = LRUCache(8)
        self._cell_render_cache = LRUCache(64)
        self._row_renderable_cache = LRUCache(LINES_KEPT)
        self._row_styles: dict[tuple[object, ...], Style] = {}
        self._under_styles: dict[tuple[Style, Style], Style] = {}
        self._place_styles: dict[tuple[int, int], Style] = {}
        self._line_style: Style | None = None
        self._cell_lines: dict[tuple[object, ...], SegmentLines] = {}
        self._row_lines: dict[tuple[object, ...], tuple[SegmentLines, SegmentLines]] = {}

    def _show(self, shown: Shown) -> None:
        self._shown = shown
        self._row_locations = RowPlaces(shown)  # type: ignore[assignment]
        self.rows = RowsByKey(shown)  # type: ignore[assignment]

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
            self.sync(self._last_rows, natural=shown.natural if shown.given else None)

    @property
    def shown(self) -> Shown:
        """What the table shows now: a worker diffs new rows against it (`tablediff.diff`)."""
        return self._shown

    def layout_now(self) -> Layout:
        """The columns and the room they have, read on the UI thread for a diff made elsewhere."""
        return Layout(
            labels=tuple(label for label, _key in self._spec),
            flexible=self._flexible,
            give_first=self._give_first,
            width=self.size.width,
            height=self.size.height,
            padding=self.cell_padding,
        )

    @staticmethod
    def row_id(key: Hashable) -> str:
        return _row_id(key)

    # -- the DataTable's row store, as views onto what is shown -------------------------------------
    @property
    def ordered_rows(self) -> list[TableRow]:
        return RowsInOrder(self._shown.ids)  # type: ignore[return-value]

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        return LineRows(self._shown.ids)  # type: ignore[return-value]

    @property
    def _total_row_height(self) -> int:
        return len(self._shown.ids)

    def _get_row_region(self, row_index: int) -> Region:
        if not self.is_valid_row_index(row_index):
            return Region(0, 0, 0, 0)
        width = sum(column.get_render_width(self) for column in self.columns.values())
        return Region(0, row_index + self._header_lines, max(self.size.width, width), 1)

    def _get_cell_region(self, coordinate: Any) -> Region:
        row_index, column_index = coordinate
        if not self.is_valid_coordinate(coordinate):
            return Region(0, 0, 0, 0)
        columns = self.ordered_columns
        x = sum(column.get_render_width(self) for column in columns[:column_index])
        return Region(x, row_index + self._header_lines, columns[column_index].get_render_width(self), 1)

    @property
    def _header_lines(self) -> int:
        return self.header_height if self.show_header else 0

    def get_row_at(self, row_index: int) -> list[Text]:
        """The row's cells, styled and cut to the columns: made when the row is drawn, then kept."""
        shown = self._shown
        if not 0 <= row_index < len(shown.ids):
            raise IndexError(row_index)
        ident = shown.ids[row_index]
        cells = shown.cells[ident]
        kept = self._painted.get(ident)
        if kept is not None and kept[0] is cells and kept[1] == shown.widths:
            return kept[2]
        if len(self._painted) >= PAINTED_KEPT:
            self._painted = {}
        painted = cut(cells.paint(), shown.widths)
        self._painted[ident] = (cells, shown.widths, painted)
        return painted

    # -- drawing a row ---------------------------------------------------------------------------------
    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        """The zebra stripe's style, worked out once per stripe and state rather than once per row drawn."""
        key = (-1 if row_index < 0 else row_index % 2, base_style, self._pseudo_class_state, self._update_count)
        style = self._row_styles.get(key)
        if style is None:
            if len(self._row_styles) > 64:
                self._row_styles.clear()
            style = self._row_styles[key] = super()._get_row_style(row_index, base_style)
        return style

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[SegmentLines, SegmentLines]:
        """A row's line, as the DataTable draws it with a row cursor and no labels or fixed columns, kept
        while the cursor moves elsewhere (the DataTable keys it by where the cursor is, so every move drew
        every row again). tests/console/test_table_cells.py compares the two."""
        row_index = self._shown.index.get(row_key.value, -1) if row_key.value is not None else -1
        if row_index < 0 or self.cursor_type != "row" or self.fixed_columns or self._labelled_row_exists:
            return super()._render_line_in_row(row_key, line_no, base_style, cursor_location, hover_location)
        cursor, hover = cursor_location.row == row_index, hover_location.row == row_index
        key = (row_key, line_no, base_style, cursor, hover, self.show_cursor, self._show_hover_cursor,
               self._update_count, self._pseudo_class_state, self.size.width)  # fmt: skip
        lines = self._row_lines.get(key)
        if lines is not None:
            return lines
        row_style = self._get_row_style(row_index, base_style)
        scrollable: SegmentLines = []
        table_width = 0
        for column_index, column in enumerate(self.ordered_columns):
            width = column.get_render_width(self)
            table_width += width
            scrollable.append(self._render_cell(row_index, column_index, row_style, width, cursor, hover)[line_no])
        extend, _ = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor, False, False
        )
        extend = row_style + extend + Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        scrollable.append([Segment(" " * max(0, self.size.width - table_width), extend)])
        if len(self._row_lines) > 1024:
            self._row_lines.clear()
        lines = self._row_lines[key] = ([], scrollable)
        return lines

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        """A row's cell, as the DataTable draws it but in a few steps (`celldraw.cell_line`)."""
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (self._shown.ids[row_index], column_index, row_index, base_style, width, cursor, hover,
               self._show_hover_cursor, self._update_count, self._pseudo_class_state)  # fmt: skip
        lines = self._cell_lines.get(key)
        if lines is not None:
            return lines
        cell = self.get_row_at(row_index)[column_index]
        component, post = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css",
        )  # fmt: skip
        pre = self._cell_style(base_style, component, row_index, column_index)
        lines = [cell_line(self.app.console, cell, width, self.cell_padding, pre, post)]
        if len(self._cell_lines) > 4096:
            self._cell_lines.clear()
        self._cell_lines[key] = lines
        return lines

    def _cell_style(self, base_style: Style, component: Style, row_index: int, column_index: int) -> Style:
        """`base_style + component` with the cell's place as meta (what a click reads), as the DataTable
        makes it per cell, from parts kept: neither part carries meta, so the order of adding is free."""
        under = self._under_styles.get((base_style, component))
        if under is None:
            under = self._under_styles[(base_style, component)] = base_style + component
        place = (row_index, column_index)
        meta = self._place_styles.get(place)
        if meta is None:
            if len(self._place_styles) > 1 << 14:
                self._place_styles.clear()
            meta = self._place_styles[place] = Style.from_meta({"row": row_index, "column": column_index})
        return under + meta

    def render_lines(self, crop: Region) -> list[Strip]:
        self._line_style = self.rich_style  # the widget's style, the same for every line of one render
        try:
            return super().render_lines(crop)
        finally:
            self._line_style = None

    def render_line(self, y: int) -> Strip:
        """The DataTable's, with the widget's style worked out once per render, not once per line."""
        if self.fixed_rows or self._line_style is None:
            return super().render_line(y)
        scroll_x, scroll_y = self.scroll_offset
        if y >= self._header_lines:
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + self.size.width, self._line_style)

    # -- showing rows ------------------------------------------------------------------------------
    def sync(self, rows: Sequence[GivenRow], *, rebuild: bool = False, natural: Sequence[int] | None = None) -> None:
        """Show exactly `rows` (key, cells, data); `data` is what `selected()` returns for a row.

        `rebuild` redraws every cell (after a theme change, when only colours differ); `natural` is each
        column's widest text where the pane knows it (`tablediff.diff`).
        """
        change = diff(self._shown, self.as_cells(rows), self.layout_now(), rebuild=rebuild, natural=natural)
        self.apply(change, rows)

    def as_cells(self, rows: Sequence[GivenRow]) -> list[Row]:
        """Rows with their cells as `Cells`: made `Text` cells are wrapped (`MadeCells`), in the object
        shown before where they are equal, so a redraw that changes nothing draws nothing."""
        shown = self._shown.cells
        result: list[Row] = []
        for key, cells, data in rows:
            if not isinstance(cells, Cells | LazyCells):
                made = list(cells)
                before = shown.get(_row_id(key))
                cells = before if isinstance(before, MadeCells) and before.made == made else MadeCells(made)
            result.append((key, cells, data))
        return result

    def apply(self, change: Change, rows: Sequence[GivenRow]) -> None:
        """Show `change.shown`, worked out from `rows`. A change worked out against another state than the
        one shown (another was applied since) is worked out again here."""
        self._last_rows = rows
        if change.base is not self._shown:
            natural = change.shown.natural if change.shown.given else None
            change = diff(self._shown, self.as_cells(rows), self.layout_now(), rebuild=change.rebuild, natural=natural)
        self._row_data = change.data
        if change.nothing:
            self._show(change.shown)
            return
        if self._nothing_in_view(change):
            self._show(change.shown)
            self._forget_drawn()  # the rows out of view are drawn from the new cells, when scrolled to
            return
        shown = change.shown
        current = self.selected_id()
        for column, width, content in zip(self.ordered_columns, shown.widths, shown.content, strict=True):
            column.auto_width = width is None
            column.width = width or 0
            column.content_width = content
        self._show(shown)
        if change.rebuild:
            self._painted = {}
            self._under_styles = {}
        self._forget_drawn()
        old = change.base
        if len(shown.ids) != len(old.ids) or shown.content != old.content or shown.widths != old.widths:
            # The table's size changes: worked out on the next idle, and the cursor scrolled into view
            # after it. Rows only reordered (a sort) keep the size, and the cursor is scrolled to at once,
            # in the same frame, not one frame later.
            self._require_update_dimensions = True
        self.refresh()
        if change.moved:
            self._keep_cursor(current, shown.ids)

    def _forget_drawn(self) -> None:
        """No line, row or cell drawn before is drawn from again."""
        self._new_rows.clear()
        self._updated_cells.clear()
        self._cell_lines.clear()
        self._row_lines.clear()
        # A new update count is a new key for every cache of rows, cells and lines. Not `_clear_caches()`:
        # a cleared LRUCache leaves its ring of links, holding the old rows' cells, to the cycle collector.
        self._update_count += 1

    def _nothing_in_view(self, change: Change) -> bool:
        """Whether the rows in view would draw as they do now: the same rows in the same places and
        widths, their cells alike. A poll that changed rows out of view only (or nothing) costs no
        repaint; the rows out of view are drawn from the new cells when they come into view."""
        old, new = change.base, change.shown
        if change.moved or change.rebuild or old.widths != new.widths or old.content != new.content:
            return False
        top = int(self.scroll_y)
        ids = new.ids[top : top + max(0, self.size.height)]
        return all(looks_alike(old.cells[ident], new.cells[ident]) for ident in ids)

    def _keep_cursor(self, current: str | None, ids: Sequence[str]) -> None:
        """The cursor back on its row, found by key; at the same height when the row is gone."""
        if not ids:
            self.cursor_coordinate = self.cursor_coordinate  # clamped: the table is empty
            return
        index = self.cursor_row
        if current is not None and current in self._shown.index:
            index = self._shown.index[current]
        index = max(0, min(index, len(ids) - 1))
        self.move_cursor(row=index, animate=False)  # and scrolled into view if it moved away
        if ids[index] != current:
            self._highlight_cursor()  # another row under the cursor: say so, as a move would

    def selected_id(self) -> str | None:
        ids = self._shown.ids
        return ids[self.cursor_row] if 0 <= self.cursor_row < len(ids) else None

    def selected(self) -> Any:
        row_id = self.selected_id()
        return None if row_id is None else self._row_data.get(row_id)
