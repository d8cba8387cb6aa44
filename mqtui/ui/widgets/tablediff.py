"""What a keyed table should change to show new rows: worked out from plain data, safe off the UI thread.

A poll hands a pane every row again, 10,000 of them on a big profile, and most are as they were. The
work of finding what changed (the column widths that make the rows fit, whether rows came, went or
moved, whether anything on screen differs at all) touches no widget, so a pane can do it in a worker
thread and give the table only a `Change` to apply (`SyncTable.apply`). A `Change` names the `Shown`
state it was worked out against; applied to any other, it is worked out again.

Nothing here is per cell beyond measuring a new row's texts once: rows are styled and cut when they
come into view (`rowcells.Cells.paint`, `cut`), so the work per poll is a pass over the rows' keys.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import is_
from typing import cast

from rich.cells import cell_len
from rich.text import Text

from mqtui.ui.widgets.rowcells import RowCells

Row = tuple[Hashable, RowCells, object]
"""(key, cells, data): `data` is what the table's `selected()` returns for the row."""


@dataclass(frozen=True)
class Layout:
    """The table's columns and room, as the UI thread saw them when the rows were asked for."""

    labels: tuple[str, ...]
    flexible: Mapping[int, int]
    """Column index -> the narrowest that column may be made to fit the table's width."""
    give_first: frozenset[int]
    """Flexible columns narrowed to their minimum before the others give anything."""
    width: int
    height: int
    padding: int


@dataclass(frozen=True)
class Shown:
    """What a table shows: row ids in order, each row's cells, the column widths."""

    ids: tuple[str, ...] = ()
    index: Mapping[str, int] = field(default_factory=dict)
    """Row id -> its place in `ids`."""
    cells: Mapping[str, RowCells] = field(default_factory=dict)
    widths: tuple[int | None, ...] = ()
    """A flexible column's fixed width where it was narrowed; None where the column is as wide as its cells."""
    content: tuple[int, ...] = ()
    """The widest cell (or label) of each column as shown, in terminal cells."""
    natural: tuple[int, ...] = ()
    """The widest cell (or label) of each column before any was cut: what a resize fits anew."""
    row_widths: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Each row's cells' widths before cutting, measured once per `Cells` object (none where the pane
    gave the columns' widths)."""
    given: bool = False
    """Whether `natural` was given with the rows (not measured from their texts)."""


@dataclass(frozen=True)
class Change:
    """From `base` to `shown`: `moved` when rows came, went or reordered; `redraw` when some row's cells or
    the widths differ; `rebuild` when every cell must be styled again (a theme changed)."""

    base: Shown
    shown: Shown
    data: Mapping[str, object]
    moved: bool
    redraw: bool
    rebuild: bool

    @property
    def nothing(self) -> bool:
        """Nothing on screen differs: applying it only swaps the data behind the rows."""
        return not (self.moved or self.redraw or self.rebuild)


class RowSet(list[Row]):
    """Rows a pane may hand its table again (a sort order or a filter asked for twice in one poll): what
    `diff` works out from the rows alone, their ids and cells and data by id, is kept with them, so
    the second time costs nothing per row."""

    __slots__ = ("_parts",)

    def parts(self) -> RowParts:
        parts: RowParts | None = getattr(self, "_parts", None)
        if parts is None:
            parts = self._parts = RowParts.of(self)
        return parts


class RowParts:
    """Rows by id, in order (the first of a repeated key wins), and each id's place once asked for."""

    __slots__ = ("_index", "cells", "data", "ids")

    def __init__(self, cells: dict[str, RowCells], data: dict[str, object]) -> None:
        self.cells = cells
        self.data = data
        self.ids = tuple(cells)
        self._index: dict[str, int] | None = None

    @classmethod
    def of(cls, rows: Sequence[Row]) -> RowParts:
        if rows:
            keys, row_cells, row_data = zip(*rows, strict=True)  # passes in C, not in the interpreter
        else:
            keys = row_cells = row_data = ()
        known: list[str | None] = list(map(_IDS.get, keys))
        idents: list[str] = list(map(row_id, keys)) if None in known else cast(list[str], known)
        cells: dict[str, RowCells] = dict(zip(idents, row_cells, strict=True))
        data: dict[str, object] = dict(zip(idents, row_data, strict=True))
        if len(cells) < len(idents):  # a key given twice: the first wins
            cells, data = {}, {}
            for ident, one_cells, one_data in zip(idents, row_cells, row_data, strict=True):
                cells.setdefault(ident, one_cells)
                data.setdefault(ident, one_data)
        return cls(cells, data)

    @property
    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self.ids, range(len(self.ids)), strict=True))
        return self._index


