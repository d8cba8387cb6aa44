"""One table cell drawn as the DataTable draws it, in a few steps instead of Rich's layers.

The DataTable draws a cell as `Styled(Padding(cell, (0, padding)), pre_style, post_style)` rendered by
the console: a `Text` wrapped, joined, rendered, cropped and padded, then styled twice. At forty rows of
ten cells that was most of a frame. `cell_line` does the same in a few steps, and for the usual cell (one
style or none, no tabs, as wide as its column or less) in a handful of `Segment`s.
tests/console/test_table_cells.py compares both with the DataTable's own, segment by segment.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

NULL = Style.null()


def cell_line(console: Console, cell: Text, width: int, padding: int, pre: Style, post: Style) -> list[Segment]:
    """The segments of `cell` in a column `width` cells wide (padding included), styled `pre` under the
    cell's own styles and `post` over them."""
    inner = max(0, width - 2 * padding)
    plain = cell.plain
    length = cell_len(plain)
    justify = cell.justify or "default"
    simple = not cell.spans and "\t" not in plain and "\n" not in plain and length <= inner
    if simple and justify == "right" and plain != plain.rstrip():
        simple = False  # Rich strips trailing spaces before aligning right
    if not simple:
        return _through_rich(console, cell, width, padding, pre, post)
    own = console.get_style(cell.style) if cell.style else None
    text_style = (pre + own if own else pre) + post if post else (pre + own if own else pre)
    pad_style = pre + post if post else pre
    edge = " " * padding
    room = inner - length
    if justify == "right":
        body = [Segment(edge, pad_style), Segment(" " * room + plain, text_style), Segment(edge, pad_style)]
    elif justify == "left":
        body = [Segment(edge, pad_style), Segment(plain + " " * room, text_style), Segment(edge, pad_style)]
    else:  # the text as it is, then the padding's spaces in the padding's style
        body = [Segment(edge, pad_style), Segment(plain, text_style), Segment(" " * room + edge, pad_style)]
    return [segment for segment in body if segment.text]


def _through_rich(console: Console, cell: Text, width: int, padding: int, pre: Style, post: Style) -> list[Segment]:
    """What `Styled(Padding(cell, (0, padding)), pre, post)` renders on one line, by Rich's own steps."""
    inner = max(0, width - 2 * padding)
    wrapped = cell.wrap(
        console, inner, justify=cell.justify or "default", overflow=cell.overflow or "fold", tab_size=8, no_wrap=True
    )
    rendered = Text("\n").join(wrapped).render(console)
    body = next(iter(Segment.split_and_crop_lines(rendered, inner, pad=True, style=NULL)))
    edge = Segment(" " * padding, NULL)
    segments = Segment.apply_style([edge, *body, edge], style=pre, post_style=post)
    return Segment.adjust_line_length(list(segments), width, pad=True)
