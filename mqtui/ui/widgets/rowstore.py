"""The DataTable's row store, as views onto what a `SyncTable` shows (`tablediff.Shown`).

The DataTable keeps its rows in dicts of every row (`rows`, `_row_locations`, `_y_offsets`, cells by
row and column), filled one row at a time; at 10,000 rows that held the UI for seconds per poll. These
views answer the same questions from `Shown` (row ids in order, their places), built in no time, with
every row one line high, which makes a row's place its height.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, overload

from rich.text import Text
from textual.widgets.data_table import ColumnKey, RowKey
from textual.widgets.data_table import Row as TableRow

from mqtui.ui.widgets.tablediff import Shown


class PaintingTable(Protocol):
    """What `CellsByKey` reads of the table: what it shows, its columns, and a row's painted cells."""

    @property
    def shown(self) -> Shown: ...

    @property
    def columns(self) -> Mapping[ColumnKey, Any]: ...

    def get_row_at(self, row_index: int) -> list[Text]: ...


class RowPlaces:
    """The DataTable's row key <-> place map (a `TwoWayDict`), read from `Shown`."""

    def __init__(self, shown: Shown) -> None:
        self._shown = shown

    def get(self, key: RowKey | str) -> int | None:
        value = key.value if isinstance(key, RowKey) else key
        return self._shown.index.get(value) if value is not None else None

    def get_key(self, place: int) -> RowKey | None:
        ids = self._shown.ids
        return RowKey(ids[place]) if 0 <= place < len(ids) else None

    def __contains__(self, key: object) -> bool:
        value = key.value if isinstance(key, RowKey) else key
        return value in self._shown.index

    def __iter__(self) -> Iterator[RowKey]:
        return (RowKey(ident) for ident in self._shown.ids)

    def __len__(self) -> int:
        return len(self._shown.ids)


class RowsByKey(Mapping[RowKey, TableRow]):
    """The DataTable's `rows`: every row one line high."""

    def __init__(self, shown: Shown) -> None:
        self._shown = shown

    def __getitem__(self, key: RowKey) -> TableRow:
        if key.value not in self._shown.index:
            raise KeyError(key)
        return TableRow(key, 1)

    def __iter__(self) -> Iterator[RowKey]:
        return (RowKey(ident) for ident in self._shown.ids)

    def __len__(self) -> int:
        return len(self._shown.ids)


class CellsByKey(Mapping[RowKey, Mapping[ColumnKey, Text]]):
    """The DataTable's `_data` (cells by row and column key), painting a row when it is read."""

    def __init__(self, table: PaintingTable) -> None:
        self._table = table

    def __getitem__(self, key: RowKey) -> Mapping[ColumnKey, Text]:
        place = self._table.shown.index.get(key.value) if key.value is not None else None
        if place is None:
            raise KeyError(key)
        return dict(zip(self._table.columns, self._table.get_row_at(place), strict=True))

    def __iter__(self) -> Iterator[RowKey]:
        return (RowKey(ident) for ident in self._table.shown.ids)

    def __len__(self) -> int:
        return len(self._table.shown.ids)


class RowsInOrder(Sequence[TableRow]):
    """The DataTable's `ordered_rows` (paging walks them), made a row at a time as they are read."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = ids

    @overload
    def __getitem__(self, place: int) -> TableRow: ...
    @overload
    def __getitem__(self, place: slice) -> RowsInOrder: ...
    def __getitem__(self, place: int | slice) -> TableRow | RowsInOrder:
        if isinstance(place, slice):
            return RowsInOrder(self._ids[place])
        return TableRow(RowKey(self._ids[place]), 1)

    def __len__(self) -> int:
        return len(self._ids)


class LineRows(Sequence[tuple[RowKey, int]]):
    """The DataTable's `_y_offsets`: line y is row y, line 0 of it."""

    def __init__(self, ids: Sequence[str]) -> None:
        self._ids = ids

    def __getitem__(self, y: Any) -> Any:
        return (RowKey(self._ids[y]), 0)

    def __len__(self) -> int:
        return len(self._ids)