def row_id(key: Hashable) -> str:
    """The table's id of a row's key, remembered: every poll asks it of every row again."""
    ident = _IDS.get(key)
    if ident is None:
        if len(_IDS) >= IDS_KEPT:
            _IDS.clear()
        ident = _IDS[key] = repr(key)
    return ident


#: Row ids remembered (`row_id`), across tables; beyond this the remembering starts afresh.
IDS_KEPT = 1 << 16
_IDS: dict[Hashable, str] = {}


def text_widths(texts: tuple[str, ...]) -> tuple[int, ...]:
    """Terminal cells each text takes: `len` when they are all ASCII (the common case, ten times quicker
    than measuring each)."""
    if "".join(texts).isascii():
        return tuple(map(len, texts))
    return tuple(map(cell_len, texts))


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


def cut(cells: Sequence[Text], widths: Sequence[int | None]) -> list[Text]:
    """A row's painted cells, each no wider than its column's fixed width ("…" where cut)."""
    result = []
    for cell, width in zip(cells, widths, strict=True):
        if width is not None and cell_len(cell.plain) > width:
            cell = cell.copy()
            cell.truncate(width, overflow="ellipsis")
        result.append(cell)
    return result


def diff(
    base: Shown,
    rows: Sequence[Row],
    layout: Layout,
    *,
    rebuild: bool = False,
    natural: Sequence[int] | None = None,
) -> Change:
    """What to change so a table showing `base` shows exactly `rows` (the first of a repeated key wins).

    A row given the very `Cells` object it was given last time (a pane keeps the cells of a record that
    did not change) keeps its measured widths: sorting or filtering 10,000 rows costs a look-up per row.
    With `natural` (each column's widest text, worked out by the pane) no row is measured at all."""
    parts = rows.parts() if isinstance(rows, RowSet) else RowParts.of(rows)
    cells, data = parts.cells, parts.data
    old_cells, old_widths = base.cells, base.row_widths
    same = cells is old_cells or (
        len(cells) == len(old_cells) and all(map(is_, map(old_cells.get, cells), cells.values()))
    )
    if same or natural is not None:  # only reordered (a sort), or the widths given: nothing to measure
        row_widths: Mapping[str, tuple[int, ...]] = old_widths if same else {}
    else:
        row_widths = {
            ident: old_widths[ident] if old_cells.get(ident) is one else text_widths(one.texts)
            for ident, one in cells.items()
        }
    redraw = not same
    labels = tuple(cell_len(label) for label in layout.labels)
    if natural is not None:
        widest = [max(label, width) for label, width in zip(labels, natural, strict=True)]
    elif same and base.natural:
        widest = list(base.natural)
    else:
        widest = [max(column) for column in zip(labels, *row_widths.values(), strict=True)]
    widths = fit(layout, widest, len(cells))
    content = tuple(n if w is None else w for n, w in zip(widest, widths, strict=True))
    ids = parts.ids
    moved = ids != base.ids
    shown = Shown(
        ids=ids,
        index=base.index if not moved else parts.index,
        cells=cells,
        widths=widths,
        content=content,
        natural=tuple(widest),
        row_widths=row_widths,
        given=natural is not None,
    )
    redraw = redraw or widths != base.widths or content != base.content
    return Change(base, shown, data, moved, redraw, rebuild)
