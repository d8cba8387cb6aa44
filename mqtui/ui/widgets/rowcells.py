"""A table row's cells as plain text first, styled only when the row comes into view.

At 10,000 rows, making a `rich.text.Text` for every cell of every row took about a quarter of a second
per poll, on every poll, though a screen shows some forty rows. What the table needs of a row it does
not show is only each cell's text: the column widths are measured from it, and cut to it. So a pane
hands over `Cells` (texts, and what makes them styled `Text`) and the table calls `paint` for the
rows in view.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from rich.style import Style
from rich.text import Text

Justify = Literal["left", "right"]
LEFT: Justify = "left"
RIGHT: Justify = "right"


class Cells:
    """A row's texts as shown (already safe: see `mqtui.safetext`), each cell's alignment and style,
    and an optional mark before the first cell (`flag`, whose text is the first text's first two
    characters). Compared by identity: a pane keeps the same object for a row that did not change,
    and the table then keeps everything it worked out for it."""

    __slots__ = ("flag", "justify", "styles", "texts")

    def __init__(
        self,
        texts: tuple[str, ...],
        justify: Sequence[Justify | None],
        styles: Sequence[Style | str | None] | None = None,
        flag: Style | None = None,
    ) -> None:
        self.texts = texts
        self.justify = justify
        self.styles = styles
        self.flag = flag

    def paint(self) -> list[Text]:
        """The styled cells: only for rows in view."""
        styles = self.styles or (None,) * len(self.texts)
        cells = [
            Text(text, style=style or "", justify=justify)
            for text, justify, style in zip(self.texts, self.justify, styles, strict=True)
        ]
        if self.flag is not None:
            first = cells[0]
            cells[0] = Text.assemble((first.plain[:2], self.flag), Text(first.plain[2:], style=first.style))
        return cells


class MadeCells(Cells):
    """Cells made as `Text` already (small tables: a DLQ's entries, the retry schedules)."""

    __slots__ = ("made",)

    def __init__(self, made: Sequence[Text]) -> None:
        super().__init__(tuple(cell.plain for cell in made), ())
        self.made = list(made)

    def paint(self) -> list[Text]:
        return self.made


class LazyCells:
    """Cells made when first asked for (`make(*args)`): the table asks for the rows it draws, and a
    pane that knows its columns' widths without the texts (`natural` given with the rows) is spared
    making the rest."""

    __slots__ = ("_args", "_made", "_make")

    def __init__(self, make: Callable[..., Cells], *args: Any) -> None:
        self._make = make
        self._args = args
        self._made: Cells | None = None

    def made(self) -> Cells:
        if self._made is None:
            self._made = self._make(*self._args)
        return self._made

    @property
    def texts(self) -> tuple[str, ...]:
        return self.made().texts

    def paint(self) -> list[Text]:
        return self.made().paint()


RowCells = Cells | LazyCells
"""A row's cells as a table takes them."""


def looks_alike(a: RowCells, b: RowCells) -> bool:
    """Whether two rows' cells draw the same: the same texts, alignment, styles and mark."""
    if a is b:
        return True
    a = a.made() if isinstance(a, LazyCells) else a
    b = b.made() if isinstance(b, LazyCells) else b
    if isinstance(a, MadeCells) or isinstance(b, MadeCells):
        return isinstance(a, MadeCells) and isinstance(b, MadeCells) and a.made == b.made
    return (a.texts, tuple(a.justify), a.styles and tuple(a.styles), a.flag) == (
        b.texts, tuple(b.justify), b.styles and tuple(b.styles), b.flag,
    )  # fmt: skip
