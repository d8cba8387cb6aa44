"""The table draws a cell and a row as the DataTable would, segment by segment: the quick way
(`SyncTable._render_cell`, `_render_line_in_row`) against Textual's own, on cells of every kind the panes make (aligned, styled, flagged, dimmed, cut,
wide characters), on the cursor's row and off it, focused and not."""

from __future__ import annotations

from itertools import chain

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable

from mqtui.ui.widgets.rowcells import RIGHT, Cells
from mqtui.ui.widgets.table import SyncTable

COLUMNS = [("Name", "name"), ("Depth", "depth"), ("State", "state"), ("Note", "note")]
JUSTIFY = (None, RIGHT, None, None)
RED = Style(color="red", bold=True)


def rows() -> list[tuple[str, Cells, object]]:
    made = [
        Cells(("orders", "1,234", "ok", ""), JUSTIFY),
        Cells(("! payments", "7", "STALLED", "x" * 60), JUSTIFY, (None, RED, RED, None), flag=RED),
        Cells(("stale-one", "-", "-", "dimmed"), JUSTIFY, (Style(color="grey50"),) * 4),
        Cells(("注文キュー", "12,345,678", "growing", "wide ✓"), JUSTIFY, (None, None, Style(italic=True), None)),
        Cells(("", "0", "", "tab\tin"), JUSTIFY),
    ]
    return [(f"row{i}", cells, i) for i, cells in enumerate(made)]


def drawn(lines: list[list[Segment]]) -> list[Segment]:
    """The line as it reaches the screen: a line's neighbouring segments of one style are one
    (`Strip.simplify`, as the DataTable does), so where a cell's text is split does not matter."""
    return list(Segment.simplify(chain.from_iterable(lines)))


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield SyncTable(COLUMNS, flexible={"note": 10})


async def test_a_cell_is_drawn_as_the_datatable_draws_it() -> None:
    app = TableApp()
    async with app.run_test(size=(70, 12)) as pilot:
        table = app.query_one(SyncTable)
        table.sync(rows())
        await pilot.pause()
        compared = 0
        for focused in (True, False):
            if focused:
                table.focus()
            else:
                table.blur()
            await pilot.pause()
            table._pseudo_class_state = table.get_pseudo_class_state()
            for row in range(table.row_count):
                style = table._get_row_style(row, table.rich_style)
                for column, spec in enumerate(table.ordered_columns):
                    width = spec.get_render_width(table)
                    for cursor, hover in ((False, False), (True, False), (False, True)):
                        quick = table._render_cell(row, column, style, width, cursor, hover)
                        table._cell_render_cache.clear()
                        slow = DataTable._render_cell(table, row, column, style, width, cursor, hover)
                        assert drawn(quick) == drawn(slow), (row, column, cursor, hover, focused)
                        compared += 1
            for row in range(table.row_count):
                key = table._row_locations.get_key(row)
                for cursor_row, hover_row in ((row, -1), (row + 1, row), (0, 0)):
                    cursor, hover = Coordinate(cursor_row, 0), Coordinate(hover_row, 0)
                    quick_line = table._render_line_in_row(key, 0, table.rich_style, cursor, hover)
                    slow_line = DataTable._render_line_in_row(table, key, 0, table.rich_style, cursor, hover)
                    assert drawn(quick_line[1]) == drawn(slow_line[1]), (row, cursor_row, hover_row, focused)
                    assert quick_line[0] == slow_line[0] == []
                    compared += 1
        assert compared == 2 * 5 * 4 * 3 + 2 * 5 * 3
        assert [str(cell) for cell in table.get_row_at(1)][3].endswith("…")  # the flexible column was cut
        assert isinstance(table.get_row_at(1)[0], Text)


async def test_a_row_changed_out_of_view_shows_its_new_cells_when_scrolled_to() -> None:
    """A poll that changes only rows out of view repaints nothing, and leaves no line drawn before to be
    shown again: scrolled to, the row shows its new texts."""

    def table_rows(changed: str) -> list[tuple[str, Cells, object]]:
        made = []
        for i in range(200):
            depth = changed if i == 150 else f"{i:,}"
            made.append((f"r{i}", Cells((f"q{i:03d}", depth, "ok", ""), JUSTIFY), i))
        return made

    app = TableApp()
    async with app.run_test(size=(70, 12)) as pilot:
        table = app.query_one(SyncTable)
        table.sync(table_rows("old-150"))
        table.move_cursor(row=150)  # drawn once there: its lines are kept
        await pilot.pause()
        assert "old-150" in screen_text(table)
        table.move_cursor(row=0)
        await pilot.pause()
        table.sync(table_rows("new-150"))  # row 150 is out of view now
        await pilot.pause()
        table.move_cursor(row=150)
        await pilot.pause()
        text = screen_text(table)
        assert "new-150" in text and "old-150" not in text


def screen_text(table: SyncTable) -> str:
    lines = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return "\n".join(line.text for line in lines)
