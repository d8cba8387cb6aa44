"""What a keyed table should change to show new rows: worked out from plain data, safe off the UI thread.

A poll hands a pane every row again, 10,000 of them on a big profile, and most are as they were. The
work of finding what changed (the column widths that make the rows fit, each row's cells cut to them,
which rows differ from those shown, whether rows came, went or moved) touches no widget, so a pane can
do it in a worker thread and give the table only a `Change` to apply (`SyncTable.apply`). A `Change`
names the `Shown` state it was worked out against; applied to any other, it is worked out again.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.text import Text
from textual.widgets.data_table import ColumnKey, RowKey

Row = tuple[Hashable, Sequence[Text], object]
"""(key, cells, data): `data` is what the table's `selected()` returns for the row."""


@dataclass(frozen=True)
class Layout:
    """The table's columns and room, as the UI thread saw them when the rows were asked for."""

    labels: tuple[str, ...]
    keys: tuple[str, ...]
    flexible: Mapping[int, int]
    """Column index -> the narrowest that column may be made to fit the table's width."""
    give_first: frozenset[int]
    """Flexible columns narrowed to their minimum before the others give anything."""
    width: int
    height: int
    padding: int


@dataclass(frozen=True)
class Shown:
    """What a table shows: row ids in order, each row's cells (cut to fit), the column widths."""

    ids: tuple[str, ...] = ()
    cells: Mapping[str, tuple[Text, ...]] = field(default_factory=dict)
    widths: tuple[int | None, ...] = ()
    """A flexible column's fixed width where it was narrowed; None where the column is as wide as its cells."""
    content: tuple[int, ...] = ()
    """The widest cell (or label) of each column, in terminal cells."""
    natural: tuple[int, ...] = ()
    """The widest cell (or label) of each column before any was cut: what a resize fits anew."""
    store: Mapping[RowKey, Mapping[ColumnKey, Text]] = field(default_factory=dict)
    """The rows as the DataTable keeps them, made here so the UI thread only copies the outer dict."""
    raw: Mapping[str, Sequence[Text]] = field(default_factory=dict)
    """Each row's cells as given, before cutting: the same object given again is the same row."""
    row_widths: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Each row's cells' widths before cutting."""


@dataclass(frozen=True)
class Change:
    """From `base` to `shown`: `changed` rows keep their place but some cells differ; `moved` when rows came,
    went or reordered; `rebuild` when every cell must be drawn again (widths or a theme changed)."""

    base: Shown
    shown: Shown
    data: Mapping[str, object]
    changed: tuple[str, ...]
    moved: bool
    rebuild: bool

    @property
    def nothing(self) -> bool:
        """Nothing on screen differs: applying it only swaps the data behind the rows."""
        return not (self.changed or self.moved or self.rebuild)


def row_id(key: Hashable) -> str:
    return repr(key)


def _water_fill(widths: list[int], flexible: Mapping[int, int], room: int) -> list[int]:
    """`widths` with the widest `flexible` columns (index -> minimum) narrowed, to fit `room` if they can."""
    if not flexible:
        return widths

    def fitted(cap: int) -> list[int]:
        return [min(width, max(cap, flexible[i])) if i in flexible else width for i, width in enumerate(widths)]

    cap = max(widths[index] for index in flexible)
    while cap > 1 and sum(fitted(cap)) > room:
        cap -= 1
    return fitted(cap)


def fit(layout: Layout, natural: list[int], count: int) -> tuple[int | None, ...]:
    """Widths for the flexible columns that make every column fit (None: as wide as its cells)."""
    room = layout.width - 2 * layout.padding * len(layout.labels)
    if count + 1 > layout.height:
        room -= 2  # the vertical scrollbar
    if not layout.flexible or layout.width <= 0:
        return (None,) * len(layout.labels)
    first = {i: minimum for i, minimum in layout.flexible.items() if i in layout.give_first}
    rest = {i: minimum for i, minimum in layout.flexible.items() if i not in first}
    widths = _water_fill(natural, first, room)
    if sum(widths) > room:
        widths = _water_fill(widths, rest, room)
    return tuple(width if width < natural[i] else None for i, width in enumerate(widths))


def cut(cells: Sequence[Text], widths: Sequence[int | None]) -> tuple[Text, ...]:
    result = []
    for cell, width in zip(cells, widths, strict=True):
        if width is not None and cell_len(cell.plain) > width:
            cell = cell.copy()
            cell.truncate(width, overflow="ellipsis")
        result.append(cell)
    return tuple(result)


def diff(base: Shown, rows: Sequence[Row], layout: Layout, *, rebuild: bool = False) -> Change:
    """What to change so a table showing `base` shows exactly `rows` (the first of a repeated key wins).

    A row given the very cells object it was given last time (a pane keeps the cells of a record that did
    not change) is taken from `base` as it was cut and stored: sorting or filtering 10,000 rows then costs
    a look-up per row, not a new row."""
    raw: dict[str, Sequence[Text]] = {}
    data: dict[str, object] = {}
    for key, row_cells, row_data in rows:
        ident = row_id(key)
        if ident not in raw:
            raw[ident] = row_cells
            data[ident] = row_data
    same = {ident for ident, row_cells in raw.items() if base.raw.get(ident) is row_cells}
    row_widths = {
        ident: base.row_widths[ident] if ident in same else tuple(cell_len(cell.plain) for cell in row_cells)
        for ident, row_cells in raw.items()
    }
    labels = tuple(cell_len(label) for label in layout.labels)
    natural = [max(column) for column in zip(labels, *row_widths.values(), strict=True)]
    widths = fit(layout, natural, len(raw))
    keep = same if widths == base.widths else set()
    rebuild = rebuild or widths != base.widths
    columns = [ColumnKey(key) for key in layout.keys]
    cells: dict[str, tuple[Text, ...]] = {}
    store: dict[RowKey, Mapping[ColumnKey, Text]] = {}
    for ident, row_cells in raw.items():
        if ident in keep:
            cells[ident] = base.cells[ident]
            store[RowKey(ident)] = base.store[RowKey(ident)]
        else:
            cells[ident] = cut(row_cells, widths)
            store[RowKey(ident)] = dict(zip(columns, cells[ident], strict=True))
    ids = tuple(cells)
    moved = ids != base.ids
    changed: tuple[str, ...] = ()
    if not moved and not rebuild:
        changed = tuple(ident for ident in ids if ident not in keep and cells[ident] != base.cells[ident])
    content = tuple(width if fixed is None else fixed for width, fixed in zip(natural, widths, strict=True))
    shown = Shown(ids, cells, widths, content, tuple(natural), store, raw, row_widths)
    return Change(base, shown, data, changed, moved, rebuild)
